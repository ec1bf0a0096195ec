"""The Postman importer: folders, variables, auth inherited and overridden, bodies; bad
files named at their place."""

import base64
import json
from pathlib import Path

import pytest

from apps.library.importers.collection import ImportFailed
from apps.library.importers.postman import parse_postman

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "postman"
MARKET = (FIXTURE / "market-data.postman_collection.json").read_text()


def test_it_reads_folders_variables_and_auth() -> None:
    collection = parse_postman(MARKET)
    assert collection.name == "Market data"
    assert collection.variables == [
        ("base_url", "https://us.market-api.kaiko.io"),
        ("exchange", "cbse"),
        ("api_key", ""),
    ]
    by_name = {request.name: request for request in collection.requests}
    assert list(by_name) == ["Recent trades", "Export job", "Sign in", "No auth here", "Upload"]
    trades = by_name["Recent trades"]
    assert trades.folder == "Trades"
    assert trades.url == (
        "{{base_url}}/v2/data/trades.v1/exchanges/{{exchange}}/spot/btc-usd/trades?page_size=10"
    )
    assert trades.headers == [("Accept", "application/json")]  # the disabled one left out
    assert trades.api_key == "{{api_key}}"  # the collection's API key auth, inherited
    job = by_name["Export job"]
    assert job.folder == "Trades/Archive"
    assert job.headers == [
        ("Content-Type", "application/json"),
        ("Authorization", "Bearer {{archive_token}}"),
    ]
    assert (job.api_key, json.loads(job.body)) == ("", {"from": "2024-01-01"})
    sign_in = by_name["Sign in"]
    assert sign_in.url == "https://auth.example.com/oauth/token"
    assert sign_in.body == "grant_type=client_credentials&scope=read+write"
    assert ("Authorization", "Basic " + base64.b64encode(b"ana:s3cret-pass").decode()) in (
        sign_in.headers
    )
    assert by_name["No auth here"].api_key == "" and by_name["No auth here"].headers == []
    assert collection.warnings == ["“Upload”: a formdata body cannot be imported; left out."]


def test_it_reads_v2_0_auth_objects() -> None:
    data = {
        "info": {"name": "Old", "schema": "https://schema.getpostman.com/json/collection/v2.0.0/"},
        "item": [
            {
                "name": "x",
                "request": {
                    "url": "https://a.example.com/",
                    "auth": {"type": "bearer", "bearer": {"token": "t0k"}},
                },
            }
        ],
    }
    (request,) = parse_postman(json.dumps(data)).requests
    assert request.headers == [("Authorization", "Bearer t0k")]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["info"].update(schema="https://schema.getpostman.com/v1"), "v2.1 and v2.0"),
        (lambda d: d.pop("item"), "`item` is missing"),
        (lambda d: d["item"][0]["item"][1]["item"][0]["request"].pop("url"),
         "`item[0] (“Trades”).item[1] (“Archive”).item[0] (“Export job”).request.url` is missing"),
        (lambda d: d["item"][1]["request"].update(header=[{"value": "x"}]),
         "`item[1] (“Sign in”).request.header[0]` has no `key`"),
        (lambda d: d["variable"].append({"value": "x"}), "`variable[4]` has no `key`"),
        (lambda d: d.update(item=[]), "holds no request"),
        (lambda d: d["item"].append(7), "`item[4]` is not an object"),
    ],
)  # fmt: skip
def test_it_names_what_is_wrong_and_where(mutate: object, expected: str) -> None:
    data = json.loads(MARKET)
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ImportFailed) as caught:
        parse_postman(json.dumps(data))
    assert expected in str(caught.value)


def test_it_refuses_what_is_not_json_or_too_large() -> None:
    with pytest.raises(ImportFailed, match="not JSON"):
        parse_postman("{nope")
    with pytest.raises(ImportFailed, match="up to 5 MB"):
        parse_postman(" " * (5 * 1_048_576 + 1))
