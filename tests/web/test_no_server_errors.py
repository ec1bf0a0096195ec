"""No input gives a 5xx: every URL pattern of the project, GET and POST, with generated paths,
query strings and form fields (hostile text, huge numbers, odd dates, bytes that are not
UTF-8), signed in as a member of a team that has runs, a share link and an invite.

The patterns are read from the URL resolver, so a URL added later is driven too. Ids in paths
are often those of the team's real objects, so that views get past their 404s. The test
client re-raises a view's exception, so an error fails the test even where a handler would
have turned it into a page.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import cast
from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Membership, Team
from apps.accounts.services import create_invite
from apps.runs.models import Run
from apps.sharing import services as sharing_services
from tests.support.clients import client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db

# Examples for each URL pattern (about 110 with Django's admin), each a GET and a POST:
# about 1,300 requests in all, some tens of seconds.
EXAMPLES = 6
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Responses read whole (streamed ones too), up to this much: an export that fails half-way
# fails the test.
READ_AT_MOST = 4 * 1024 * 1024


def _leaf_patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """(the full regex, the name) of every view the project routes to."""
    for pattern in patterns:
        regex = _piece(pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _leaf_patterns(pattern.url_patterns, prefix + regex, inner)
        else:
            yield prefix + regex, namespace + (pattern.name or pattern.lookup_str)


def _piece(regex: str) -> str:
    """A pattern's regex without its anchors and group names, to be joined to others."""
    regex = regex.removeprefix("^")
    for end in ("\\Z", "$"):
        regex = regex.removesuffix(end)
    return re.sub(r"\(\?P<\w+>", "(", regex)


PATTERNS = sorted(set(_leaf_patterns(get_resolver().url_patterns)), key=lambda p: (p[1], p[0]))

ODD_DATES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00",
            "9999-12-31T23:59",
            "0001-01-01T00:00:00+23:59",
            "9999-12-31T23:59:59-23:59",
            "2024-02-30T25:61",
            "1969-12-31T23:59",
            # Cursors: base64url of "<time>|<uuid>" at the edges of time.
            "MDAwMS0wMS0wMVQwMDowMDowMCsyMzo1OXwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
            "OTk5OS0xMi0zMVQyMzo1OTo1OS0yMzo1OXwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
        ]
    ),
    st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
)
NUMBERS = st.one_of(
    st.sampled_from(["9" * 40, "-9" * 20, "1e999", "NaN", "inf", "-1", "0x10", "\uff11\uff12"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "evil",
            "on",
            "%00",
            "\x00",
            "//evil.example/",
            "javascript:alert(1)",
            "[" * 1000 + "]" * 1000,
            "http://127.0.0.1:1/",
            "https://user:pass@example.com/?api_key=abc",
            "X-A: \U0001f600",
            "Content-Type: application/json",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\ud800",
        ]
    ),
    NUMBERS,
    ODD_DATES,
)
# Names the project's views read, by the kind of value they take; and names they don't.
DATE_NAMES = ["since", "until", "before", "after", "start_time", "end_time"]
NUMBER_NAMES = ["status", "mb", "n", "timeout", "hops", "empty", "lifetime", "page_size"]
ID_NAMES = ["team", "source", "from", "pending", "member"]
OTHER_NAMES = [
    "q", "class", "diagnosis", "method", "host", "range", "next", "preset", "url", "params",
    "headers", "body", "api_key", "profile", "follow_redirects", "auto_retry", "keep_api_key",
    "mode", "visibility", "state", "name", "role", "email", "username", "password", "token",
    "new_password1", "new_password2", "old_password", "interval", "sort",
    "continuation_token", "instrument_class", "code",
]  # fmt: skip


def _encoded(value: str | bytes) -> str:
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(data, safe="")


