"""Keyset pages of the team log: page size edges, equal timestamps across a page boundary,
bad cursors, filters kept from page to page. No OFFSET: each page starts after a cursor."""

import base64
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import selectors
from apps.runs.filters import Cursor, LogFilters
from apps.runs.models import Run

pytestmark = pytest.mark.django_db
SIZE = selectors.LOG_PAGE_SIZE


def many_runs(
    team: Team, user: User, count: int, *, same_time: bool = False, **fields: object
) -> list[Run]:
    """`count` runs, one a second apart going back from now (or all at one instant)."""
    values = {"method": "GET", "url": "https://a.example/x", "host": "a.example"} | fields
    runs = Run.objects.bulk_create(
        Run(team=team, created_by=user, timeout_seconds=5, profile="generic", **values)
        for _ in range(count)
    )
    now = timezone.now().replace(microsecond=0)
    for index, run in enumerate(runs):
        run.created_at = now if same_time else now - timedelta(seconds=index)
        Run.objects.filter(pk=run.pk).update(created_at=run.created_at)
    return runs


def older_link(page: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)" rel="next">Older', page)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client: Client, url: str) -> list[list[Run]]:
    """Every page from `url`, following "Older" links."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200
        pages.append(list(response.context["runs"]))
        next_url = older_link(response.content.decode())
        assert len(pages) < 10
    return pages


def test_it_shows_one_page_without_an_older_link_at_exactly_the_page_size(
    team: Team, owner: User, owner_client: Client
) -> None:
    many_runs(team, owner, SIZE)
    pages = walk(owner_client, reverse("home"))
    assert [len(page) for page in pages] == [SIZE]


def test_it_links_to_a_second_page_at_one_more_than_the_page_size(
    team: Team, owner: User, owner_client: Client
) -> None:
    made = many_runs(team, owner, SIZE + 1)
    pages = walk(owner_client, reverse("home"))
    assert [len(page) for page in pages] == [SIZE, 1]
    assert [run.id for page in pages for run in page] == [run.id for run in made]


def test_it_neither_skips_nor_repeats_runs_with_the_same_time_across_a_boundary(
    team: Team, owner: User, owner_client: Client
) -> None:
    made = many_runs(team, owner, SIZE + 7, same_time=True)
    pages = walk(owner_client, reverse("home"))
    assert [len(page) for page in pages] == [SIZE, 7]
    seen = [run.id for page in pages for run in page]
    assert len(set(seen)) == len(seen) == len(made)
    assert seen == sorted(seen, reverse=True)  # ties broken by id, newest "first"


def test_it_pages_through_ties_with_small_pages(team: Team, owner: User) -> None:
    """The selector itself, three to a page, over a block of equal timestamps."""
    made = many_runs(team, owner, 4) + many_runs(team, owner, 5, same_time=True)
    expected = [run.id for run in Run.objects.filter(team=team).order_by("-created_at", "-id")]
    seen: list = []
    cursor = None
    while True:
        page = selectors.log_page(team=team, filters=LogFilters(), cursor=cursor, size=3)
        seen += [run.id for run in page.runs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert len(seen) == len(made)


def test_it_shows_the_first_page_for_a_cursor_that_does_not_decode(
    team: Team, owner: User, owner_client: Client
) -> None:
    made = many_runs(team, owner, 3)
    for token in ["garbage", "!!!", "x" * 500, "MjAyNXxub3QtYS11dWlk"]:
        response = owner_client.get(reverse("home"), {"before": token})
        assert response.status_code == 200
        assert [run.id for run in response.context["runs"]] == [run.id for run in made]
        assert response.context["first_page"] is True


def test_it_keeps_the_filters_on_every_page(team: Team, owner: User, owner_client: Client) -> None:
    wanted = many_runs(team, owner, SIZE + 2, method="POST")
    many_runs(team, owner, 5, method="GET")
    first = owner_client.get(reverse("home"), {"method": "POST", "q": "a.example"})
    link = older_link(first.content.decode())
    assert link is not None
    assert "method=POST" in link
    assert "q=a.example" in link
    assert "before=" in link
    second = owner_client.get(link)
    assert [run.id for run in second.context["runs"]] == [run.id for run in wanted[SIZE:]]
    page = second.content.decode()
    assert older_link(page) is None
    assert '<a class="button" href="/?q=a.example&amp;method=POST">← Newest</a>' in page
    # The filter form on page 2 still shows the filters, without the page position.
    assert '<option value="POST" selected>' in page
    assert 'type="hidden" name="before"' not in page


def test_it_says_there_is_nothing_older_past_the_last_run(
    team: Team, owner: User, owner_client: Client
) -> None:
    made = many_runs(team, owner, 2)
    cursor = Cursor(created_at=made[-1].created_at, id=made[-1].id)
    page = owner_client.get(reverse("home"), {"before": cursor.encode()}).content.decode()
    assert "No older runs." in page
    assert "← Newest" in page
    assert "No runs yet." not in page


def test_it_never_shows_another_teams_runs_on_any_page(
    team: Team, other_team: Team, owner: User, stranger: User, owner_client: Client
) -> None:
    theirs = many_runs(other_team, stranger, 5)
    many_runs(team, owner, SIZE + 1)
    seen = {run.id for page in walk(owner_client, reverse("home")) for run in page}
    assert not seen & {run.id for run in theirs}
    cursor = Cursor(created_at=theirs[0].created_at, id=theirs[0].id)
    response = owner_client.get(reverse("home"), {"before": cursor.encode()})
    assert all(run.team_id == team.id for run in response.context["runs"])


def test_it_reads_a_page_without_offset_or_count(
    team: Team, owner: User, owner_client: Client
) -> None:
    many_runs(team, owner, SIZE + 1)
    first = owner_client.get(reverse("home"))
    link = older_link(first.content.decode())
    assert link is not None
    with CaptureQueriesContext(connection) as queries:
        owner_client.get(link)
    run_queries = [q["sql"].upper() for q in queries if '"runs_run"' in q["sql"]]
    assert len(run_queries) == 1
    assert "OFFSET" not in run_queries[0]
    assert "COUNT(" not in run_queries[0]
    assert f"LIMIT {SIZE + 1}" in run_queries[0]


@pytest.mark.parametrize(
    "stamp",
    ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "1900-01-01T00:00:00+00:00"],
)
def test_it_takes_a_cursor_at_the_edge_of_time_for_the_first_page(
    team: Team, owner: User, owner_client: Client, stamp: str
) -> None:
    many_runs(team, owner, 2)
    raw = f"{stamp}|00000000-0000-0000-0000-000000000000".encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert Cursor.decode(token) is None
    response = owner_client.get(reverse("home"), {"before": token})
    assert response.status_code == 200
    assert len(response.context["runs"]) == 2
