"""Answers built to break the pages: stored by a real worker, then shown, shared, exported."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.support.clients import client_for, streamed_body
from tests.support.upstream import counting_upstream
from tests.system.test_run_pipeline import submit, wait_until_done
from tests.unit.test_runs_exports import har_problems

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


def test_a_400_nested_1000_levels_deep_is_shown_shared_and_exported(
    celery_worker: object, owner: User
) -> None:
    """Issue 13, row 2: the run page rendered, but its share page answered 500 and every
    HAR export of the team was invalid JSON."""
    client = client_for(owner)
    with counting_upstream() as upstream:
        run = wait_until_done(submit(client, f"{upstream.url}/nested"))
    attempt = run.attempts.get()
    assert attempt.response_status == 400
    assert attempt.response_body == "[" * 1000 + "]" * 1000

    assert client.get(reverse("runs:detail", args=[run.id])).status_code == 200
    created = client.post(
        reverse("sharing:create", args=[run.id]), {"visibility": "public", "lifetime": "1h"}
    )
    token = re.search(r'id="share-url"[^>]*value="http[^"]+/s/([A-Za-z0-9_-]+)"', created.text)
    assert token is not None
    shared = Client().get(reverse("sharing:shared", args=[token.group(1)]))
    assert shared.status_code == 200 and "[[[[" in shared.text
    har = streamed_body(client.get(reverse("runs:export_har"))).decode()
    document = json.loads(har)
    assert har_problems(document) == []
    assert document["log"]["entries"][0]["response"]["status"] == 400
