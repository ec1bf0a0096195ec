"""apps/library/importers/openapi.py: an OpenAPI document as a collection of requests."""

from pathlib import Path

from apps.diagnosis.openapi import Spec, build_spec, load_document
from apps.library.importers.openapi import collection_from_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def spec_of(name: str) -> Spec:
    return build_spec(load_document((FIXTURES / "openapi" / name).read_text()))


def test_petstore_becomes_a_collection_with_example_parameters() -> None:
    collection = collection_from_spec(spec_of("petstore-3.0.yaml"))
    assert collection.name == "Swagger Petstore"
    assert [(r.method, r.url, r.folder, r.name) for r in collection.requests] == [
        ("GET", "http://petstore.swagger.io/v1/pets", "pets", "List all pets"),
        ("POST", "http://petstore.swagger.io/v1/pets", "pets", "Create a pet"),
        ("GET", "http://petstore.swagger.io/v1/pets/{{petId}}", "pets", "Info for a specific pet"),
    ]
    assert collection.variables == [("petId", "")]  # a required parameter with no example


def test_a_documented_api_key_and_enums_become_variables_and_examples() -> None:
    collection = collection_from_spec(spec_of("kaiko-like.yaml"))
    first = collection.requests[0]
    assert first.url.startswith("https://us.market-api.example.com/v2/")
    assert "/spot/" in first.url  # the first value of the enum
    assert first.api_key == "{{api_key}}"
    assert ("api_key", "") in collection.variables
