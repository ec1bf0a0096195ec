"""Share links: created from the run page, opened at /s/<token>, revoked; who may do what;
the same 404 for every link that does not open a run; the headers of the shared page."""

import base64
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team, hash_link_token
from apps.runs import secrets
from apps.runs.models import Run
from apps.sharing import selectors, services
from apps.sharing.forms import NEVER_ONLY_FOR_TEAM
from apps.sharing.models import ShareLink
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import finished_run
from tests.support.sharing import make_link, share_url

pytestmark = pytest.mark.django_db
KEY = "KSECRET-share-0001"
LINK = re.compile(r'id="share-url"[^>]*value="(http[^"]+/s/([A-Za-z0-9_-]+))"')


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


@pytest.fixture
def run(team: Team, owner: User) -> Run:
    """A 401 whose stored body still holds the key (as if redaction had missed it), so that
    the share page's own redaction is what is tested."""
    created = finished_run(
        team,
        owner,
        run={
            "has_api_key": True,
            "secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key=KEY)),
            "query": [["page_size", "10"]],
            "request_headers": [["Accept", "application/json"]],
        },
        response_status=401,
        response_reason="Unauthorized",
        response_headers=[["Content-Type", "application/json"], ["Set-Cookie", "sid=abc123"]],
        response_body=(
            f'{{"message": "bad key {KEY}", "echo": "{base64.b64encode(KEY.encode()).decode()}",'
            ' "access_token": "tok-999999"}'
        ),
        diagnosis={
            "code": "kaiko.401.bad_key",
            "severity": "error",
            "title": "Authentication failed",
            "profile": "kaiko",
            "profile_name": "Kaiko market-data API",
            "status": 401,
            "api_meaning": "You are not authenticated properly.",
            "causes": [
                {
                    "code": "kaiko.401.bad_key",
                    "title": "The key was refused",
                    "evidence": [
                        {"source": "request_header", "name": "X-Api-Key", "value": KEY},
                        {"source": "body", "name": "message", "value": f"bad key {KEY}"},
                    ],
                    "playbooks": ["reauthenticate"],
                }
            ],
            "playbooks": ["reauthenticate"],
        },
    )
    Run.objects.filter(pk=created.pk).update(diagnosis_title="Authentication failed")
    created.refresh_from_db()
    return created


def without_per_request_values(response: object) -> str:
    """The page without its CSRF token and CSP nonces, which differ on every response."""
    page = response.content.decode()  # type: ignore[attr-defined]
    page = re.sub(r'"X-CSRFToken": "[^"]*"', "", page)
    return re.sub(r'nonce="[^"]*"', "", page)


def create(client: Client, run: Run, **data: str) -> ClientResponse:
    return client.post(
        reverse("sharing:create", args=[run.id]), {"visibility": "public", "lifetime": "7d", **data}
    )


# Creating -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visibility", "lifetime", "delta"),
    [
        ("public", "1h", timedelta(hours=1)),
        ("public", "1d", timedelta(days=1)),
        ("public", "7d", timedelta(days=7)),
        ("public", "30d", timedelta(days=30)),
        ("team", "1d", timedelta(days=1)),
        ("team", "never", None),
    ],
)
def test_it_creates_a_link_with_each_visibility_and_expiry(
    run: Run, owner: User, visibility: str, lifetime: str, delta: timedelta | None
) -> None:
    before = timezone.now()
    response = create(client_for(owner), run, visibility=visibility, lifetime=lifetime)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    url, token = LINK.search(page).groups()  # type: ignore[union-attr]
    assert url.startswith("http://testserver/s/")
    assert "can&#x27;t be shown again" in page or "can't be shown again" in page
    link = ShareLink.objects.get()
    assert link.run == run and link.team == run.team and link.created_by == owner
    assert link.visibility == visibility
    if delta is None:
        assert link.expires_at is None
    else:
        assert link.expires_at is not None
        assert before + delta <= link.expires_at <= timezone.now() + delta
    # Only the hash is stored.
    assert link.token_hash == hash_link_token(token) != token
    assert token not in str(ShareLink.objects.filter(pk=link.pk).values().get())


