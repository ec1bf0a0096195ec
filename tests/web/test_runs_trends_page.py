"""The trends page: figures for a known set of runs, filters, windows, access."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import rollups, trends
from apps.runs.models import Run
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import make_run
from tests.support.trends import DAY, at, table

pytestmark = pytest.mark.django_db

FORTNIGHT = "since=2024-12-25T00:00&until=2025-01-08T00:00"  # counted per day


def run_at(team: Team, user: User, when: datetime, **fields: object) -> Run:
    """A run created at `when` whose summary columns are `fields`."""
    run = make_run(team, user, **{"status": Run.Status.DONE, **fields})
    Run.objects.filter(pk=run.pk).update(created_at=when)
    return run


def answered(
    team: Team, user: User, when: datetime, status: int, code: str, title: str, ms: float, host: str
) -> Run:
    return run_at(
        team,
        user,
        when,
        outcome=Run.Outcome.RESPONSE,
        response_status=status,
        diagnosis_code=code,
        diagnosis_title=title,
        duration_ms=ms,
        host=host,
    )


@pytest.fixture
def known_runs(team: Team, owner: User, teammate: User) -> None:
    """Eight runs of 2025-01-01: two 2xx, one 3xx, two 4xx, one 5xx, one without response,
    one pending. Hosts: a.example (4 timed), b.example (2), c.example (1)."""
    answered(team, owner, at(5, 10), 200, "kaiko.200", "Success", 10, "a.example")
    answered(team, owner, at(5, 20), 200, "kaiko.200", "Success", 20, "a.example")
    answered(team, teammate, at(5, 40), 404, "kaiko.404", "Not found", 30, "a.example")
    answered(team, owner, at(7, 0), 401, "kaiko.401", "Unauthorized", 40, "b.example")
    answered(team, owner, at(7, 30), 503, "kaiko.503", "Maintenance", 100, "b.example")
    run_at(
        team,
        owner,
        at(7, 45),
        outcome=Run.Outcome.FAILURE,
        failure_kind="dns",
        diagnosis_code="network.dns",
        diagnosis_title="DNS lookup failed",
        duration_ms=5,
        host="c.example",
    )
    run_at(team, owner, at(8, 0), status=Run.Status.QUEUED, host="a.example")
    answered(team, owner, at(9, 0), 302, "http.302", "Redirect", 50, "a.example")


@pytest.fixture
def other_team_runs(other_team: Team, stranger: User) -> None:
    for minute in range(5):
        answered(other_team, stranger, at(7, minute), 500, "kaiko.500", "Secret", 999, "z.example")


def get(user: User | None, query: str = "") -> ClientResponse:
    """The page, once the hourly rollups count the runs the fixtures wrote straight to the
    database (as the backfill command does)."""
    for each in Team.objects.all():
        rollups.rebuild_team(team=each)
    return client_for(user).get(f"{reverse('runs:trends')}?{query}")


def test_it_sends_anonymous_users_to_sign_in() -> None:
    response = Client().get(reverse("runs:trends"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_a_friendly_page_without_a_team(db: None) -> None:
    loner = User.objects.create_user(username="loner", password="x")
    response = get(loner)
    assert response.status_code == 200
    assert b"not a member of any team" in response.content
    assert b"<svg" not in response.content


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_counts_runs_by_status_class(owner: User) -> None:
    response = get(owner, DAY)
    assert response.status_code == 200
    assert table(response.content, "classes-table") == (
        "Result Runs 2xx success 2 3xx redirect 1 4xx client error 2 5xx server error 1 "
        "No response (network, TLS, timeout) 1 Pending (no result yet) 1 All runs 8"
    )


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_lists_the_top_diagnoses_of_runs_with_a_result(teammate: User) -> None:
    response = get(teammate, DAY)
    text = table(response.content, "diagnoses-table")
    assert text.startswith("Diagnosis Code Runs Success kaiko.200 2 ")
    for row in (
        "Not found kaiko.404 1",
        "Unauthorized kaiko.401 1",
        "Maintenance kaiko.503 1",
        "DNS lookup failed network.dns 1",
        "Redirect http.302 1",
    ):
        assert row in text
    assert "Secret" not in response.content.decode()  # the other team's diagnosis


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_counts_errors_per_hour_for_a_short_range(owner: User) -> None:
    response = get(owner, DAY)
    text = table(response.content, "buckets-table")
    assert text.startswith("Hour (UTC) Runs With a result Errors Error rate")
    assert "2025-01-01 05:00 3 3 1 33.3%" in text
    assert "2025-01-01 06:00 0 0 0 0%" in text  # no runs: shown as zero
    assert "2025-01-01 07:00 3 3 3 100%" in text
    assert "2025-01-01 08:00 1 0 0 0%" in text  # pending only
    assert "2025-01-01 09:00 1 1 0 0%" in text
    assert text.count(" 2025-01-01 ") == 24
    assert "4 of 7 runs with a result ended" in response.content.decode()
    assert "per hour (UTC)" in response.content.decode()


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_counts_errors_per_day_for_a_longer_range(owner: User) -> None:
    response = get(owner, FORTNIGHT)
    text = table(response.content, "buckets-table")
    assert text.startswith("Day (UTC) Runs")
    assert "2025-01-01 8 7 4 57.1%" in text
    assert "2024-12-31 0 0 0 0%" in text
    assert len(re.findall(r"\d{4}-\d\d-\d\d ", text)) == 14
    assert ":00" not in text


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_gives_duration_percentiles_per_host(owner: User) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = get(owner, DAY)
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert ("PERCENTILE_CONT" in sql) == (connection.vendor == "postgresql")
    assert table(response.content, "durations-table") == (
        "Host Timed runs p50 p95 "
        "a.example 4 25.0 ms 47.0 ms "
        "b.example 2 70.0 ms 97.0 ms "
        "c.example 1 5.0 ms 5.0 ms"
    )


@pytest.mark.usefixtures("known_runs", "other_team_runs")
@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL computes percentiles of all durations"
)
def test_it_bounds_the_durations_read_without_percentiles_in_sql(
    owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trends, "DURATION_SAMPLE", 3)
    response = get(owner, f"host=a.example&{DAY}")
    # The latest three of a.example: 50, 30 and 20 ms.
    assert table(response.content, "durations-table") == (
        "Host Timed runs p50 p95 a.example 4 (latest 3 measured) 30.0 ms 48.0 ms"
    )


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_applies_the_log_filters(owner: User) -> None:
    by_class = get(owner, f"class=4xx&{DAY}")
    assert "4xx client error 2 5xx server error 0" in table(by_class.content, "classes-table")
    assert "All runs 2" in table(by_class.content, "classes-table")
    assert "Result <strong>4xx client error</strong>" in by_class.content.decode()

    by_host = get(owner, f"host=b.example&{DAY}")
    assert table(by_host.content, "durations-table") == (
        "Host Timed runs p50 p95 b.example 2 70.0 ms 97.0 ms"
    )

    by_member = get(owner, f"member=bob&{DAY}")
    assert "All runs 1" in table(by_member.content, "classes-table")
    assert table(by_member.content, "diagnoses-table").endswith("Not found kaiko.404 1")


@pytest.mark.usefixtures("known_runs", "other_team_runs")
def test_it_never_counts_another_teams_runs(stranger: User) -> None:
    response = get(stranger, DAY)
    assert "All runs 5" in table(response.content, "classes-table")
    assert "5xx server error 5" in table(response.content, "classes-table")
    assert "a.example" not in response.content.decode()


def test_it_covers_the_last_seven_days_without_a_time_range(team: Team, owner: User) -> None:
    now = timezone.now()
    answered(team, owner, now - timedelta(days=1), 200, "kaiko.200", "Success", 10, "a.example")
    answered(team, owner, now - timedelta(days=10), 500, "kaiko.500", "Old", 10, "a.example")
    response = get(owner)
    content = response.content.decode()
    assert "No time range chosen: the last 7 days, per day (UTC)." in content
    assert "All runs 1" in table(response.content, "classes-table")
    assert "Old" not in content
    assert len(re.findall(r"\d{4}-\d\d-\d\d ", table(response.content, "buckets-table"))) == 8


def test_it_counts_per_hour_over_the_last_24_hours(team: Team, owner: User) -> None:
    now = timezone.now()
    answered(team, owner, now - timedelta(hours=2), 429, "kaiko.429", "Slow down", 10, "a.example")
    response = get(owner, "range=24h")
    text = table(response.content, "buckets-table")
    assert text.startswith("Hour (UTC)")
    stamp = trends.bucket_label(trends.truncate(now - timedelta(hours=2), "hour"), "hour")
    assert f"{stamp} 1 1 1 100%" in text
    assert 'aria-current="true">Last 24 hours' in response.content.decode()


@pytest.mark.usefixtures("known_runs")
def test_it_shortens_a_very_long_range_to_its_latest_days(owner: User) -> None:
    response = get(owner, "since=1990-01-01T00:00&until=2025-01-02T00:00")
    assert response.status_code == 200
    assert "too long to count at once" in response.content.decode()
    buckets = re.findall(r"\d{4}-\d\d-\d\d ", table(response.content, "buckets-table"))
    assert len(buckets) <= trends.MAX_BUCKETS
    assert "All runs 8" in table(response.content, "classes-table")


@pytest.mark.usefixtures("known_runs")
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=abc", "Status: Enter a whole number."),
        ("member=nobody", "No member of this team is called “nobody”."),
        ("range=forever", "Time: Select a valid choice."),
        ("since=yesterday", "From (UTC): Enter a valid date/time."),
    ],
)
def test_it_explains_a_bad_filter_and_counts_without_it(
    owner: User, query: str, message: str
) -> None:
    response = get(owner, f"{query}&class=2xx&{DAY}" if "since" not in query else query)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="filter-errors"' in content
    assert message in content
    assert "<svg" in content


def test_it_explains_dates_in_the_wrong_order(owner: User) -> None:
    response = get(owner, "since=2025-01-02T00:00&until=2025-01-01T00:00")
    assert response.status_code == 200
    assert "The end of the time range must come after its start." in response.content.decode()


@pytest.mark.usefixtures("known_runs")
def test_it_draws_svg_that_needs_no_javascript_nor_inline_styles(owner: User) -> None:
    response = get(owner, f"class=4xx&{DAY}")
    content = response.content.decode()
    main = content[content.index("<main") :]
    assert main.count("<svg") >= 4
    assert 'role="img"' in main
    assert '<title id="classes-chart-title">' in main
    assert '<desc id="errors-chart-desc">' in main
    assert "<script" not in main
    assert " style=" not in content
    assert f'href="{reverse("home")}?class=4xx&amp;since=' in content  # back to the log


@pytest.mark.usefixtures("known_runs")
def test_it_escapes_diagnosis_titles_and_hosts(team: Team, owner: User) -> None:
    answered(team, owner, at(10), 418, "x.teapot", "<script>alert(1)</script>", 1, "<b>h</b>")
    content = get(owner, DAY).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<b>h</b>" not in content


@pytest.mark.parametrize(
    "query",
    [
        "until=9999-12-31T23:59",
        "until=0001-01-01T00:00",
        "since=0001-01-01T00:00",
        "since=9999-12-31T23:59",
        "since=1969-12-31T23:59&until=2100-01-01T00:00",
    ],
)
def test_it_refuses_dates_out_of_range_at_their_field(owner: User, query: str) -> None:
    response = get(owner, query)
    assert response.status_code == 200
    form = response.context["form"]
    assert {"since", "until"} & set(form.errors)
    assert "Give a date from 1970 to 2099" in response.content.decode()
