"""OpenAPI profiles: how long checking a document and diagnosing against it take.

    .venv/bin/python bench/openapi.py

Prints, for the Petstore 3.0 and 3.1 examples and for generated documents of growing size
(the Petstore's operations repeated): reading and checking with openapi-spec-validator (what
an upload costs), the same with plain jsonschema against the OpenAPI meta-schema (the
alternative that was measured), building the typed spec, and the median time of
`diagnose()` per exchange without a spec and with one (a 200 with its body validated, a
parameter out of range, an unknown path). A benchmark, not a test: figures only.
"""

import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.diagnosis.diagnose import diagnose  # noqa: E402
from apps.diagnosis.lookups import get_profile  # noqa: E402
from apps.diagnosis.openapi import build_spec, load_document  # noqa: E402
from apps.egress.types import Exchange, Response  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "openapi"
META = Path(str(__import__("openapi_spec_validator").__file__)).parent / "resources" / "schemas"


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def grown(base: dict, copies: int) -> dict:
    data = copy.deepcopy(base)
    template = data["paths"]["/pets/{petId}"]
    for i in range(copies):
        item = copy.deepcopy(template)
        item["get"]["operationId"] = f"show{i}"
        data["paths"][f"/things{i}/{{petId}}"] = item
    return data


def document_row(name: str, text: str, plain: object, repeat: int, *, with_plain: bool) -> str:
    data = load_document(text).data
    check = median_ms(lambda: load_document(text), repeat)
    meta = median_ms(lambda: list(plain.iter_errors(data)), repeat) if with_plain else float("nan")  # type: ignore[attr-defined]
    build = median_ms(lambda: build_spec(data), max(repeat, 3))
    return (
        f"{name:28}  {len(text) / 1024:6.1f} KB  {check:8.1f} ms  {meta:12.1f} ms  {build:8.2f} ms"
    )


def main() -> None:
    import jsonschema

    pet30 = (FIXTURES / "petstore-3.0.yaml").read_text()
    pet31 = (FIXTURES / "petstore-3.1.json").read_text()
    meta30 = json.loads((META / "v3.0" / "schema.json").read_text())
    meta31 = json.loads((META / "v3.1" / "schema.json").read_text())
    plain30 = jsonschema.Draft4Validator(meta30)
    plain31 = jsonschema.validators.validator_for(meta31)(meta31)
    print("document                      size      check (osv)  meta-schema only  build spec")
    rows = [
        ("Petstore 3.0 (YAML)", pet30, plain30, 20),
        ("Petstore 3.1 (JSON)", pet31, plain31, 20),
    ]
    base = json.loads(pet31)
    for copies in (200, 1000, 3000):
        # The meta-schema alone takes minutes past a few hundred paths: measured up to 200.
        rows.append((f"Petstore 3.1 + {copies} paths", json.dumps(grown(base, copies)), plain31, 1))
    for name, text, plain, repeat in rows:
        print(document_row(name, text, plain, repeat, with_plain=repeat > 1 or "200 " in name))

    spec = build_spec(load_document((FIXTURES / "kaiko-like.yaml").read_text()))
    profile = get_profile("http")
    trades = (
        "https://us.market-api.example.com/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
    )
    body = json.dumps(
        {
            "result": "success",
            "data": [
                {"timestamp": i, "trade_id": str(i), "price": "1", "amount": "2"}
                for i in range(100)
            ],
        }
    ).encode()

    def exchange(url: str, status: int, raw: bytes) -> Exchange:
        return Exchange(
            method="GET",
            url=url,
            request_headers=[("X-Api-Key", "k" * 32)],
            response=Response(
                status=status,
                reason="",
                headers=[("Content-Type", "application/json")],
                body=raw,
                truncated=False,
            ),
            failure=None,
            elapsed_ms=10.0,
        )

    cases = {
        "200, 100 trades validated": exchange(trades, 200, body),
        "400, page_size out of range": exchange(
            f"{trades}?page_size=0", 400, b'{"result":"error"}'
        ),
        "404, unknown path": exchange(trades.replace("trades.v1", "trade.v1"), 404, b""),
    }
    print("\ndiagnose() per exchange, median of 300       no spec    with the spec")
    for label, ex in cases.items():
        without = median_ms(partial(diagnose, ex, profile), 300) * 1000
        with_spec = median_ms(partial(diagnose, ex, profile, spec=spec), 300) * 1000
        print(f"{label:42}  {without:8.0f} µs  {with_spec:10.0f} µs")


if __name__ == "__main__":
    main()
