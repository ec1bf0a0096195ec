"""A run that carries a secret in every place a request can, for the tests that look for
leaks: the key field, the query string, an Authorization header and a JSON body, sent to the
sandbox's echo endpoint, which sends them all back in its response."""

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
