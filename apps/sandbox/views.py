"""The sandbox: a Kaiko-compatible demo upstream served under /sandbox/.

The API views are thin: they read the request, call the pure rules in ``rules.py`` in the
order a real API checks them, and turn a ``Refusal`` into Kaiko's error envelope (or, for
a ``RawRefusal``, the body it holds). The order (documented on the page too):

 0. ``X-Sandbox-Scenario`` malformed → 400 naming the header; ``slow=N`` waits N seconds
 1. in front of the API: scenario ``maintenance`` → 503 + Retry-After, ``gateway`` → 502
    HTML, ``gateway-timeout`` → 504 HTML, ``fail-first=N:STATUS`` → STATUS for the first N
    requests of the sequence; then the maintenance switch → 503 + Retry-After
 2. no such route → 404
 3. method not GET/HEAD → 405 + Allow
 4. Accept admits no JSON → 406
 5. scenario ``fault`` → 500, ``ratelimit`` → 429, ``problem`` → 400 problem+json,
    ``plain`` → 500 text/plain
 6. key missing or unknown → 401
 7. entitlement: key without any instrument → 401 (Kaiko's message), outside it → 403
 8. unknown exchange, instrument class or instrument → 404
 9. bad parameter → 400 naming it
10. time range before the key's access range → 403 with the ``access`` block
11. per-key rate limit → 429 + Retry-After + RateLimit-Policy / RateLimit
12. 200 + RateLimit-Policy / RateLimit (``drip=N`` streams the body over N seconds)

``/sandbox/echo`` and ``/sandbox/redirect/...`` answer any method and take no scenario;
neither do the oversize answers (``large``, ``bomb``, ``gzip-padding``, ``layers``), which
stream bodies built lazily by ``oversize.py``.
"""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from time import sleep

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from apps.accounts.selectors import current_team
from apps.sandbox import docs as sandbox_docs
from apps.sandbox import oversize, rules, state
from apps.sandbox.forms import MaintenanceForm
from apps.sandbox.keys import (
    API_KEY_HEADER,
    BURST_KEY,
    LIMITED_KEY,
    SCENARIO_HEADER,
    KeyPlan,
)

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


SCOPE_ATTRIBUTE = "sandbox_scope"


def scope_of(request: HttpRequest) -> str:
    """The team scope the request came in under (``/sandbox/t/<scope>/...``), or ""."""
    return str(getattr(request, SCOPE_ATTRIBUTE, ""))


def _error_response(refusal: rules.Refusal) -> HttpResponse:
    response: HttpResponse
    if isinstance(refusal, rules.RawRefusal):
        response = HttpResponse(
            refusal.text, content_type=refusal.content_type, status=refusal.status
        )
    else:
        response = JsonResponse(rules.refusal_body(refusal), status=refusal.status)
    for name, value in refusal.headers.items():
        response[name] = value
    return response


def _start_scenario(request: HttpRequest) -> rules.Scenario:
    scenario = rules.parse_scenario(request.headers.get(SCENARIO_HEADER))
    if scenario.delay_seconds:
        sleep(scenario.delay_seconds)
    return scenario


def _check_front(
    request: HttpRequest,
    scenario: rules.Scenario,
    *,
    plan: KeyPlan | None,
    now: datetime,
    scope: str,
) -> None:
    """Step 1, the scenarios in front of the API (the maintenance switch is the caller's)."""
    forced = rules.front_refusal(scenario)
    if forced is None and scenario.fail_first is not None:
        counter = rules.fail_first_counter(
            request.headers.get(SCENARIO_HEADER, ""),
            request.headers.get(API_KEY_HEADER),
            request.path,
        )
        forced = rules.fail_first_refusal(
            scenario.fail_first,
            state.count_attempt(counter, scope=scope),
            now_seconds=now.timestamp(),
            plan=plan,
        )
    if forced is not None:
        raise forced


def _query_params(request: HttpRequest) -> dict[str, str]:
    """The query string, one value per name (the last, as Django's QueryDict gives it)."""
    try:
        return request.GET.dict()
    except TooManyFieldsSent:
        raise rules.Refusal(
            400, f"{rules.MESSAGE_BAD_REQUEST} -- too many query parameters."
        ) from None


def _check_protocol(
    request: HttpRequest, scenario: rules.Scenario, *, plan: KeyPlan | None, now: datetime
) -> None:
    rules.check_method(request.method or "")
    rules.check_accept(request.headers.get("Accept"))
    forced = rules.scenario_refusal(
        scenario,
        now_seconds=now.timestamp(),
        plan=plan,
        problem_type=request.build_absolute_uri(reverse("sandbox:docs")) + "#problem",
        instance=request.path,
    )
    if forced is not None:
        raise forced