@st.composite
def fields(draw: st.DrawFn, world: dict[str, object]) -> str:
    """A query string or form body: each name a view reads, or not, mostly with the edge
    values of its kind; then names no view reads, with anything (bytes not UTF-8 too)."""
    ids = st.sampled_from(cast(list[str], world["uuids"]))
    kinds = [
        (DATE_NAMES, ODD_DATES),
        (NUMBER_NAMES, NUMBERS),
        (ID_NAMES, st.one_of(ids, ids, HOSTILE)),
        (OTHER_NAMES, HOSTILE),
    ]
    pairs: list[tuple[str, str | bytes]] = []
    for names, values in kinds:
        for name in names:
            if draw(st.booleans()):
                pairs.append((name, draw(st.one_of(values, values, values, HOSTILE))))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.text(min_size=1, max_size=10))
        pairs.append((name, draw(st.one_of(HOSTILE, st.binary(max_size=20)))))
    order = draw(st.permutations(range(len(pairs))))
    return "&".join(f"{_encoded(pairs[i][0])}={_encoded(pairs[i][1])}" for i in order)


@pytest.fixture
def world(team: Team, owner: User, teammate: User) -> dict[str, object]:
    """A team with runs (one with an odd body), a share link and an invite; the ids that
    paths may use instead of random ones."""
    run = finished_run(team, owner)
    odd = finished_run(
        team,
        owner,
        response_body="[" * 1000 + "]" * 1000,
        response_headers=[["Content-Type", "application/json"]],
    )
    link, token = sharing_services.create_link(
        run=odd, created_by=owner, visibility="public", lifetime=timedelta(days=1)
    )
    invite, _ = create_invite(team=team, created_by=owner, lifetime=timedelta(days=1))
    membership = Membership.objects.get(user=teammate)
    return {
        "uuids": [str(run.id), str(odd.id), str(team.id), str(link.id), str(invite.id)],
        "token": token,
        "membership": str(membership.id),
    }


@st.composite
def paths(draw: st.DrawFn, regex: str, world: dict[str, object]) -> str:
    """A path the pattern matches, its ids often the team's real objects."""
    path = draw(st.from_regex(re.compile(regex, re.DOTALL), fullmatch=True))
    if draw(st.booleans()):  # the team's real objects, to get past the 404s
        path = UUID.sub(lambda _: draw(st.sampled_from(cast(list[str], world["uuids"]))), path)
        path = re.sub(r"^s/[^/]+$", f"s/{world['token']}", path)
        path = re.sub(r"members/\d+/", f"members/{world['membership']}/", path)
    return "/" + quote(path, safe="/")


def member_client(team: Team, teammate: User) -> Client:
    """The member signed in, back in the team whatever an earlier request did."""
    Membership.objects.get_or_create(user=teammate, team=team)
    User.objects.filter(pk=teammate.pk).update(is_active=True)
    return client_for(teammate)


def _read(response: object, name: str) -> None:
    # The sandbox's oversize answers are made to be cut by their client: not read.
    if getattr(response, "streaming", False) and not name.startswith("sandbox:"):
        # The test client closes the response once its content is read or dropped (closing
        # it here would close the test's database connection).
        read = 0
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            read += len(chunk)
            if read > READ_AT_MOST:
                break


def _check(response: object, name: str, method: str, path: str, query: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{method} {path}?{query} answered {status}"
    _read(response, name)


def test_every_url_pattern_is_driven() -> None:
    names = {name for _, name in PATTERNS}
    assert {"home", "runs:new", "runs:detail", "sharing:shared", "sandbox:market"} <= names
    assert len(PATTERNS) > 40


@pytest.mark.parametrize(("regex", "name"), PATTERNS, ids=[name for _, name in PATTERNS])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_answers_a_server_error(
    regex: str,
    name: str,
    data: st.DataObject,
    world: dict[str, object],
    team: Team,
    teammate: User,
) -> None:
    path = data.draw(paths(regex, world), label="path")
    query = data.draw(fields(world), label="query")
    client = member_client(team, teammate)
    _check(client.get(path, QUERY_STRING=query), name, "GET", path, query)
    form = data.draw(fields(world), label="form")
    response = client.post(
        path, form, content_type="application/x-www-form-urlencoded", QUERY_STRING=query
    )
    _check(response, name, "POST", path, query)
    assert Run.objects.filter(team=team).exists()  # the world is still there
