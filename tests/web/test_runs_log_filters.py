"""The team log's filters: each alone, combined, kept in the URL; bad values answered at
their field while the other filters still apply."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.support.factories import finished_run, make_run

pytestmark = pytest.mark.django_db


def logged(
    team: Team,
    user: User,
    name: str,
    *,
    status: int | None = 200,
    code: str = "kaiko.200",
    title: str = "Success",
    method: str = "GET",
    host: str = "us.market-api.kaiko.io",
    minutes_ago: int = 0,
) -> Run:
    """A finished run whose URL ends in `name` (so a test can tell the rows apart)."""
    attempt: dict[str, object] = {"response_status": status, "diagnosis": {"title": title}}
    if status is None:
        attempt.update(outcome=Run.Outcome.FAILURE, failure_kind="dns")
    run = finished_run(
        team,
        user,
        run={"method": method, "host": host, "url": f"https://{host}/v2/{name}"},
        **attempt,
    )
    Run.objects.filter(pk=run.pk).update(
        diagnosis_code=code,
        duration_ms=42,
        failure_kind="dns" if status is None else "",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return run


@pytest.fixture
def runs(team: Team, owner: User, teammate: User) -> None:
    logged(team, owner, "ok", minutes_ago=1)
    logged(team, owner, "moved", status=301, code="http.301", title="Moved", minutes_ago=2)
    logged(
        team, teammate, "nokey", status=401, code="kaiko.401.no_key", title="No API key",
        method="POST", minutes_ago=3,
    )  # fmt: skip
    logged(team, owner, "rejected", status=401, code="kaiko.401", title="Key rejected",
           minutes_ago=90)  # fmt: skip
    logged(team, teammate, "down", status=503, code="kaiko.503", title="Maintenance",
           host="eu.market-api.kaiko.io", minutes_ago=60 * 30)  # fmt: skip
    logged(team, owner, "dns", status=None, code="network.dns", title="Host not found",
           host="nowhere.invalid", minutes_ago=60 * 24 * 10)  # fmt: skip


def shown(client: Client, **params: str) -> list[str]:
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return [run.url.rsplit("/", 1)[1] for run in response.context["runs"]]


ALL = ["ok", "moved", "nokey", "rejected", "down", "dns"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"class": "2xx"}, ["ok"]),
        ({"class": "3xx"}, ["moved"]),
        ({"class": "4xx"}, ["nokey", "rejected"]),
        ({"class": "5xx"}, ["down"]),
        ({"class": "network"}, ["dns"]),
        ({"status": "401"}, ["nokey", "rejected"]),
        ({"status": "404"}, []),
        ({"diagnosis": "kaiko.401.no_key"}, ["nokey"]),
        ({"diagnosis": "kaiko.401"}, ["nokey", "rejected"]),  # a code finds its finer causes
        ({"diagnosis": "kaiko"}, ["ok", "nokey", "rejected", "down"]),
        ({"diagnosis": "kaiko.40"}, []),  # whole parts only
        ({"method": "POST"}, ["nokey"]),
        ({"method": "post"}, ["nokey"]),
        ({"host": "EU.market-api.kaiko.io"}, ["down"]),
        ({"member": "bob"}, ["nokey", "down"]),
        ({"range": "1h"}, ["ok", "moved", "nokey"]),
        ({"range": "24h"}, ["ok", "moved", "nokey", "rejected"]),
        ({"range": "7d"}, ["ok", "moved", "nokey", "rejected", "down"]),
        ({"q": "NOKEY"}, ["nokey"]),  # in the URL, any case
        ({"q": "maintenance"}, ["down"]),  # in the diagnosis title
    ],
)
def test_it_applies_each_filter_alone(
    runs: None, owner_client: Client, params: dict[str, str], expected: list[str]
) -> None:
    assert shown(owner_client, **params) == expected


def test_it_applies_a_time_range_given_by_dates(runs: None, owner_client: Client) -> None:
    now = timezone.now()
    since = (now - timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M")
    until = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    assert shown(owner_client, since=since, until=until) == ["rejected", "down"]
    assert shown(owner_client, until=until) == ["rejected", "down", "dns"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"class": "4xx", "member": "alice"}, ["rejected"]),
        ({"class": "4xx", "range": "1h"}, ["nokey"]),
        ({"status": "401", "method": "GET", "q": "rejected"}, ["rejected"]),
        ({"diagnosis": "kaiko", "member": "bob", "host": "eu.market-api.kaiko.io"}, ["down"]),
        ({"class": "2xx", "status": "401"}, []),
    ],
)
def test_it_combines_filters(
    runs: None, owner_client: Client, params: dict[str, str], expected: list[str]
) -> None:
    assert shown(owner_client, **params) == expected


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "abc"}, "status", "Enter a whole number."),
        ({"status": "999"}, "status", "less than or equal to 599"),
        ({"class": "6xx"}, "class", "Select a valid choice."),
        ({"method": "BREW"}, "method", "Select a valid choice."),
        ({"member": "nobody"}, "member", "No member of this team is called “nobody”."),
        ({"diagnosis": "<b>401</b>"}, "diagnosis", "A diagnosis code is words joined by dots"),
        ({"since": "yesterday"}, "since", "Enter a valid date/time."),
        ({"since": "2025-01-02T00:00", "until": "2025-01-01T00:00"}, "until", "must come after"),
        ({"range": "1h", "since": "2025-01-01T00:00"}, "range", "not both"),
        ({"range": "forever"}, "range", "Select a valid choice."),
    ],
)
def test_it_answers_a_bad_value_at_its_field_and_applies_the_others(
    runs: None, owner_client: Client, params: dict[str, str], field: str, message: str
) -> None:
    valid = {"member": "bob"} if field != "member" else {"method": "POST"}
    response = owner_client.get(reverse("home"), {**valid, **params})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    page = response.content.decode()
    # The message is tied to its field (aria-describedby), not shouted as an alert.
    assert f'id="id_{field}_error"' in page and 'aria-invalid="true"' in page
    # The valid filter still applies, next to the bad value (a valid date may narrow further).
    allowed = {"nokey", "down"} if field != "member" else {"nokey"}
    found = {run.url.rsplit("/", 1)[1] for run in response.context["runs"]}
    assert found <= allowed
    if field not in {"since", "until"}:
        assert found == allowed


def test_it_still_applies_the_valid_filters_next_to_a_bad_one(
    runs: None, owner_client: Client
) -> None:
    assert shown(owner_client, status="abc", member="bob") == ["nokey", "down"]
    assert shown(owner_client, member="nobody", method="POST") == ["nokey"]


def test_it_keeps_each_value_in_its_field(runs: None, owner_client: Client) -> None:
    params = {
        "q": "ohlcv",
        "class": "4xx",
        "status": "401",
        "diagnosis": "kaiko.401",
        "method": "GET",
        "host": "us.market-api.kaiko.io",
        "member": "bob",
        "since": "2025-01-01T10:00",
    }
    page = owner_client.get(reverse("home"), params).content.decode()
    assert 'name="q" value="ohlcv"' in page
    assert '<option value="4xx" selected>' in page
    assert 'name="status" value="401"' in page
    assert 'name="diagnosis" value="kaiko.401"' in page
    assert '<option value="GET" selected>' in page
    assert 'name="host" value="us.market-api.kaiko.io"' in page
    assert '<option value="bob" selected>' in page
    assert 'name="since" value="2025-01-01T10:00"' in page


def test_it_offers_the_teams_members_and_the_catalogs_codes(
    runs: None, owner_client: Client, stranger: User
) -> None:
    page = owner_client.get(reverse("home")).content.decode()
    assert '<option value="alice">' in page
    assert '<option value="bob">' in page
    assert "mallory" not in page
    assert '<datalist id="diagnosis-codes">' in page
    assert '<option value="kaiko.401.no_key">' in page
    assert '<option value="network.dns">' in page


def test_it_links_cells_to_filters_added_to_the_current_ones(
    team: Team, owner: User, owner_client: Client
) -> None:
    run = logged(team, owner, "nokey", status=401, code="kaiko.401.no_key", title="No key")
    page = owner_client.get(reverse("home"), {"member": "alice"}).content.decode()
    assert 'href="/?member=alice&amp;status=401"' in page
    assert 'href="/?member=alice&amp;diagnosis=kaiko.401.no_key"' in page
    assert 'href="/?member=alice&amp;host=us.market-api.kaiko.io"' in page
    assert 'href="/?member=alice&amp;method=GET"' in page
    assert f'href="/runs/{run.id}/"' in page
    failed = logged(team, owner, "dns", status=None, code="network.dns", title="Not found")
    page = owner_client.get(reverse("home"), {"q": "dns"}).content.decode()
    assert 'href="/?q=dns&amp;class=network"' in page
    assert str(failed.id) in page


def test_it_shows_the_path_with_the_full_url_in_its_title(
    team: Team, owner: User, owner_client: Client
) -> None:
    long_path = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv/recent"
    make_run(team, owner, url=f"https://us.market-api.kaiko.io{long_path}?interval=1h")
    page = owner_client.get(reverse("home")).content.decode()
    assert f'title="https://us.market-api.kaiko.io{long_path}?interval=1h"' in page
    # Cut in the middle by the stylesheet: the start may end in an ellipsis, the end stays.
    full = f"{long_path}?interval=1h"
    start, end = full[:-24], full[-24:]
    assert f'<span class="elide-start">{start}</span><span class="elide-end">{end}</span>' in page


def test_it_says_when_nothing_matches_and_offers_to_clear(runs: None, owner_client: Client) -> None:
    page = owner_client.get(reverse("home"), {"status": "418"}).content.decode()
    assert "No runs match these filters." in page
    assert '<a href="/">Clear filters</a>' in page
    assert "Try a request without a key" not in page


def test_it_shows_the_onboarding_text_when_the_team_has_no_runs(owner_client: Client) -> None:
    page = owner_client.get(reverse("home")).content.decode()
    assert "No runs yet" in page
    # Three things to try against the sandbox: a 401, a 429 and a TLS failure.
    for preset in ("sandbox-no-key", "sandbox-rate-limit", "sandbox-tls-expired"):
        assert f"?preset={preset}" in page
    assert "Clear filters" not in page


def test_it_shows_active_filters_each_with_a_link_that_removes_it(
    runs: None, owner_client: Client
) -> None:
    page = owner_client.get(reverse("home"), {"class": "4xx", "member": "bob"}).content.decode()
    assert 'aria-label="Remove filter Result" title="Remove this filter"' in page
    assert 'href="/?member=bob" aria-label="Remove filter Result"' in page
    assert 'href="/?class=4xx" aria-label="Remove filter Member"' in page


def test_it_keeps_only_filters_in_links_never_the_page_position(
    runs: None, owner_client: Client
) -> None:
    response = owner_client.get(reverse("home"), {"class": "4xx", "before": "x"})
    assert response.context["query"].urlencode() == "class=4xx"


def test_it_drops_empty_and_unknown_parameters_from_the_url(owner_client: Client) -> None:
    submitted = {"q": " ohlcv ", "class": "4xx", "status": "", "member": "", "junk": "1"}
    response = owner_client.get(reverse("home"), submitted)
    assert response.status_code == 302
    assert response["Location"] == "/?q=ohlcv&class=4xx"
    everything_empty = owner_client.get(reverse("home"), {"q": "", "class": ""})
    assert everything_empty["Location"] == "/"
    kept = owner_client.get(reverse("home"), {"status": "abc", "before": "x"})
    assert kept.status_code == 200  # nothing to drop: bad values stay, with their message


def test_a_search_shorter_than_three_characters_is_refused_at_its_field(owner_client, team, owner):
    finished_run(team, owner, run={"url": "https://h.example/v1/ab"})
    response = owner_client.get(reverse("home"), {"q": "ab"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Search for at least 3 characters." in page
    # The search is left out, so the team's runs are still listed.
    assert "/v1/ab" in page


def test_the_log_cannot_be_read_without_naming_a_saved_team(db: None) -> None:
    from apps.runs.filters import LogFilters
    from apps.runs.selectors import filtered_runs

    for no_team in (None, Team(name="never saved")):
        with pytest.raises(TypeError):
            filtered_runs(team=no_team, filters=LogFilters())  # type: ignore[arg-type]