def _dripped(chunks: list[bytes]) -> Iterator[bytes]:
    for index, chunk in enumerate(chunks):
        if index:
            sleep(1)
        yield chunk


def _deliver(
    request: HttpRequest, response: HttpResponse, scenario: rules.Scenario
) -> HttpResponseBase:
    """The 200 as it is, or streamed over ``drip`` seconds (same headers, Content-Length
    set, so a client can tell a cut body from a whole one)."""
    if not scenario.drip_seconds or request.method == "HEAD":
        return response
    body = response.content
    streaming = StreamingHttpResponse(
        _dripped(rules.drip_chunks(body, scenario.drip_seconds)), status=response.status_code
    )
    for name, value in response.items():
        streaming[name] = value
    streaming["Content-Length"] = str(len(body))
    return streaming


def _answer_market_data(
    request: HttpRequest, region: str, api_path: str, scope: str
) -> HttpResponseBase:
    scenario = _start_scenario(request)
    api_key = request.headers.get(API_KEY_HEADER)
    known_plan = rules.known_plan(api_key)
    now = utc_now()
    _check_front(request, scenario, plan=known_plan, now=now, scope=scope)
    if state.maintenance_since(scope=scope) is not None:
        raise rules.maintenance_refusal()
    route = rules.parse_market_path(region, api_path)
    if route is None:
        raise rules.Refusal(404, rules.MESSAGE_NOT_FOUND)
    _check_protocol(request, scenario, plan=known_plan, now=now)
    plan = rules.authenticate(api_key)
    rules.check_entitlement(plan, route.instrument)
    instrument = rules.find_route_instrument(route)
    query = rules.parse_query(route, _query_params(request))
    rules.check_access_range(plan, query)
    standing = state.count_request(plan=plan, now_seconds=now.timestamp(), scope=scope)
    if standing.exceeded:
        raise rules.rate_limit_refusal(
            standing.reset_seconds, now_seconds=now.timestamp(), plan=plan
        )
    now_ms = rules.to_ms(now)
    page = rules.market_page(route, instrument, plan, query, now_ms)
    body = rules.market_body(
        route=route,
        query=query,
        page=page,
        plan=plan,
        now_ms=now_ms,
        endpoint_url=request.build_absolute_uri(request.path),
    )
    response = JsonResponse(body)
    headers = rules.rate_limit_headers(
        plan, remaining=standing.remaining, reset_seconds=standing.reset_seconds
    )
    for name, value in headers.items():
        response[name] = value
    return _deliver(request, response, scenario)


@csrf_exempt
def market_data(request: HttpRequest, region: str, api_path: str) -> HttpResponseBase:
    """``/sandbox/{us|eu}/...``: the market-data hosts."""
    try:
        return _answer_market_data(request, region, api_path, scope_of(request))
    except rules.Refusal as refusal:
        return _error_response(refusal)


@csrf_exempt
def reference_data(request: HttpRequest, api_path: str) -> HttpResponseBase:
    """``/sandbox/reference/v1/...``: the reference-data host. No key; no global maintenance."""
    try:
        scenario = _start_scenario(request)
        now = utc_now()
        _check_front(request, scenario, plan=None, now=now, scope=scope_of(request))
        resource = rules.parse_reference_path(api_path)
        if resource is None:
            raise rules.Refusal(404, rules.MESSAGE_NOT_FOUND)
        _check_protocol(request, scenario, plan=None, now=now)
        response = JsonResponse(rules.reference_body(resource, rules.to_ms(now)))
        return _deliver(request, response, scenario)
    except rules.Refusal as refusal:
        return _error_response(refusal)


@csrf_exempt
def echo(request: HttpRequest) -> JsonResponse:
    """``/sandbox/echo``: any method, no key, no scenario; always 200 with the request."""
    # Read from the stream, not request.body: a body over Django's upload limit must be
    # echoed (cut), not refused. The server drains what is left unread.
    body = request.read(rules.ECHO_BODY_CAP + 1)
    answer = rules.echo_body(
        method=request.method or "",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=request.headers,
        body=body,
        api_key=request.headers.get(API_KEY_HEADER),
        own_cookies=frozenset({settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}),
    )
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


def _redirect_to(request: HttpRequest, target_path: str) -> HttpResponseRedirect:
    location = rules.redirect_location(target_path, request.META.get("QUERY_STRING", ""))
    return HttpResponseRedirect(location)


@csrf_exempt
def redirect_chain(request: HttpRequest, hops: int) -> HttpResponseBase:
    """``/sandbox/redirect/<n>`` → 302 to ``<n-1>``; ``0`` → 302 to the echo. Any method."""
    try:
        rules.check_redirect_hops(hops)
    except rules.Refusal as refusal:
        return _error_response(refusal)
    if hops == 0:
        return _redirect_to(request, reverse("sandbox:echo"))
    return _redirect_to(request, reverse("sandbox:redirect", args=[hops - 1]))


