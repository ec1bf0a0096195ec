"""No input gives a 5xx: every URL pattern of the project, GET and POST, with generated paths,
query strings and form fields (hostile text, huge numbers, odd dates, bytes that are not
UTF-8), signed in as a member of a team that has runs, a share link and an invite. The API's
patterns are called with the member's bearer token (a session does not sign in there), and
POSTed a generated JSON body as well as a form.

The patterns are read from the URL resolver, so a URL added later is driven too. Ids in paths
are often those of the team's real objects, so that views get past their 404s. The test
client re-raises a view's exception, so an error fails the test even where a handler would
have turned it into a page.
"""

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import cast
from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Membership, Team
from apps.accounts.services import create_invite
from apps.api import services as api_services
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
# JSON nested deeper than Python's json reads (a RecursionError past ~10,000 levels here), bare
# and inside a document.
DEEP_JSON = st.sampled_from(
    [
        "[" * 20_000 + "]" * 20_000,
        '{"log": ' + "[" * 20_000 + "]" * 20_000 + "}",
        '{"info": {}, "item": ' + "[" * 20_000 + "]" * 20_000 + "}",
    ]
)
HOSTILE = st.one_of(
    DEEP_JSON,
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
    "continuation_token", "instrument_class", "code", "text", "action", "entries",
    "variables", "folder", "collection", "environment", "assertions",
]  # fmt: skip
# The API's JSON fields (apps/api/schemas.py), beside the names above.
API_NAMES = [
    "command", "env", "cause", "index", "environment", "collection", "saved_request", "pairs",
    "value", "enabled", "channel", "kind", "target", "assertions", "schedule", "monitor",
    "expires_in_days", "monitors", "requests", "variables",
]  # fmt: skip
JSON_SCALARS = st.one_of(
    HOSTILE,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["name", "value", *OTHER_NAMES]), inner, max_size=3),
    ),
    max_leaves=8,
)


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


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """A JSON body for the API: an object of the names its endpoints read (and others) with
    any JSON values; now and then JSON nested past any parser's depth, or no JSON at all."""
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind == 0:
        return draw(st.sampled_from([b"[" * 1000 + b"]" * 1000, b"{" * 5, b"\xff\xfe", b""]))
    if kind == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    names = st.sampled_from([*OTHER_NAMES, *API_NAMES, *DATE_NAMES, *NUMBER_NAMES, *ID_NAMES])
    body = draw(st.dictionaries(names, JSON_VALUES, max_size=8))
    return json.dumps(body).encode()


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
    _, api_token = api_services.create_token(
        user=teammate, team=team, name="property test", lifetime=timedelta(days=1)
    )
    return {
        "api_token": api_token,
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
    for area in ("api:", "saved:", "vault:", "monitors:", "api_tokens:", "library:", "status:"):
        assert any(name.startswith(area) for name in names), area


@pytest.mark.parametrize(
    ("name", "takes_run"),
    [("api:list_runs", False), ("api:get_run", True), ("api:create_run", False)],
)
def test_the_api_is_driven_past_its_authentication(
    name: str, takes_run: bool, world: dict[str, object], team: Team, teammate: User
) -> None:
    """With the member's token the API answers (not 401), so its views are what is driven."""
    run_id = cast(list[str], world["uuids"])[0]
    path = reverse(name, args=[run_id] if takes_run else [])
    client = member_client(team, teammate)
    headers = api_headers(name, world)
    assert client.get(path, headers=headers).status_code in (200, 405)
    answer = client.post(path, b"{}", content_type="application/json", headers=headers)
    assert answer.status_code in (405, 422)
    assert client.get(path).status_code in (401, 405)  # a session alone: not signed in


def api_headers(name: str, world: dict[str, object]) -> dict[str, str]:
    """The member's bearer token for the API's patterns; nothing for the pages'."""
    return {"Authorization": f"Bearer {world['api_token']}"} if name.startswith("api") else {}


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
    headers = api_headers(name, world)
    _check(client.get(path, QUERY_STRING=query, headers=headers), name, "GET", path, query)
    form = data.draw(fields(world), label="form")
    response = client.post(
        path,
        form,
        content_type="application/x-www-form-urlencoded",
        QUERY_STRING=query,
        headers=headers,
    )
    _check(response, name, "POST", path, query)
    if name.startswith("api"):
        body = data.draw(json_bodies(), label="json")
        response = client.post(
            path, body, content_type="application/json", QUERY_STRING=query, headers=headers
        )
        _check(response, name, "POST json", path, query)
    assert Run.objects.filter(team=team).exists()  # the world is still there
