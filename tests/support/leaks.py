"""Runs that carry a secret in every place a request can, for the tests that look for leaks:
the key field, the query string, an Authorization header and a JSON body, sent to the
sandbox's echo endpoint, which sends them all back in its response; and one key typed
everywhere (path, query, parameters, a custom header, the body), echoed back by an upstream
in every encoding (tests/support/upstream.py)."""

import json

from django.test import Client

from apps.runs.models import Run
from tests.system.test_run_pipeline import submit, wait_until_done


def submit_run_with_secrets(client: Client, base_url: str, secrets: dict[str, str]) -> Run:
    """Submit through the form as the signed-in `client` and wait until a worker is done.

    `secrets` names four distinct values: "api_key", "query", "header" and "body".
    """
    run_id = submit(
        client,
        f"{base_url}/sandbox/echo?api_key={secrets['query']}&page=1",
        method="POST",
        headers=f"Content-Type: application/json\nAuthorization: Bearer {secrets['header']}",
        body=json.dumps({"password": secrets["body"], "page": 1}),
        api_key=secrets["api_key"],
    )
    return wait_until_done(run_id)


def submit_run_with_key_everywhere(client: Client, upstream_url: str, key: str) -> Run:
    """Issue 13, row 6: one key in the key field, the URL's path and query, a parameter
    line, a custom header and the body, none of them named as a secret; submitted through
    the form as the signed-in `client`, then waited for."""
    run_id = submit(
        client,
        f"{upstream_url}/v1/{key}/data?q={key}&page=1",
        method="POST",
        params=f"ref={key}",
        headers=f"Content-Type: application/json\nX-Trace: {key}",
        body=json.dumps({"note": key, "page": 1}),
        api_key=key,
    )
    return wait_until_done(run_id)


def leaked_forms(text: str, forms: list[str]) -> list[str]:
    """The forms found in the text; hex and base32 in any case (compare lower-cased)."""
    lowered = text.lower()
    return [form for form in forms if form in text or form.lower() in lowered]