@csrf_exempt
def redirect_loop(request: HttpRequest) -> HttpResponseRedirect:
    """``/sandbox/redirect-loop`` → 302 to itself, for ever."""
    return _redirect_to(request, reverse("sandbox:redirect_loop"))


def _whole_number(request: HttpRequest, name: str, *, default: int, maximum: int) -> int:
    try:
        value = request.GET.get(name)
    except TooManyFieldsSent:
        value = ""
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise rules.Refusal(
            400,
            f"{rules.MESSAGE_BAD_REQUEST} -- {name} must be a whole number from 1 to {maximum}.",
        )
    return int(value)


def _streamed(body: oversize.Body, *, content_encoding: str = "") -> StreamingHttpResponse:
    response = StreamingHttpResponse(body.chunks, content_type="application/json")
    response["Content-Length"] = str(body.length)
    if content_encoding:
        response["Content-Encoding"] = content_encoding
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def large(request: HttpRequest) -> HttpResponseBase:
    """``/sandbox/large?mb=N``: 200 with exactly N MiB of JSON, streamed. Any method."""
    try:
        mib = _whole_number(
            request,
            "mb",
            default=min(oversize.DEFAULT_LARGE_MIB, settings.SANDBOX_MAX_MIB),
            maximum=settings.SANDBOX_MAX_MIB,
        )
    except rules.Refusal as refusal:
        return _error_response(refusal)
    return _streamed(oversize.large_body(mib))


@csrf_exempt
def bomb(request: HttpRequest) -> HttpResponseBase:
    """``/sandbox/bomb?mb=N``: 200, gzip that decodes to N MiB (about 1 KiB a MiB)."""
    try:
        mib = _whole_number(
            request,
            "mb",
            default=min(oversize.DEFAULT_BOMB_MIB, settings.SANDBOX_MAX_MIB),
            maximum=settings.SANDBOX_MAX_MIB,
        )
    except rules.Refusal as refusal:
        return _error_response(refusal)
    return _streamed(oversize.gzip_bomb(mib), content_encoding="gzip")


@csrf_exempt
def gzip_padding(request: HttpRequest) -> HttpResponseBase:
    """``/sandbox/gzip-padding?mb=N``: 200, about N MiB of gzip that decodes to a few bytes."""
    try:
        mib = _whole_number(
            request,
            "mb",
            default=min(oversize.DEFAULT_PADDING_MIB, settings.SANDBOX_MAX_MIB),
            maximum=settings.SANDBOX_MAX_MIB,
        )
    except rules.Refusal as refusal:
        return _error_response(refusal)
    return _streamed(oversize.gzip_padding(mib), content_encoding="gzip")


@csrf_exempt
def layers(request: HttpRequest) -> HttpResponseBase:
    """``/sandbox/layers?n=N``: 200, a small JSON body gzipped N times (default 3)."""
    try:
        count = _whole_number(
            request, "n", default=oversize.DEFAULT_LAYERS, maximum=oversize.MAX_LAYERS
        )
    except rules.Refusal as refusal:
        return _error_response(refusal)
    document = JsonResponse(
        {"result": "success", "data": [], "note": f"gzipped {count} times over"}
    ).content
    body, encoding = oversize.layered(count, document)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Encoding"] = encoding
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def not_found(request: HttpRequest, api_path: str) -> HttpResponse:
    """Anything else under /sandbox/: JSON, like the rest of the API."""
    return _error_response(rules.Refusal(404, rules.MESSAGE_NOT_FOUND))


def _shown_ca_file() -> str:
    """The TLS sandbox's CA file as a command run from the project would name it."""
    ca_file = settings.SANDBOX_TLS_DIR / "ca.pem"
    try:
        return str(ca_file.relative_to(settings.BASE_DIR))
    except ValueError:
        return "$VAR_DIR/sandbox-tls/ca.pem"  # not the server's own path, on a public page