def test_it_refuses_never_for_a_public_link_with_a_message_not_a_500(run: Run, owner: User) -> None:
    response = create(client_for(owner), run, visibility="public", lifetime="never")
    assert response.status_code == 400
    assert NEVER_ONLY_FOR_TEAM in response.content.decode()
    assert not ShareLink.objects.exists()
    bad = create(client_for(owner), run, visibility="everyone", lifetime="forever")
    assert bad.status_code == 400
    assert not ShareLink.objects.exists()


def test_the_database_refuses_a_public_link_that_never_expires(run: Run, owner: User) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_link(run, owner, visibility="public", lifetime=None)


def test_it_answers_htmx_with_the_panel_alone(run: Run, owner: User) -> None:
    response = client_for(owner).post(
        reverse("sharing:create", args=[run.id]),
        {"visibility": "team", "lifetime": "1d"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section class="card share-panel" id="share-panel"')
    assert LINK.search(page)


def test_the_run_page_has_the_share_panel_listing_links_without_their_url(
    run: Run, owner: User, teammate: User
) -> None:
    link, token = make_link(run, teammate)
    services.record_view(link=link)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'id="share-panel"' in page
    assert reverse("sharing:create", args=[run.id]) in page
    assert reverse("sharing:revoke", args=[run.id, link.id]) in page
    assert token not in page
    rows = re.findall(r'<tr data-link-state="(\w+)">(.*?)</tr>', page, re.S)
    assert len(rows) == 1 and rows[0][0] == "active"
    assert "bob" in rows[0][1] and "<td>1</td>" in rows[0][1]


# The access matrix ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("teammate", 200), ("stranger", 404), ("anonymous", 302)],
)
def test_who_can_create_a_link(
    run: Run, owner: User, teammate: User, stranger: User, who: str, status: int
) -> None:
    user = {"owner": owner, "teammate": teammate, "stranger": stranger, "anonymous": None}[who]
    response = create(client_for(user), run)
    assert response.status_code == status
    assert ShareLink.objects.count() == (1 if status == 200 else 0)
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_create_and_revoke_answer_post_only(run: Run, owner: User) -> None:
    link, _ = make_link(run, owner)
    client = client_for(owner)
    assert client.get(reverse("sharing:create", args=[run.id])).status_code == 405
    assert client.get(reverse("sharing:revoke", args=[run.id, link.id])).status_code == 405


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 302), ("creator", 302), ("teammate", 302), ("stranger", 404), ("anonymous", 302)],
)
def test_who_can_revoke_a_link(
    run: Run, owner: User, teammate: User, stranger: User, who: str, status: int
) -> None:
    creator = User.objects.create_user("carol")
    run.team.membership_set.create(user=creator)
    link, token = make_link(run, creator)
    user = {
        "owner": owner,
        "creator": creator,
        "teammate": teammate,
        "stranger": stranger,
        "anonymous": None,
    }[who]
    response = client_for(user).post(reverse("sharing:revoke", args=[run.id, link.id]))
    assert response.status_code == status
    link.refresh_from_db()
    revoked = who in {"owner", "creator", "teammate"}
    assert (link.revoked_at is not None) is revoked
    if revoked:
        assert response["Location"] == reverse("runs:detail", args=[run.id])
        assert client_for(None).get(share_url(token)).status_code == 404
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_a_link_of_one_run_cannot_be_revoked_through_another(
    run: Run, team: Team, owner: User, stranger: User, other_team: Team
) -> None:
    link, _ = make_link(run, owner)
    mine = finished_run(team, owner)
    theirs = finished_run(other_team, stranger)
    client = client_for(owner)
    assert client.post(reverse("sharing:revoke", args=[mine.id, link.id])).status_code == 404
    assert client.post(reverse("sharing:revoke", args=[theirs.id, link.id])).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


# The shared page ------------------------------------------------------------------------


