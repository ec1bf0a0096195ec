"""A HAR file's entries, picked: saved in a collection, sent again, or diagnosed as
recorded without sending; all or nothing."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.models import Collection
from apps.runs import secrets
from apps.runs.models import Run
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
HAR_URL = reverse("saved:har")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def entry(url: str, status: int, key: str = "") -> dict:
    headers = [{"name": "Accept", "value": "application/json"}]
    if key:
        headers.append({"name": "X-Api-Key", "value": key})
    return {
        "startedDateTime": "2026-12-01T10:00:00.000Z",
        "time": 120.5,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": headers,
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": status, "statusText": "Unauthorized" if status == 401 else "OK",
                     "httpVersion": "HTTP/1.1", "cookies": [], "redirectURL": "",
                     "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
                     "headersSize": -1, "bodySize": 2},
        "cache": {}, "timings": {"send": 1, "wait": 100, "receive": 1},
    }  # fmt: skip


HAR = json.dumps(
    {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                entry("https://us.market-api.kaiko.io/v2/data/x", 401, key="k-har-secret"),
                entry("data:text/plain,hi", 200),
                entry("https://api.example.com/v1/y", 200),
            ],
        }
    }
)


def test_it_lists_the_entries_to_pick(owner: User) -> None:
    response = client_for(owner).post(
        HAR_URL, {"file": SimpleUploadedFile("s.har", HAR.encode()), "action": "read"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="entries" value="0"' in page and 'name="entries" value="2"' in page
    assert 'value="1"' not in page  # the data: URL is no HTTP request
    assert "not HTTP" in page


def test_picked_entries_are_saved_in_a_collection(owner: User, team: Team) -> None:
    response = client_for(owner).post(
        HAR_URL, {"text": HAR, "entries": ["0", "2"], "action": "save", "name": "From DevTools"}
    )
    collection = Collection.objects.for_team(team).get()
    assert response["Location"] == reverse("saved:collection", args=[collection.pk])
    assert collection.name == "From DevTools"
    first, second = collection.requests.all()
    assert (first.folder, second.url) == ("us.market-api.kaiko.io", "https://api.example.com/v1/y")
    assert secrets.decrypt(first.secrets_encrypted).api_key == "k-har-secret"


def test_picked_entries_are_diagnosed_as_recorded_without_sending(owner: User) -> None:
    response = client_for(owner).post(
        HAR_URL, {"text": HAR, "entries": ["0"], "action": "diagnose"}
    )
    run = Run.objects.get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert (run.recorded, run.response_status, run.status) == (True, 401, Run.Status.DONE)
    assert run.diagnosis_code.startswith("kaiko.401")
    assert "k-har-secret" not in json.dumps(run.request_headers)


def test_picked_entries_are_sent_as_new_runs(owner: User) -> None:
    response = client_for(owner).post(
        HAR_URL, {"text": HAR, "entries": ["0", "2"], "action": "submit"}
    )
    assert response["Location"] == reverse("home")
    runs = Run.objects.order_by("created_at")
    assert [(r.host, r.recorded, r.status) for r in runs] == [
        ("us.market-api.kaiko.io", False, Run.Status.QUEUED),
        ("api.example.com", False, Run.Status.QUEUED),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": HAR, "action": "submit"}, "Pick at least one entry."),
        ({"text": HAR, "entries": ["0"], "action": "save"}, "Name the collection"),
        ({"text": '{"log": {}}', "action": "read"}, "no `log.entries` list"),
        ({"action": "read"}, "Choose a HAR file"),
        # Was a 500 (RecursionError): JSON nested deeper than Python's json reads.
        ({"text": '{"log": ' + "[" * 100_000 + "]" * 100_000 + "}"}, "nested too deeply"),
    ],
)
def test_mistakes_are_named_and_nothing_is_done(owner: User, data: dict, message: str) -> None:
    response = client_for(owner).post(HAR_URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Run.objects.exists() and not Collection.objects.exists()