def sandbox_root(request: HttpRequest) -> str:
    """The absolute URL of the sandbox as the current team reaches it (with its own state),
    ending in a slash; the shared one without a team."""
    root = request.build_absolute_uri(reverse("sandbox:docs"))
    team = current_team(request) if request.user.is_authenticated else None
    return f"{root}t/{state.team_scope(team.id)}/" if team is not None else root


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    team = current_team(request) if request.user.is_authenticated else None
    root = sandbox_root(request)
    since = state.maintenance_since(scope=state.team_scope(team.id) if team else "")
    ca_file = _shown_ca_file()
    tls_ports = settings.SANDBOX_TLS_PORTS
    context = {
        "root": root,
        "base_us": f"{root}us",
        "base_eu": f"{root}eu",
        "base_reference": f"{root}reference",
        "api_key_header": API_KEY_HEADER,
        "scenario_header": SCENARIO_HEADER,
        "limited_key": LIMITED_KEY,
        "burst_key": BURST_KEY,
        "limited_access_start": sandbox_docs.access_start(LIMITED_KEY),
        "keys": sandbox_docs.key_rows(),
        "endpoints": sandbox_docs.endpoints(root),
        "examples": sandbox_docs.examples(root),
        "market_prefix": sandbox_docs.MARKET_PREFIX,
        "recipes": sandbox_docs.recipes(root, tls_ports=tls_ports, ca_file=ca_file),
        "tls_rows": sandbox_docs.tls_rows(root, tls_ports),
        "tls_ca_file": ca_file,
        "tls_first_port": min(tls_ports.values()),
        "large_url": request.build_absolute_uri(reverse("sandbox:large")),
        "bomb_url": request.build_absolute_uri(reverse("sandbox:bomb")),
        "gzip_padding_url": request.build_absolute_uri(reverse("sandbox:gzip_padding")),
        "layers_url": request.build_absolute_uri(reverse("sandbox:layers")),
        "answers": sandbox_docs.example_answers(root),
        "echo_url": request.build_absolute_uri(reverse("sandbox:echo")),
        "redirect_url": request.build_absolute_uri(reverse("sandbox:redirect", args=[3])),
        "redirect_loop_url": request.build_absolute_uri(reverse("sandbox:redirect_loop")),
        "limits": {
            "max_page_size": rules.MAX_PAGE_SIZE,
            "max_items_per_page": rules.MAX_ITEMS_PER_PAGE,
            "default_page_size": rules.DEFAULT_PAGE_SIZE,
            "max_slow_seconds": rules.MAX_SLOW_SECONDS,
            "max_drip_seconds": rules.MAX_DRIP_SECONDS,
            "maintenance_retry_after": rules.MAINTENANCE_RETRY_AFTER,
            "ratelimit_retry_after": rules.SCENARIO_RATELIMIT_RETRY_AFTER,
            "max_fail_first": rules.MAX_FAIL_FIRST,
            "fail_first_statuses": ", ".join(map(str, rules.FAIL_FIRST_STATUSES)),
            "fail_first_retry_after": rules.FAIL_FIRST_RETRY_AFTER,
            "fail_first_minutes": rules.FAIL_FIRST_TTL_SECONDS // 60,
            "echo_cap_kib": rules.ECHO_BODY_CAP // 1024,
            "max_redirect_hops": rules.MAX_REDIRECT_HOPS,
            "max_redirect_query_length": rules.MAX_REDIRECT_QUERY_LENGTH,
            "default_plan_key": rules.DEFAULT_PLAN.key,
            "max_mib": settings.SANDBOX_MAX_MIB,
            "default_large_mib": oversize.DEFAULT_LARGE_MIB,
            "default_bomb_mib": oversize.DEFAULT_BOMB_MIB,
            "default_padding_mib": oversize.DEFAULT_PADDING_MIB,
            "default_layers": oversize.DEFAULT_LAYERS,
            "max_layers": oversize.MAX_LAYERS,
            "body_cap_kib": settings.EGRESS_MAX_BODY_BYTES // 1024,
        },
        "messages_": {
            "maintenance": rules.MESSAGE_MAINTENANCE,
            "fault": rules.MESSAGE_FAULT,
            "rate_limited": rules.MESSAGE_RATE_LIMITED,
            "outside_access_range": rules.MESSAGE_OUTSIDE_ACCESS_RANGE,
        },
        "maintenance_on": since is not None,
        "maintenance_since": since,
        "team": team,
    }
    return render(request, "sandbox/docs.html", context)


@login_required
@require_POST
def maintenance_switch(request: HttpRequest) -> HttpResponse:
    """The current team's maintenance switch: its sandbox URLs answer 503 while it is on."""
    team = current_team(request)
    form = MaintenanceForm(request.POST)
    if team is None:
        messages.error(request, "Join a team first: the switch belongs to a team's sandbox.")
    elif form.is_valid():
        on = form.cleaned_data["state"] == "on"
        state.set_maintenance(on=on, now=utc_now(), scope=state.team_scope(team.id))
        logger.info(
            "sandbox maintenance of team %s switched %s by user %s",
            team.id,
            "on" if on else "off",
            request.user.pk,
        )
        if on:
            messages.success(request, "Maintenance is on: market-data endpoints answer 503.")
        else:
            messages.success(request, "Maintenance is off: market-data endpoints answer again.")
    else:
        messages.error(request, "Choose whether maintenance should be on or off.")
    return redirect(f"{reverse('sandbox:docs')}#maintenance")
