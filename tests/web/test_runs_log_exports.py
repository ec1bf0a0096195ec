"""The log's exports: who gets which rows, the log's filters, streamed files, and the
generators' keyset batches over the database."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Membership, Team
from apps.runs import exports, secrets
from apps.runs.filters import LogFilters
from apps.runs.models import Attempt, Run
from apps.runs.selectors import filtered_runs
from tests.conftest import PASSWORD
from tests.support.clients import client_for, streamed_body
from tests.support.factories import add_attempt, finished_run, make_run
from tests.support.har import VALIDATOR, har_problems

pytestmark = pytest.mark.django_db

EXPORTS = ["runs:export_csv", "runs:export_har"]


def body(response: HttpResponseBase) -> str:
    assert response.streaming
    return streamed_body(response).decode()


def csv_rows(response: HttpResponseBase) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body(response))))


def har_entries(response: HttpResponseBase) -> list[dict]:
    document = json.loads(body(response))
    assert har_problems(document) == []
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []  # HAR 1.2 schema
    return document["log"]["entries"]


@pytest.fixture
def our_runs(team: Team, owner: User, teammate: User) -> list[Run]:
    return [
        finished_run(team, owner, run={"url": "https://h.example/ours-200"}),
        finished_run(
            team,
            teammate,
            run={"url": "https://h.example/ours-429"},
            response_status=429,
            response_reason="Too Many Requests",
        ),
    ]


@pytest.fixture
def their_run(other_team: Team, stranger: User) -> Run:
    return finished_run(other_team, stranger, run={"url": "https://h.example/theirs"})


# Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORTS)
def test_it_sends_anonymous_users_to_sign_in(name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_it_gives_the_team_its_own_runs_only(
    who: str, our_runs: list[Run], their_run: Run, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(who))
    rows = csv_rows(client.get(reverse("runs:export_csv")))
    assert sorted(row["url"] for row in rows) == [
        "https://h.example/ours-200",
        "https://h.example/ours-429",
    ]
    entries = har_entries(client.get(reverse("runs:export_har")))
    assert sorted(e["request"]["url"] for e in entries) == [
        "https://h.example/ours-200",
        "https://h.example/ours-429",
    ]


def test_it_gives_a_member_of_another_team_none_of_ours(
    our_runs: list[Run], their_run: Run, stranger: User
) -> None:
    client = client_for(stranger)
    rows = csv_rows(client.get(reverse("runs:export_csv")))
    assert [row["url"] for row in rows] == ["https://h.example/theirs"]
    entries = har_entries(client.get(reverse("runs:export_har")))
    assert [e["request"]["url"] for e in entries] == ["https://h.example/theirs"]


@pytest.mark.parametrize("name", EXPORTS)
def test_it_answers_404_to_a_user_without_a_team(name: str, our_runs: list[Run]) -> None:
    loner = User.objects.create_user(username="loner", password=PASSWORD)
    assert client_for(loner).get(reverse(name)).status_code == 404


def test_it_exports_the_current_team_of_a_member_of_two(
    our_runs: list[Run], their_run: Run, other_team: Team, owner: User
) -> None:
    Membership.objects.create(user=owner, team=other_team, role=Membership.Role.MEMBER)
    client = client_for(owner)
    client.post(reverse("accounts:switch_team"), {"team": str(other_team.pk)})
    rows = csv_rows(client.get(reverse("runs:export_csv")))
    assert [row["url"] for row in rows] == ["https://h.example/theirs"]


# The response -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "extension"),
    [
        ("runs:export_csv", "text/csv; charset=utf-8", "csv"),
        ("runs:export_har", "application/json", "har"),
    ],
)
def test_it_streams_an_attachment_that_is_not_cached(
    name: str, content_type: str, extension: str, team: Team, owner: User
) -> None:
    team.name = "Alpha Squad"
    team.save()
    response = client_for(owner).get(reverse(name))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == content_type
    day = timezone.now().strftime("%Y-%m-%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="alpha-squad-runs-{day}.{extension}"'
    )
    assert response["Cache-Control"] == "no-store"


def test_it_writes_the_header_row_and_links_each_run(our_runs: list[Run], owner: User) -> None:
    response = client_for(owner).get(reverse("runs:export_csv"))
    text = body(response)
    assert text.splitlines()[0] == ",".join(exports.CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    run_urls = {row["run_url"] for row in rows}
    assert run_urls == {
        f"http://testserver{reverse('runs:detail', args=[run.id])}" for run in our_runs
    }
    assert {row["member"] for row in rows} == {"alice", "bob"}


# Filters ------------------------------------------------------------------------------------


def test_it_applies_the_logs_filters(our_runs: list[Run], owner: User) -> None:
    client = client_for(owner)
    rows = csv_rows(client.get(reverse("runs:export_csv"), {"class": "4xx"}))
    assert [row["status"] for row in rows] == ["429"]
    entries = har_entries(client.get(reverse("runs:export_har"), {"member": "alice"}))
    assert [e["response"]["status"] for e in entries] == [200]
    rows = csv_rows(client.get(reverse("runs:export_csv"), {"q": "nothing-matches"}))
    assert rows == []


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "abc"}, "status"),
        ({"status": "999"}, "status"),
        ({"class": "6xx"}, "class"),
        ({"member": "mallory"}, "member"),  # not a member of this team
        ({"since": "yesterday"}, "since"),
        ({"range": "1h", "since": "2025-01-01T00:00"}, "range"),
    ],
)
def test_it_refuses_an_invalid_filter_with_a_plain_message(
    name: str, query: dict[str, str], field: str, owner: User, stranger: User
) -> None:
    response = client_for(owner).get(reverse(name), query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert f"“{field}”" in response.content.decode()


# The generators over the database -----------------------------------------------------------


def test_it_reads_every_run_once_across_batches_even_with_equal_times(
    team: Team, owner: User
) -> None:
    moment = timezone.now()
    runs = [make_run(team, owner, url=f"https://h.example/{n}") for n in range(11)]
    # Seven runs share one creation time, so batches must be cut on (created_at, id).
    for n, run in enumerate(runs):
        Run.objects.filter(pk=run.pk).update(created_at=moment - timedelta(seconds=max(n, 6)))
    queryset = filtered_runs(team=team, filters=LogFilters())
    text = "".join(exports.csv_chunks(queryset, base_url="http://x", batch_size=3))
    ids = [row["run_url"].split("/")[-2] for row in csv.DictReader(io.StringIO(text))]
    expected = list(queryset.values_list("id", flat=True))
    assert ids == [str(run_id) for run_id in expected]
    assert len(ids) == 11


def test_it_reads_a_fixed_number_of_queries_per_batch(
    team: Team, owner: User, django_assert_num_queries: object
) -> None:
    for n in range(6):
        run = finished_run(team, owner, run={"url": f"https://h.example/{n}"})
        add_attempt(
            run,
            status=Attempt.Status.DONE,
            outcome=Run.Outcome.RESPONSE,
            response_status=500,
            duration_ms=1.0,
        )
    queryset = filtered_runs(team=team, filters=LogFilters())
    # Three batches of 2 runs, then an empty one: 3 x (runs + attempt numbers + attempts) + 1.
    with django_assert_num_queries(10):  # type: ignore[operator]
        text = "".join(exports.har_chunks(queryset, base_url="http://x", batch_size=2))
    # 4 batches of runs (the last one empty): one query each, no query per row.
    with django_assert_num_queries(4):  # type: ignore[operator]
        "".join(exports.csv_chunks(queryset, base_url="http://x", batch_size=2))
    entries = json.loads(text)["log"]["entries"]
    assert len(entries) == 6
    # The latest finished attempt of each run is the one exported.
    assert {(e["_attempt"], e["response"]["status"]) for e in entries} == {(2, 500)}


def test_it_leaves_runs_without_a_finished_attempt_out_of_the_har(team: Team, owner: User) -> None:
    finished = finished_run(team, owner)
    queued = make_run(team, owner)
    add_attempt(queued)  # still queued
    queryset = filtered_runs(team=team, filters=LogFilters())
    document = json.loads("".join(exports.har_chunks(queryset, base_url="http://x")))
    assert har_problems(document) == []
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []  # HAR 1.2 schema
    assert [e["_run"] for e in document["log"]["entries"]] == [
        f"http://x{reverse('runs:detail', args=[finished.id])}"
    ]
    rows = list(
        csv.DictReader(io.StringIO("".join(exports.csv_chunks(queryset, base_url="http://x"))))
    )
    assert len(rows) == 2  # the CSV lists every run, finished or not


def test_it_writes_an_empty_but_valid_har_for_no_runs(team: Team) -> None:
    queryset = filtered_runs(team=team, filters=LogFilters())
    document = json.loads("".join(exports.har_chunks(queryset, base_url="http://x")))
    assert har_problems(document) == []
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []  # HAR 1.2 schema
    assert document["log"]["entries"] == []
    assert document["log"]["version"] == "1.2"


def test_it_never_exports_the_encrypted_secrets(team: Team, owner: User) -> None:
    run = finished_run(team, owner)
    key = "ENC-KEY-0123456789"
    Run.objects.filter(pk=run.pk).update(
        secrets_encrypted=secrets.encrypt(secrets.RunSecrets(api_key=key)), has_api_key=True
    )
    client = client_for(owner)
    for name in EXPORTS:
        assert key not in body(client.get(reverse(name)))


def test_a_run_with_a_deeply_nested_body_leaves_the_har_valid(team: Team, owner: User) -> None:
    """Issue 13, row 2: every HAR export holding such a run was cut after 122 bytes."""
    nested = "[" * 1000 + "]" * 1000
    finished_run(
        team,
        owner,
        response_status=400,
        response_body=nested,
        response_headers=[["Content-Type", "application/json"]],
        run={"request_body": nested, "request_headers": [["Content-Type", "application/json"]]},
    )
    finished_run(team, owner)
    entries = har_entries(client_for(owner).get(reverse("runs:export_har")))
    assert len(entries) == 2
    assert nested in [entry["response"]["content"]["text"] for entry in entries]


def test_a_run_the_har_writer_cannot_write_is_left_out_and_said(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export is valid or explained, never half a file: one entry that raises."""
    bad, good = finished_run(team, owner), finished_run(team, owner)
    write = exports.har_entry_text

    def failing(run: object, attempt: object, *, run_url: str) -> str:
        if getattr(run, "id", None) == bad.id:
            raise ValueError("stored data this writer cannot write")
        return write(run, attempt, run_url=run_url)  # type: ignore[arg-type]

    monkeypatch.setattr(exports, "har_entry_text", failing)
    document = json.loads(body(client_for(owner).get(reverse("runs:export_har"))))
    assert har_problems(document) == []
    assert [entry["_run"] for entry in document["log"]["entries"]] == [
        f"http://testserver{reverse('runs:detail', args=[good.id])}"
    ]
    assert document["log"]["comment"] == "1 run(s) could not be exported and are left out."


@pytest.mark.parametrize(
    ("name", "batches"),
    [("runs:export_har", "run_row_batches"), ("runs:export_csv", "run_batches")],
)
def test_an_export_that_fails_half_way_ends_valid_and_says_it_is_short(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch, name: str, batches: str
) -> None:
    for _ in range(3):
        finished_run(team, owner)
    real = getattr(exports, batches)

    def first_batch_then_error(*args: object, **kwargs: object) -> Iterator[object]:
        yield next(iter(real(*args, **{**kwargs, "size": 1})))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(exports, batches, first_batch_then_error)
    text = body(client_for(owner).get(reverse(name)))
    if name == "runs:export_har":
        document = json.loads(text)
        assert len(document["log"]["entries"]) == 1
        assert document["log"]["comment"] == exports.STOPPED_EARLY
    else:
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == list(exports.CSV_COLUMNS) and len(rows) == 3
        assert rows[-1] == [exports.STOPPED_EARLY]
