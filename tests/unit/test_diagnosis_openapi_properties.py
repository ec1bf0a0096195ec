"""Property tests: any text is a document or a SpecError; any exchange against a spec gives
findings or none, never an exception, and never the request's key in what they say."""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.diagnosis.openapi import SpecError, build_spec, find_spec_causes, load_document
from apps.egress.types import Exchange, Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
SPEC = build_spec(load_document((FIXTURES / "kaiko-like.yaml").read_text()))
PETSTORE = (FIXTURES / "petstore-3.0.yaml").read_text()
KEY = "Zq9-property-key-77"
BASE = "https://us.market-api.example.com/v2"
segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.%{}~", max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_is_a_document_or_a_spec_error(text: str) -> None:
    try:
        load_document(text)
    except SpecError as error:
        assert error.message


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(PETSTORE) - 1), st.text(max_size=6))
def test_a_published_example_damaged_anywhere_never_raises_anything_else(
    at: int, junk: str
) -> None:
    try:
        build_spec(load_document(PETSTORE[:at] + junk + PETSTORE[at + 1 :]))
    except SpecError as error:
        assert error.message


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PATCH", "get", ""]),
    path=st.lists(segment, max_size=8),
    query=st.lists(st.tuples(segment, st.text(max_size=20)), max_size=4),
    key_where=st.sampled_from(["header", "query", "authorization", "cookie", "none"]),
    status=st.integers(min_value=100, max_value=599),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=6), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    content_type=st.sampled_from(["application/json", "text/html", "", "application/problem+json"]),
)
def test_any_exchange_gives_findings_without_an_exception_or_the_key(
    method: str,
    path: list[str],
    query: list[tuple[str, str]],
    key_where: str,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    from urllib.parse import urlencode

    headers: list[tuple[str, str]] = []
    params = list(query)
    if key_where == "header":
        headers.append(("X-Api-Key", KEY))
    elif key_where == "query":
        params.append(("api_key", KEY))
    elif key_where == "authorization":
        headers.append(("Authorization", f"Bearer {KEY}"))
    elif key_where == "cookie":
        headers.append(("Cookie", f"session={KEY}"))
    url = f"{BASE}/{'/'.join(path)}" + (f"?{urlencode(params)}" if params else "")
    exchange = Exchange(
        method=method,
        url=url,
        request_headers=headers,
        response=Response(
            status=status,
            reason="",
            headers=[("Content-Type", content_type)] if content_type else [],
            body=body,
            truncated=False,
        ),
        failure=None,
        elapsed_ms=1.0,
    )
    findings = find_spec_causes(exchange, SPEC)
    assert findings.covered
    shown = json.dumps(
        [[c.title, c.explanation, [(e.value, e.note) for e in c.evidence]] for c in findings.causes]
    )
    assert KEY not in shown