def test_a_token_opens_its_own_run_only(run: Run, team: Team, owner: User) -> None:
    other = finished_run(
        team,
        owner,
        run={"url": "https://eu.market-api.kaiko.io/v2/other", "host": "eu.market-api.kaiko.io"},
        response_body='{"result": "run B"}',
    )
    _, token_a = make_link(run, owner)
    _, token_b = make_link(other, owner)
    page_a = client_for(None).get(share_url(token_a)).content.decode()
    page_b = client_for(None).get(share_url(token_b)).content.decode()
    assert "us.market-api.kaiko.io" in page_a and "eu.market-api.kaiko.io" not in page_a
    assert "run B" in page_b and "run B" not in page_a
    assert "Authentication failed" in page_a


def test_the_shared_page_shows_the_diagnosis_and_never_the_key(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)
    response = client_for(None).get(share_url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "You are not authenticated properly" in page
    assert reverse("diagnosis:playbook", args=["reauthenticate"]) in page
    assert '<meta property="og:title" content="401 · Authentication failed · us.market-api' in page
    assert '<meta name="twitter:card" content="summary">' in page
    assert response.context["shared"].curl.variables == ["API_KEY"]
    for form in (KEY, base64.b64encode(KEY.encode()).decode(), "tok-999999", "abc123"):
        assert form not in page, form
    note = response.context["shared"].redacted
    assert "the API key (header X-Api-Key)" in note
    assert "response header Set-Cookie" in note
    assert "response body key access_token" in note
    assert any(line.endswith("in the response body") for line in note)
    assert "[redacted]" in page


def test_it_counts_views(run: Run, owner: User) -> None:
    link, token = make_link(run, owner)
    client = client_for(None)
    client.get(share_url(token))
    client.get(share_url(token))
    link.refresh_from_db()
    assert link.view_count == 2
    assert link.last_viewed_at is not None


def test_it_answers_the_same_404_for_every_link_that_does_not_open_a_run(
    run: Run, owner: User, stranger: User
) -> None:
    expired, expired_token = make_link(run, owner)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_token = make_link(run, owner)
    services.revoke_link(link=revoked)
    _, team_token = make_link(run, owner, visibility="team")
    tokens = ["A" * 43, "short", "bad*shape!" * 5, expired_token, revoked_token]
    responses = [client_for(None).get(share_url(token)) for token in tokens]
    responses.append(client_for(stranger).get(share_url(team_token)))
    assert {response.status_code for response in responses} == {404}
    assert len({without_per_request_values(response) for response in responses[:-1]}) == 1
    # A signed-in stranger gets the same page body, bar the header for signed-in people.
    assert "This link does not open anything" in responses[-1].content.decode()
    for response in responses:
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
    assert ShareLink.objects.filter(view_count__gt=0).count() == 0


def test_team_only_links_ask_anonymous_people_to_sign_in(run: Run, owner: User) -> None:
    _, token = make_link(run, owner, visibility="team", lifetime=None)
    response = client_for(None).get(share_url(token))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert response["Referrer-Policy"] == "no-referrer"


def test_team_only_links_open_for_teammates_and_not_for_strangers(
    run: Run, owner: User, teammate: User, stranger: User
) -> None:
    link, token = make_link(run, owner, visibility="team", lifetime=None)
    assert client_for(teammate).get(share_url(token)).status_code == 200
    assert client_for(stranger).get(share_url(token)).status_code == 404
    link.refresh_from_db()
    assert link.view_count == 1
    with pytest.raises(selectors.SignInRequired):
        selectors.get_viewable_link(token=token, user=AnonymousUser())


def test_the_shared_page_is_private_unindexed_and_sends_no_referrer(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)
    response = client_for(None).get(share_url(token))
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response
    assert client_for(None).post(share_url(token)).status_code == 405


@override_settings(RATELIMIT_SHARE_VIEW="3/d")
def test_the_shared_page_is_rate_limited_per_address(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)
    client = client_for(None)
    statuses = [client.get(share_url(token)).status_code for _ in range(3)]
    statuses += [client.get(share_url("A" * 43)).status_code]
    limited = client.get(share_url(token))
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert "Too many shared pages" in limited.content.decode()
    assert limited["Referrer-Policy"] == "no-referrer"
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    assert other_address.get(share_url(token)).status_code == 200


# The team log ---------------------------------------------------------------------------


def test_shared_run_ids_lists_runs_with_a_working_link_of_the_team_only(
    run: Run, team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    revoked_run = finished_run(team, owner)
    expired_run = finished_run(team, owner)
    plain_run = finished_run(team, owner)
    theirs = finished_run(other_team, stranger)
    make_link(run, owner)
    make_link(run, owner, visibility="team", lifetime=None)
    services.revoke_link(link=make_link(revoked_run, owner)[0])
    expired, _ = make_link(expired_run, owner)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    make_link(theirs, stranger)
    ids = [run.id, revoked_run.id, expired_run.id, plain_run.id, theirs.id]
    assert selectors.shared_run_ids(team=team, run_ids=ids) == {run.id}
    assert selectors.shared_run_ids(team=other_team, run_ids=ids) == {theirs.id}


@override_settings(RATELIMIT_SHARE_VIEW="2/d")
def test_the_rate_limit_ignores_x_forwarded_for_without_trusted_proxies(
    run: Run, owner: User
) -> None:
    _, token = make_link(run, owner)
    statuses = [
        client_for(None).get(share_url(token), HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # one address, whatever the header claims


@override_settings(RATELIMIT_SHARE_VIEW="2/d", TRUSTED_PROXIES=1)
def test_the_rate_limit_counts_the_address_a_trusted_proxy_reports(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)

    def view(forwarded: str) -> int:
        proxy = Client(REMOTE_ADDR="10.0.0.1")  # every request comes from the proxy
        return proxy.get(share_url(token), HTTP_X_FORWARDED_FOR=forwarded).status_code

    # The proxy appends the client's address; what the client wrote before it is not used.
    assert [view("198.51.100.7"), view("1.2.3.4, 198.51.100.7")] == [200, 200]
    assert view("198.51.100.7") == 429
    assert view("198.51.100.8") == 200
    assert view("not-an-address") == 200  # unusable: the proxy's own address, counted apart


def test_a_run_with_a_deeply_nested_body_is_shared_with_it_as_text(team: Team, owner: User) -> None:
    """Issue 13, row 2: the share page of such a run answered 500 (RecursionError)."""
    nested = "[" * 1000 + '"KSECRET-nested-0001"' + "]" * 1000
    deep = finished_run(
        team,
        owner,
        response_status=400,
        response_body=nested,
        response_headers=[["Content-Type", "application/json"]],
    )
    Run.objects.filter(pk=deep.pk).update(
        secrets_encrypted=secrets.encrypt(secrets.RunSecrets(api_key="KSECRET-nested-0001"))
    )
    _, token = make_link(deep, owner)
    response = client_for(None).get(share_url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "[[[[" in page and "KSECRET-nested-0001" not in page


# The verdict first ------------------------------------------------------------------------


def test_the_shared_page_opens_with_the_verdict_and_what_to_do(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)
    response = client_for(None).get(share_url(token))
    page = response.content.decode()
    verdict = re.search(
        r'<section class="card verdict[^"]*"[^>]*data-testid="verdict">(.*?)</section>', page, re.S
    )
    assert verdict is not None
    block = verdict.group(1)
    # The same verdict as the run page's: status, title, one sentence, the cause and evidence.
    assert '<span class="status-code">401</span>' in block
    assert "Authentication failed" in block
    assert "us.market-api.kaiko.io answered 401" in block
    assert "The key was refused" in block and 'aria-label="Decisive evidence"' in block
    # What to do, in words, with the playbook; the verdict comes before the reasons.
    assert 'data-testid="verdict-advice"' in block
    assert "send it again with a valid API key" in block
    assert f'href="{reverse("diagnosis:playbook", args=["reauthenticate"])}"' in block
    assert page.index('data-testid="verdict"') < page.index('data-testid="why"')
    assert response.context["shared"].verdict.primary == "reauthenticate"
    # Its evidence is redacted like the rest of the page: by name and by value.
    assert KEY not in block and "[redacted]" in block


def test_the_shared_page_has_no_action_that_needs_an_account(run: Run, owner: User) -> None:
    _, token = make_link(run, owner)
    page = client_for(None).get(share_url(token)).content.decode()
    run_page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    for url in (
        reverse("runs:retry", args=[run.id]),
        reverse("runs:reauthenticate", args=[run.id]),
        reverse("saved:save_run", args=[run.id]),
        reverse("runs:new") + f"?from={run.id}",
    ):
        assert url in run_page, url  # the run page has it, the share page must not
        assert url not in page, url
    assert 'data-testid="verdict-actions"' not in page
    assert "try-fix" not in page and "<dialog" not in page
    assert str(run.id) not in page  # nothing leads back into the team's pages


@pytest.mark.parametrize(
    ("finished_ago", "advice"),
    [
        (timedelta(0), "send it again after <time"),
        (timedelta(minutes=2), "send it again: a retry can work now."),
    ],
)
def test_a_shared_429_says_when_to_send_it_again(
    team: Team, owner: User, finished_ago: timedelta, advice: str
) -> None:
    finished = finished_run(
        team,
        owner,
        response_status=429,
        response_reason="Too Many Requests",
        response_headers=[["Retry-After", "30"]],
        finished_at=timezone.now() - finished_ago,
        diagnosis={
            "code": "http.429",
            "severity": "warning",
            "title": "Too many requests",
            "profile": "http",
            "status": 429,
            "retryable": True,
            "wait_seconds": 30,
            "playbooks": ["back-off"],
        },
    )
    _, token = make_link(finished, owner)
    response = client_for(None).get(share_url(token))
    page = response.content.decode()
    # Past the server's wait, the advice is to retry now (as on the run page).
    assert advice in page
    assert reverse("diagnosis:playbook", args=["back-off"]) in page
    assert reverse("runs:retry", args=[finished.id]) not in page


def test_a_shared_success_has_a_verdict_and_nothing_to_do(team: Team, owner: User) -> None:
    finished = finished_run(team, owner)
    _, token = make_link(finished, owner)
    response = client_for(None).get(share_url(token))
    page = response.content.decode()
    assert 'data-testid="verdict"' in page
    assert response.context["shared"].advice is None
    assert 'data-testid="verdict-advice"' not in page


def test_a_shared_run_with_a_fix_says_the_change_in_words(team: Team, owner: User) -> None:
    key = "KSECRET-in-query-0001"
    finished = finished_run(
        team,
        owner,
        run={"secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key=key))},
        response_status=401,
        response_reason="Unauthorized",
        diagnosis={
            "code": "kaiko.401.key_in_query",
            "severity": "error",
            "title": "Authentication failed",
            "profile": "kaiko",
            "status": 401,
            "causes": [
                {
                    "code": "kaiko.401.key_in_query",
                    "title": f"The key {key} was sent in the query string",
                    "fix": {
                        "kind": "move_key_to_header",
                        "summary": "Move the key from the query parameter `api_key` "
                        "to `X-Api-Key`.",
                        "changes": {"param": "api_key", "header": "X-Api-Key"},
                    },
                    "playbooks": ["reauthenticate"],
                }
            ],
            "playbooks": ["reauthenticate"],
        },
    )
    _, token = make_link(finished, owner)
    page = client_for(None).get(share_url(token)).content.decode()
    advice = page[page.index('data-testid="verdict-advice"') :]
    assert "Move the key from the query parameter <code>api_key</code>" in advice
    assert key not in page
    assert "try-fix" not in page


@pytest.mark.parametrize("recorded", [True, False])
def test_a_run_submitted_as_recorded_says_so_on_its_page_and_its_share_page(
    team: Team, owner: User, recorded: bool
) -> None:
    """POST /api/v1/diagnose stores the caller's own exchange: its pages must not say the
    dashboard sent it."""
    run = finished_run(team, owner, run={"recorded": recorded}, response_status=401)
    _, token = make_link(run, owner)
    pages = {
        "run page": client_for(owner).get(reverse("runs:detail", args=[run.id])),
        "share page": client_for(None).get(share_url(token)),
    }
    for place, response in pages.items():
        assert response.status_code == 200, place
        page = response.content.decode()
        assert ('data-testid="recorded"' in page) is recorded, place
        assert ("the dashboard sent nothing" in page) is recorded, place
    assert (">Sent <time" in pages["share page"].content.decode()) is not recorded
