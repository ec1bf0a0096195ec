"""The sandbox: a Kaiko-compatible demo upstream served under /sandbox/.

The API views are thin: they read the request, call the pure rules in ``rules.py`` in the
order a real API checks them, and turn a ``Refusal`` into Kaiko's error envelope. The
order (documented on the page too):

 0. ``X-Sandbox-Scenario`` malformed → 400 naming the header; ``slow=N`` waits N seconds
 1. maintenance (global switch or scenario) → 503 + Retry-After: the host is offline
 2. no such route → 404
 3. method not GET/HEAD → 405 + Allow
 4. Accept admits no JSON → 406
 5. scenario ``fault`` → 500, scenario ``ratelimit`` → 429 + Retry-After
 6. key missing or unknown → 401
 7. entitlement: key without any instrument → 401 (Kaiko's message), outside it → 403
 8. unknown exchange, instrument class or instrument → 404
 9. bad parameter → 400 naming it
10. per-key rate limit → 429 + Retry-After
11. 200
"""

import logging
from datetime import UTC, datetime
from time import sleep

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from apps.sandbox import docs as sandbox_docs
from apps.sandbox import rules, state
from apps.sandbox.forms import MaintenanceForm
from apps.sandbox.keys import API_KEY_HEADER, SCENARIO_HEADER

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def _error_response(refusal: rules.Refusal) -> JsonResponse:
    response = JsonResponse(rules.error_body(refusal.message), status=refusal.status)
    for name, value in refusal.headers.items():
        response[name] = value
    return response


def _start_scenario(request: HttpRequest) -> rules.Scenario:
    scenario = rules.parse_scenario(request.headers.get(SCENARIO_HEADER))
    if scenario.delay_seconds:
        sleep(scenario.delay_seconds)
    return scenario


def _query_params(request: HttpRequest) -> dict[str, str]:
    """The query string, one value per name (the last, as Django's QueryDict gives it)."""
    try:
        return request.GET.dict()
    except TooManyFieldsSent:
        raise rules.Refusal(
            400, f"{rules.MESSAGE_BAD_REQUEST} -- too many query parameters."
        ) from None


def _check_protocol(request: HttpRequest, scenario: rules.Scenario) -> None:
    rules.check_method(request.method or "")
    rules.check_accept(request.headers.get("Accept"))
    forced = rules.scenario_refusal(scenario)
    if forced is not None:
        raise forced


def _answer_market_data(request: HttpRequest, region: str, api_path: str) -> JsonResponse:
    scenario = _start_scenario(request)
    if scenario.outcome == "maintenance":
        raise rules.maintenance_refusal(scenario.retry_after)
    if state.maintenance_since() is not None:
        raise rules.maintenance_refusal()
    route = rules.parse_market_path(region, api_path)
    if route is None:
        raise rules.Refusal(404, rules.MESSAGE_NOT_FOUND)
    _check_protocol(request, scenario)
    plan = rules.authenticate(request.headers.get(API_KEY_HEADER))
    rules.check_entitlement(plan, route.instrument)
    instrument = rules.find_route_instrument(route)
    query = rules.parse_query(route, _query_params(request))
    now = utc_now()
    retry_after = state.count_request(plan=plan, now_seconds=now.timestamp())
    if retry_after is not None:
        raise rules.rate_limit_refusal(retry_after)
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
    return JsonResponse(body)


@csrf_exempt
def market_data(request: HttpRequest, region: str, api_path: str) -> JsonResponse:
    """``/sandbox/{us|eu}/...``: the market-data hosts."""
    try:
        return _answer_market_data(request, region, api_path)
    except rules.Refusal as refusal:
        return _error_response(refusal)


@csrf_exempt
def reference_data(request: HttpRequest, api_path: str) -> JsonResponse:
    """``/sandbox/reference/v1/...``: the reference-data host. No key; no global maintenance."""
    try:
        scenario = _start_scenario(request)
        if scenario.outcome == "maintenance":
            raise rules.maintenance_refusal(scenario.retry_after)
        resource = rules.parse_reference_path(api_path)
        if resource is None:
            raise rules.Refusal(404, rules.MESSAGE_NOT_FOUND)
        _check_protocol(request, scenario)
        return JsonResponse(rules.reference_body(resource, rules.to_ms(utc_now())))
    except rules.Refusal as refusal:
        return _error_response(refusal)


@csrf_exempt
def not_found(request: HttpRequest, api_path: str) -> JsonResponse:
    """Anything else under /sandbox/: JSON, like the rest of the API."""
    return _error_response(rules.Refusal(404, rules.MESSAGE_NOT_FOUND))


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    root = request.build_absolute_uri(reverse("sandbox:docs"))
    since = state.maintenance_since()
    context = {
        "root": root,
        "base_us": f"{root}us",
        "base_eu": f"{root}eu",
        "base_reference": f"{root}reference",
        "api_key_header": API_KEY_HEADER,
        "scenario_header": SCENARIO_HEADER,
        "keys": sandbox_docs.key_rows(),
        "endpoints": sandbox_docs.endpoints(root),
        "examples": sandbox_docs.examples(root),
        "market_prefix": sandbox_docs.MARKET_PREFIX,
        "recipes": sandbox_docs.recipes(root),
        "limits": {
            "max_page_size": rules.MAX_PAGE_SIZE,
            "max_items_per_page": rules.MAX_ITEMS_PER_PAGE,
            "default_page_size": rules.DEFAULT_PAGE_SIZE,
            "max_slow_seconds": rules.MAX_SLOW_SECONDS,
            "maintenance_retry_after": rules.MAINTENANCE_RETRY_AFTER,
            "ratelimit_retry_after": rules.SCENARIO_RATELIMIT_RETRY_AFTER,
        },
        "messages_": {
            "maintenance": rules.MESSAGE_MAINTENANCE,
            "fault": rules.MESSAGE_FAULT,
            "rate_limited": rules.MESSAGE_RATE_LIMITED,
        },
        "maintenance_on": since is not None,
        "maintenance_since": since,
    }
    return render(request, "sandbox/docs.html", context)


@login_required
@require_POST
def maintenance_switch(request: HttpRequest) -> HttpResponse:
    form = MaintenanceForm(request.POST)
    if form.is_valid():
        on = form.cleaned_data["state"] == "on"
        state.set_maintenance(on=on, now=utc_now())
        logger.info("sandbox maintenance switched %s by %s", "on" if on else "off", request.user)
        if on:
            messages.success(request, "Maintenance is on: market-data endpoints answer 503.")
        else:
            messages.success(request, "Maintenance is off: market-data endpoints answer again.")
    else:
        messages.error(request, "Choose whether maintenance should be on or off.")
    return redirect(f"{reverse('sandbox:docs')}#maintenance")
