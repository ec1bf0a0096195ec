"""The JSON API at /api/v1/: thin endpoints over the same services and selectors as the
pages (runs, the team log and its exports, share links), with personal API tokens.

Errors are RFC 9457 problem details (application/problem+json) naming each field; another
team's objects answer 404; a token acts for one user in one team. The OpenAPI 3.1 document
is generated from these functions and the pydantic shapes in `schemas`.
"""

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.csp import csp_override
from ninja import NinjaAPI, Query, Status, Swagger
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from apps.accounts.models import Team
from apps.accounts.selectors import members_of
from apps.api import presenters
from apps.api.auth import NotAuthenticated, RateLimited, TokenAuth, check_rate
from apps.api.models import ApiToken
from apps.api.schemas import (
    CollectionOut,
    CollectionRunIn,
    CollectionRunOut,
    CreatedShareLinkOut,
    CurlIn,
    DiagnoseIn,
    FieldError,
    LogPageOut,
    MeOut,
    Pair,
    Problem,
    ReauthenticateIn,
    RunIn,
    RunOut,
    SavedOut,
    SavedRunIn,
    SaveRunIn,
    ShareLinkIn,
    ShareLinkOut,
    TrendsOut,
    TryFixIn,
)
from apps.diagnosis.lookups import get_profile
from apps.egress.types import Failure, Response
from apps.library import selectors as library_selectors
from apps.library import services as library_services
from apps.library.importers.curl import CurlError, parse_curl
from apps.library.importers.raw_http import RawHttpError, looks_like_raw_http, parse_raw_http
from apps.library.models import CollectionRun
from apps.runs import exports, selectors, services
from apps.runs.filters import Cursor, parse_filters
from apps.runs.forms import MAX_BODY_CHARS, ReauthenticateForm, RunForm
from apps.runs.models import Attempt, Run
from apps.runs.recorded import (
    Recorded,
    RecordedInvalid,
    check_request,
    record_exchange,
    recorded_from_har_entry,
)
from apps.runs.trends import team_trends
from apps.sharing import selectors as sharing_selectors
from apps.sharing import services as sharing_services
from apps.sharing.forms import ShareLinkForm
from apps.sharing.selectors import shared_run_ids
from apps.vault.services import VaultRefused, submit_with_vault

logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 30
WAIT_POLL_SECONDS = 0.2
MAX_LOG_PAGE = 200
PROBLEM_TYPE = "application/problem+json"


class Problematic(Exception):
    """An answer that is an RFC 9457 problem; `errors` name the fields at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Iterable[tuple[str, str]] = (),
        title: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})


def problem_response(problem: Problematic) -> HttpResponse:
    body = Problem(
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        errors=[FieldError(field=field, message=message) for field, message in problem.errors],
    )
    response = HttpResponse(
        body.model_dump_json(), status=problem.status, content_type=PROBLEM_TYPE
    )
    for name, value in problem.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


class JSONBody(Parser):
    """JSON bodies as UTF-8 text only: a string with a lone surrogate ("\\ud800", which JSON
    can escape but no text holds) is refused here, not when the database cannot store it."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            # django-ninja answers 400 "Cannot parse request body" (a problem, see below).
            raise ValueError("a string in the body is not valid text (a lone surrogate)") from None
        return data


class DashboardAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Error answers are documented as application/problem+json, as they are sent."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                # Status codes as strings, as JSON has them: an answer documented in
                # `openapi_extra` ("200") replaces the generated one (200).
                answers = operation.get("responses", {})
                merged = {str(code): answers[code] for code in answers if isinstance(code, int)}
                merged.update({code: answers[code] for code in answers if isinstance(code, str)})
                operation["responses"] = merged
                for code, answer in merged.items():
                    content = answer.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        content[PROBLEM_TYPE] = content.pop("application/json")
        return schema


# The docs page (Swagger UI, served from django-ninja's own static files): its script sets
# style attributes, so this page alone allows inline styles.
# django-stubs types the setting as dict[str, object]; ours holds lists of sources.
site_csp = cast(Mapping[str, Collection[str] | str], settings.SECURE_CSP)
docs_csp = csp_override({**site_csp, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})

api = DashboardAPI(
    title="API diagnostics",
    version="1",
    description=(
        "Submit test requests, read their diagnosis, compare runs, page through the team "
        "log, export it, share runs and diagnose exchanges you already have; keep OpenAPI "
        "profiles, collections, saved requests, environments and vault secrets; run "
        "monitors and alert channels; see the team, its invites and your tokens: what the "
        "dashboard's pages do. Authenticate with a personal "
        "API token from the dashboard's Tokens page: `Authorization: Bearer <token>`. "
        "Errors are RFC 9457 problem details (application/problem+json) that name each "
        "field at fault. A token acts for one user in one team; anything of another team "
        "answers 404. Secrets are never returned: they are `[redacted]` wherever they would "
        "appear."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    docs=Swagger(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
    docs_decorator=docs_csp,
    parser=JSONBody(),
)

ERRORS: dict[int, type] = {400: Problem, 401: Problem, 422: Problem, 429: Problem}
RUN_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}


# Error handlers: every error is a problem ---------------------------------------------------


@api.exception_handler(Problematic)
def _problem(request: HttpRequest, exc: Problematic) -> HttpResponse:
    return problem_response(exc)


@api.exception_handler(NotAuthenticated)
def _not_authenticated(request: HttpRequest, exc: NotAuthenticated) -> HttpResponse:
    return problem_response(
        Problematic(401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    )


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return problem_response(
        Problematic(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body larger than Django reads (DATA_UPLOAD_MAX_MEMORY_SIZE): said at the body, with
    the limits, not a 500."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    message = (
        f"The request body is larger than the API reads ({limit / 1_048_576:.1f} MB, "
        f"{limit:,} bytes); a run's body is at most {MAX_BODY_CHARS // 1024} KiB "
        f"({MAX_BODY_CHARS:,} characters), and a larger file can be imported on the "
        "dashboard's page."
    )
    return problem_response(
        Problematic(413, message, errors=[("body", message)], title="Your request is too large")
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(Problematic(404, "Nothing of your token's team has this id."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(Problematic(exc.status_code, str(exc)))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Never a traceback (DEBUG or not): a problem, and the error in the log."""
    if isinstance(exc, OperationalError):
        logger.warning("API %s %s: the database cannot be reached", request.method, request.path)
        return problem_response(
            Problematic(
                503,
                "The dashboard's database cannot be reached right now; try again shortly.",
                headers={"Retry-After": "30"},
            )
        )
    logger.exception("API %s %s failed", request.method, request.path)
    return problem_response(
        Problematic(500, "The dashboard could not answer this; the error was logged.")
    )


def _location(loc: Iterable[object]) -> str:
    """A pydantic error location as a field path: ("body", "payload", "headers", 0, "name")
    → "headers[0].name"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]  # where ninja read it from
    if parts and parts[0] == "payload":
        parts = parts[1:]  # the name of the body's parameter
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        (
            _location(error.get("loc", ())),
            str(error.get("msg", "Not valid")).removeprefix("Value error, "),
        )
        for error in exc.errors
    ]
    return problem_response(
        Problematic(
            422,
            "; ".join(f"{f or 'body'}: {m}" for f, m in errors) or "The request is not valid.",
            errors=errors,
            title="Your request is not valid",
        )
    )


def _form_problem(form: Any, *, prefix: str = "") -> Problematic:
    errors: list[tuple[str, str]] = []
    for name, messages in form.errors.items():
        field = "" if name == "__all__" else f"{prefix}{name}"
        errors.extend((field, str(message)) for message in messages)
    detail = "; ".join(f"{f}: {m}" if f else m for f, m in errors)
    return Problematic(422, detail, errors=errors, title="Your request is not valid")


# Helpers ------------------------------------------------------------------------------------


def _token(request: HttpRequest) -> ApiToken:
    return request.auth  # type: ignore[attr-defined]


def _user(request: HttpRequest) -> User:
    """The token's user: `TokenAuth` signs it in before any endpoint runs."""
    return cast(User, request.user)


def _team(request: HttpRequest) -> Team:
    return _token(request).team


def _absolute(request: HttpRequest) -> presenters.Absolute:
    return request.build_absolute_uri


def _get_run_for_token(request: HttpRequest, run_id: uuid.UUID) -> Run:
    """The run if it is of the token's team (and its user is a member); Http404 otherwise."""
    run = selectors.get_run_for_user(user=_user(request), run_id=run_id)
    if run.team_id != _token(request).team_id:
        raise Http404("No such run")
    return run


def wait_for_run(run: Run, seconds: int) -> Run:
    """The run once finished, or as it is after `seconds` (at most MAX_WAIT_SECONDS)."""
    deadline = time.monotonic() + min(seconds, MAX_WAIT_SECONDS)
    while not run.is_finished and time.monotonic() < deadline:
        time.sleep(WAIT_POLL_SECONDS)
        run.refresh_from_db()
    return run


def _run_answer(
    request: HttpRequest,
    run: Run,
    *,
    wait: int = 0,
    warnings: list[str] | None = None,
    attempts: list[Attempt] | None = None,
) -> dict[str, Any]:
    if wait:
        run = wait_for_run(run, wait)
    try:
        return presenters.run_out(run, _absolute(request), warnings=warnings, attempts=attempts)
    except InvalidToken:
        raise Problematic(
            503,
            "This run's secrets cannot be decrypted (its key is no longer configured), so it "
            "cannot be checked for them and is not shown.",
        ) from None


def _limit_submissions(request: HttpRequest) -> None:
    """The same limit as the pages' submissions, counted with them, per user."""
    check_rate(request, group="submit", rate=settings.RATELIMIT_SUBMIT, key="user")


def _lines(pairs: list[Pair], separator: str, field: str) -> str:
    for index, pair in enumerate(pairs):
        if any(ch in pair.name + pair.value for ch in "\r\n"):
            raise Problematic(
                422,
                f"{field}[{index}]: line breaks cannot be sent in a {field[:-1]}.",
                errors=[(f"{field}[{index}]", "Line breaks cannot be sent here.")],
                title="Your request is not valid",
            )
    return "\n".join(f"{pair.name}{separator}{pair.value}" for pair in pairs)


def _traceparent(request: HttpRequest, asked: bool | None) -> bool:
    """Whether a submitted run sends a traceparent: as asked, else the team's setting."""
    return _team(request).send_traceparent if asked is None else asked


def _submit(request: HttpRequest, data: dict[str, Any]) -> Run:
    """Validate with the dashboard's own form and submit with its service."""
    form = RunForm(data)
    if not form.is_valid():
        raise _form_problem(form)
    _limit_submissions(request)
    return _submit_checked(request, form)


def _submit_checked(request: HttpRequest, form: RunForm) -> Run:
    """Submit a checked request; a vault secret it may not use is a 422 naming api_key."""
    try:
        return submit_with_vault(
            team=_team(request), user=_user(request), request=form.to_request()
        )
    except VaultRefused as refusal:
        raise Problematic(
            422, str(refusal), errors=[("api_key", str(refusal))], title="Your request is not valid"
        ) from None


WAIT = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="Hold the answer up to N seconds "
             "(at most 30) until the run is finished.")  # fmt: skip


# Who am I -------------------------------------------------------------------------------------


@api.get(
    "/me", tags=["Account"], response={200: MeOut, **ERRORS}, summary="The token's user and team"
)
def me(request: HttpRequest) -> dict[str, Any]:
    token = _token(request)
    return {
        "user": token.user.get_username(),
        "team": token.team.name,
        "team_id": token.team_id,
        "token": token.name,
        "expires_at": token.expires_at,
    }


# Runs -----------------------------------------------------------------------------------------


@api.post("/runs", tags=["Runs"], response={201: RunOut, **ERRORS}, summary="Submit a run")
def create_run(request: HttpRequest, payload: RunIn, wait: int = WAIT) -> Status[Any]:
    data = {
        "method": payload.method.strip().upper(),
        "url": payload.url,
        "params": _lines(payload.params, "=", "params"),
        "headers": _lines(payload.headers, ": ", "headers"),
        "body": payload.body,
        "api_key": payload.api_key,
        "timeout": settings.EGRESS_DEFAULT_TIMEOUT if payload.timeout is None else payload.timeout,
        "profile": payload.profile,
        "follow_redirects": payload.follow_redirects,
        "auto_retry": payload.auto_retry,
        "send_traceparent": _traceparent(request, payload.send_traceparent),
    }
    if not payload.env.strip():
        return Status(201, _run_answer(request, _submit(request, data), wait=wait))
    team = _team(request)
    environment = _found("env", library_selectors.find_environment, team=team, value=payload.env)
    form = RunForm(
        {**data, "environment": str(environment.pk)},
        **library_selectors.run_form_options(team=team),
    )
    if not form.is_valid():
        raise _form_problem(form)
    _limit_submissions(request)
    try:
        run = library_services.submit_in_environment(
            team=team, user=_user(request), request=form.to_request(), environment=environment
        )
    except VaultRefused as refusal:
        raise Problematic(
            422, str(refusal), errors=[("api_key", str(refusal))], title="Your request is not valid"
        ) from None
    return Status(201, _run_answer(request, run, wait=wait))


@api.post(
    "/runs/curl",
    tags=["Runs"],
    response={201: RunOut, **ERRORS},
    summary="Submit a cURL command or a raw HTTP request",
)
def create_run_from_curl(request: HttpRequest, payload: CurlIn, wait: int = WAIT) -> Status[Any]:
    """Parses the command on the server (bash, cmd and PowerShell quoting), fills the same
    fields as the form and submits it. Flags that are not used are named in `warnings`.
    A raw HTTP request (`GET /v2/x HTTP/1.1`, headers, a blank line, the body; https, its
    host from the Host header) is read too, as the new-request page's paste box reads it."""
    try:
        if looks_like_raw_http(payload.command):  # as the page's paste box reads it
            parsed = parse_raw_http(payload.command)
        else:
            parsed = parse_curl(payload.command)
    except (CurlError, RawHttpError) as error:
        raise Problematic(
            422, str(error), errors=[("command", str(error))], title="Your request is not valid"
        ) from None
    timeout = payload.timeout or parsed.timeout or settings.EGRESS_DEFAULT_TIMEOUT
    data = {
        "method": parsed.method,
        "url": parsed.url,
        "params": "",
        "headers": "\n".join(f"{name}: {value}" for name, value in parsed.headers),
        "body": parsed.body,
        "api_key": parsed.api_key or payload.api_key,
        "timeout": min(timeout, settings.EGRESS_MAX_TIMEOUT),
        "profile": payload.profile,
        "follow_redirects": parsed.follow_redirects,
        "auto_retry": payload.auto_retry,
        "send_traceparent": _traceparent(request, payload.send_traceparent),
    }
    form = RunForm(data)
    if not form.is_valid():
        raise _form_problem(form, prefix="command.")
    _limit_submissions(request)
    run = _submit_checked(request, form)
    return Status(201, _run_answer(request, run, wait=wait, warnings=parsed.warnings))


@api.get(
    "/runs/{uuid:run_id}", tags=["Runs"], response={200: RunOut, **RUN_ERRORS}, summary="A run"
)
def get_run(request: HttpRequest, run_id: uuid.UUID, wait: int = WAIT) -> dict[str, Any]:
    return _run_answer(request, _get_run_for_token(request, run_id), wait=wait)


def _action(request: HttpRequest, run_id: uuid.UUID, action: Any) -> dict[str, Any]:
    run = _get_run_for_token(request, run_id)
    _limit_submissions(request)
    try:
        action(run=run)
    except services.ActionRefused as refused:
        raise Problematic(409, str(refused)) from None
    run.refresh_from_db()
    return _run_answer(request, run)


ACTION_ERRORS = {**RUN_ERRORS, 409: Problem}


@api.post(
    "/runs/{uuid:run_id}/retry",
    tags=["Runs"],
    response={200: RunOut, **ACTION_ERRORS},
    summary="Send the same request again now",
)
def retry_run(request: HttpRequest, run_id: uuid.UUID) -> dict[str, Any]:
    return _action(request, run_id, services.retry_now)


@api.post(
    "/runs/{uuid:run_id}/retry-with-backoff",
    tags=["Runs"],
    response={200: RunOut, **ACTION_ERRORS},
    summary="Retry, waiting as the server asks or backing off",
)
def retry_run_with_backoff(request: HttpRequest, run_id: uuid.UUID) -> dict[str, Any]:
    return _action(request, run_id, services.retry_with_backoff)


@api.post(
    "/runs/{uuid:run_id}/cancel",
    tags=["Runs"],
    response={200: RunOut, **RUN_ERRORS},
    summary="Cancel the attempts that have not started",
)
def cancel_run(request: HttpRequest, run_id: uuid.UUID) -> dict[str, Any]:
    run = _get_run_for_token(request, run_id)
    services.cancel_pending(run=run)
    run.refresh_from_db()
    return _run_answer(request, run)


@api.post(
    "/runs/{uuid:run_id}/reauthenticate",
    tags=["Runs"],
    response={201: RunOut, **RUN_ERRORS},
    summary="Send the same request with a new API key, as a new run",
)
def reauthenticate_run(
    request: HttpRequest, run_id: uuid.UUID, payload: ReauthenticateIn, wait: int = WAIT
) -> Status[Any]:
    run = _get_run_for_token(request, run_id)
    form = ReauthenticateForm({"api_key": payload.api_key})
    if not form.is_valid():
        raise _form_problem(form)
    _limit_submissions(request)
    new_run = services.submit_run(
        team=run.team, user=_user(request), request=form.to_request(run), source=run
    )
    return Status(201, _run_answer(request, new_run, wait=wait))


@api.post(
    "/runs/{uuid:run_id}/try-fix",
    tags=["Runs"],
    response={201: RunOut, **ACTION_ERRORS},
    summary="Try a cause's fix: the same request with exactly that change, as a new run",
)
def try_fix(
    request: HttpRequest, run_id: uuid.UUID, payload: TryFixIn, wait: int = WAIT
) -> Status[Any]:
    """The cause's `fix` (in the run's diagnosis) made to the run's request, sent as a new
    run whose `tried_fix` says whether it proved the fix. 409 when the cause has no fix, or
    when the fix would send the request's key or credentials to another host."""
    run = _get_run_for_token(request, run_id)
    _limit_submissions(request)
    try:
        followup = services.try_fix(
            run=run, user=_token(request).user, cause_code=payload.cause, index=payload.index
        )
    except services.ActionRefused as refused:
        raise Problematic(409, str(refused)) from None
    return Status(201, _run_answer(request, followup, wait=wait))


# The team log and its exports -------------------------------------------------------------


def _filters_query(**values: str) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in values.items():
        if value:
            query[name.rstrip("_")] = value
    return query


def _filters(request: HttpRequest, query: QueryDict) -> Any:
    team = _team(request)
    members = [m.user.get_username() for m in members_of(team=team)]
    form, filters = parse_filters(query, members=members)
    if form.errors:
        raise _form_problem(form)
    return filters


FILTER_DOC = {
    "q": "Search in the URL and the diagnosis title (3 characters at least).",
    "class": "2xx, 3xx, 4xx, 5xx or network.",
    "status": "An HTTP status, e.g. 429.",
    "diagnosis": "A diagnosis code or its start: kaiko.401 also finds kaiko.401.no_key.",
    "range": "1h, 24h, 7d or 30d.",
    "since": "From (UTC), e.g. 2026-01-31T09:00.",
    "until": "To (UTC).",
}


@api.get("/runs", tags=["Team log"], response={200: LogPageOut, **ERRORS}, summary="The team log")
def list_runs(
    request: HttpRequest,
    q: str = Query("", description=FILTER_DOC["q"]),
    status_class: str = Query("", alias="class", description=FILTER_DOC["class"]),
    status: str = Query("", description=FILTER_DOC["status"]),
    diagnosis: str = Query("", description=FILTER_DOC["diagnosis"]),
    method: str = Query(""),
    host: str = Query(""),
    member: str = Query("", description="A username."),
    range_: str = Query("", alias="range", description=FILTER_DOC["range"]),
    since: str = Query("", description=FILTER_DOC["since"]),
    until: str = Query("", description=FILTER_DOC["until"]),
    before: str = Query("", description="The keyset cursor of the previous page's next_cursor."),
    limit: int = Query(50, ge=1, le=MAX_LOG_PAGE),
) -> dict[str, Any]:
    """Newest first, with the same filters and the same keyset cursor as the log page."""
    query = _filters_query(
        q=q, class_=status_class, status=status, diagnosis=diagnosis, method=method, host=host,
        member=member, range_=range_, since=since, until=until,
    )  # fmt: skip
    filters = _filters(request, query)
    cursor = Cursor.decode(before) if before else None
    if before and cursor is None:
        raise Problematic(
            422,
            "before: this is not a cursor of the log; pass a next_cursor unchanged.",
            errors=[("before", "Not a cursor of the log.")],
            title="Your request is not valid",
        )
    team = _team(request)
    page = selectors.log_page(team=team, filters=filters, cursor=cursor, size=limit)
    shared = shared_run_ids(team=team, run_ids=[run.id for run in page.runs])
    absolute = _absolute(request)
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    next_url = None
    if next_cursor:
        following = query.copy()
        following["before"] = next_cursor
        following["limit"] = str(limit)
        next_url = absolute(f"{reverse('api:list_runs')}?{following.urlencode()}")
    return {
        "runs": [
            presenters.log_run_out(run, absolute, shared=run.id in shared) for run in page.runs
        ],
        "next_cursor": next_cursor,
        "next": next_url,
    }


@api.get("/trends", tags=["Team log"], response={200: TrendsOut, **ERRORS}, summary="Trends")
def trends(
    request: HttpRequest,
    q: str = Query("", description=FILTER_DOC["q"]),
    status_class: str = Query("", alias="class", description=FILTER_DOC["class"]),
    status: str = Query("", description=FILTER_DOC["status"]),
    diagnosis: str = Query("", description=FILTER_DOC["diagnosis"]),
    method: str = Query(""),
    host: str = Query(""),
    member: str = Query("", description="A username."),
    range_: str = Query("", alias="range", description=FILTER_DOC["range"]),
    since: str = Query("", description=FILTER_DOC["since"]),
    until: str = Query("", description=FILTER_DOC["until"]),
) -> dict[str, Any]:
    """The Trends page's figures over the same filters: durations and each phase's p50/p95
    by host ("the API got slow" becomes "TLS got slow" or "first byte got slow")."""
    query = _filters_query(
        q=q, class_=status_class, status=status, diagnosis=diagnosis, method=method, host=host,
        member=member, range_=range_, since=since, until=until,
    )  # fmt: skip
    filters = _filters(request, query)
    found = team_trends(team=_team(request), filters=filters, now=timezone.now())
    return {
        "since": found.window.since,
        "until": found.window.until,
        "unit": found.window.unit,
        "runs": found.total,
        "finished": found.finished,
        "errors": found.errors,
        "durations": [dataclasses.asdict(each) for each in found.hosts],
        "phases": [
            {
                "host": each.host,
                "measured": each.measured,
                "phases": [
                    {"phase": s.phase, "p50": s.p50, "p95": s.p95, "measured": s.measured}
                    for s in each.phases
                ],
            }
            for each in found.phases
        ],
    }


EXPORTS = {
    "csv": ("text/csv", "text/csv; charset=utf-8", exports.csv_chunks, {"type": "string"}),
    "har": ("application/json", "application/json", exports.har_chunks, {"type": "object"}),
}


def _export(request: HttpRequest, extension: str, query: QueryDict) -> HttpResponseBase:
    filters = _filters(request, query)
    _, content_type, chunks, _ = EXPORTS[extension]
    team = _team(request)
    runs = selectors.filtered_runs(team=team, filters=filters)
    response = StreamingHttpResponse(
        chunks(runs, base_url=request.build_absolute_uri("/")), content_type=content_type
    )
    filename = f"{slugify(team.name) or 'team'}-runs-{timezone.now():%Y-%m-%d}.{extension}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def _export_doc(extension: str) -> dict[str, Any]:
    media_type, _, _, schema = EXPORTS[extension]
    return {
        "responses": {
            "200": {
                "description": f"The filtered runs as {extension.upper()}, streamed.",
                "content": {media_type: {"schema": schema}},
            }
        }
    }


@api.get(
    "/exports/runs.csv",
    tags=["Team log"],
    response={200: None, **ERRORS},
    openapi_extra=_export_doc("csv"),
    summary="The team log as CSV",
)
def export_csv(
    request: HttpRequest,
    q: str = "", status_class: str = Query("", alias="class"), status: str = "",
    diagnosis: str = "", method: str = "", host: str = "", member: str = "",
    range_: str = Query("", alias="range"), since: str = "", until: str = "",
) -> HttpResponseBase:  # fmt: skip
    query = _filters_query(
        q=q, class_=status_class, status=status, diagnosis=diagnosis, method=method, host=host,
        member=member, range_=range_, since=since, until=until,
    )  # fmt: skip
    return _export(request, "csv", query)


@api.get(
    "/exports/runs.har",
    tags=["Team log"],
    response={200: None, **ERRORS},
    openapi_extra=_export_doc("har"),
    summary="The team log as HAR 1.2",
)
def export_har(
    request: HttpRequest,
    q: str = "", status_class: str = Query("", alias="class"), status: str = "",
    diagnosis: str = "", method: str = "", host: str = "", member: str = "",
    range_: str = Query("", alias="range"), since: str = "", until: str = "",
) -> HttpResponseBase:  # fmt: skip
    query = _filters_query(
        q=q, class_=status_class, status=status, diagnosis=diagnosis, method=method, host=host,
        member=member, range_=range_, since=since, until=until,
    )  # fmt: skip
    return _export(request, "har", query)


# Share links ----------------------------------------------------------------------------------


@api.post(
    "/runs/{uuid:run_id}/share-links",
    tags=["Share links"],
    response={201: CreatedShareLinkOut, **RUN_ERRORS},
    summary="Make a share link (its URL is shown once)",
)
def create_share_link(request: HttpRequest, run_id: uuid.UUID, payload: ShareLinkIn) -> Status[Any]:
    run = _get_run_for_token(request, run_id)
    form = ShareLinkForm({"visibility": payload.visibility, "lifetime": payload.lifetime})
    if not form.is_valid():
        raise _form_problem(form)
    link, token = sharing_services.create_link(
        run=run,
        created_by=_user(request),
        visibility=form.cleaned_data["visibility"],
        lifetime=form.lifetime_delta(),
    )
    link.created_by = _user(request)
    answer = presenters.share_link_out(link, timezone.now())
    answer["url"] = request.build_absolute_uri(reverse("sharing:shared", args=[token]))
    return Status(201, answer)


@api.get(
    "/runs/{uuid:run_id}/share-links",
    tags=["Share links"],
    response={200: list[ShareLinkOut], **RUN_ERRORS},
    summary="The run's share links",
)
def list_share_links(request: HttpRequest, run_id: uuid.UUID) -> list[dict[str, Any]]:
    run = _get_run_for_token(request, run_id)
    now = timezone.now()
    return [
        presenters.share_link_out(link, now) for link in sharing_selectors.links_of_run(run=run)
    ]


@api.post(
    "/runs/{uuid:run_id}/share-links/{uuid:link_id}/revoke",
    tags=["Share links"],
    response={200: ShareLinkOut, **RUN_ERRORS},
    summary="Revoke a share link",
)
def revoke_share_link(
    request: HttpRequest, run_id: uuid.UUID, link_id: uuid.UUID
) -> dict[str, Any]:
    run = _get_run_for_token(request, run_id)
    link = sharing_selectors.get_link_of_run(run=run, link_id=link_id)
    sharing_services.revoke_link(link=link)
    link.refresh_from_db()
    return presenters.share_link_out(link, timezone.now())


# Diagnose only --------------------------------------------------------------------------------


def _invalid_input(field: str, message: str) -> Problematic:
    return Problematic(
        422, f"{field}: {message}", errors=[(field, message)], title="Your request is not valid"
    )


def _recorded(payload: DiagnoseIn) -> Recorded:
    if payload.har_entry is not None:
        if payload.request is not None:
            raise _invalid_input("har_entry", "Give a request or a HAR entry, not both.")
        return recorded_from_har_entry(payload.har_entry)
    if payload.request is None:
        raise _invalid_input("request", "Give the request (with a response or a failure).")
    if (payload.response is None) == (payload.failure is None):
        raise _invalid_input("response", "Give either the response or the failure, not both.")
    method, url = check_request(method=payload.request.method, url=payload.request.url)
    response = failure = None
    if payload.response is not None:
        answer = payload.response
        response = Response(
            status=answer.status,
            reason=answer.reason,
            headers=[(pair.name, pair.value) for pair in answer.headers],
            body=answer.body.encode(),
            truncated=False,
            http_version=answer.http_version or "HTTP/1.1",
        )
    elif payload.failure is not None:
        failure = Failure(
            kind=payload.failure.kind,
            message=payload.failure.message or payload.failure.kind.value,
            detail=payload.failure.detail,
        )
    return Recorded(
        method=method,
        url=url,
        headers=[(pair.name, pair.value) for pair in payload.request.headers],
        body=payload.request.body,
        response=response,
        failure=failure,
        elapsed_ms=payload.elapsed_ms,
    )


@api.post(
    "/diagnose",
    tags=["Diagnose"],
    response={201: RunOut, **ERRORS},
    summary="Diagnose an exchange you already have, without sending it",
)
def diagnose_recorded(request: HttpRequest, payload: DiagnoseIn) -> Status[Any]:
    """Stored as a run marked `recorded` (nothing is sent), so that it can be shared."""
    if payload.profile:
        try:
            get_profile(payload.profile)
        except KeyError:
            raise _invalid_input("profile", "No API profile has this slug.") from None
    try:
        recorded = _recorded(payload)
    except RecordedInvalid as invalid:
        raise _invalid_input(invalid.field, invalid.message) from None
    check_rate(request, group="diagnose", rate=settings.RATELIMIT_SUBMIT, key="user")
    run = record_exchange(
        team=_team(request), user=_user(request), recorded=recorded, profile=payload.profile
    )
    return Status(201, _run_answer(request, run))


# Library: collections, saved requests, environments -----------------------------------------


@api.post(
    "/runs/{uuid:run_id}/save",
    tags=["Library"],
    response={201: SavedOut, **RUN_ERRORS},
    summary="Keep a run's request in a collection (its secrets stay encrypted)",
)
def save_run(request: HttpRequest, run_id: uuid.UUID, payload: SaveRunIn) -> Status[Any]:
    run = _get_run_for_token(request, run_id)
    name = payload.name.strip() or f"{run.method} {run.host}{urlsplit(run.url).path}"
    if not payload.collection.strip():
        raise _invalid_input("collection", "Give the collection's id or name.")
    try:
        collection = library_selectors.find_collection(team=run.team, value=payload.collection)
    except library_selectors.NotFound:
        if library_selectors.collections_named(team=run.team, name=payload.collection):
            raise _invalid_input(
                "collection",
                f"The team has several collections named “{payload.collection}”: give its id.",
            ) from None
        collection = None
    saved = library_services.save_run(
        run=run,
        user=_user(request),
        name=name,
        collection=collection,
        new_collection=payload.collection.strip(),
    )
    return Status(
        201,
        {
            "id": saved.pk,
            "name": saved.name,
            "folder": saved.folder,
            "method": saved.method,
            "url": saved.url,
            "collection": saved.collection.name,
            "url_page": request.build_absolute_uri(reverse("saved:request", args=[saved.pk])),
        },
    )


@api.get(
    "/collections",
    tags=["Library"],
    response={200: list[CollectionOut], **ERRORS},
    summary="The team's collections and their saved requests",
)
def list_collections(request: HttpRequest) -> list[dict[str, Any]]:
    team = _team(request)
    return [
        presenters.collection_out(request, collection)
        for collection in library_selectors.collections_of(team=team)
    ]


def _found(field: str, find: Any, **kwargs: Any) -> Any:
    try:
        return find(**kwargs)
    except library_selectors.NotFound as error:
        raise _invalid_input(field, str(error)) from None


@api.post(
    "/saved-requests/run",
    tags=["Library"],
    response={201: RunOut, **ERRORS},
    summary="Run a saved request, with an environment",
)
def run_saved(request: HttpRequest, payload: SavedRunIn, wait: int = WAIT) -> Status[Any]:
    team = _team(request)
    saved = _found("saved", library_selectors.find_saved_request, team=team,
                   value=payload.saved, collection=payload.collection)  # fmt: skip
    environment = _found("env", library_selectors.find_environment, team=team, value=payload.env)
    _limit_submissions(request)
    try:
        run = library_services.run_saved_request(
            saved=saved, user=_token(request).user, environment=environment
        )
    except library_services.RequestRefused as refusal:
        raise _invalid_input("saved", str(refusal)) from None
    return Status(201, _run_answer(request, run, wait=wait))


def _collection_run_answer(request: HttpRequest, collection_run: CollectionRun) -> dict[str, Any]:
    items = library_selectors.runs_of_collection_run(collection_run=collection_run)
    attempts = selectors.attempts_of_runs(runs=[item.run for item in items])
    runs = [_run_answer(request, item.run, attempts=attempts[item.run.pk]) for item in items]
    return {
        "id": collection_run.pk,
        "url": request.build_absolute_uri(
            reverse("saved:collection_run", args=[collection_run.pk])
        ),
        "collection": collection_run.collection.name,
        "environment": collection_run.environment.name if collection_run.environment else None,
        "finished": all(run["finished"] for run in runs),
        "runs": runs,
        "skipped": [{"name": n, "reason": r} for n, r in collection_run.skipped],
    }


@api.post(
    "/collections/run",
    tags=["Library"],
    response={201: CollectionRunOut, **ERRORS},
    summary="Run every request of a collection, with an environment",
)
def run_collection(request: HttpRequest, payload: CollectionRunIn) -> Status[Any]:
    team = _team(request)
    collection = _found("collection", library_selectors.find_collection, team=team,
                        value=payload.collection)  # fmt: skip
    environment = _found("env", library_selectors.find_environment, team=team, value=payload.env)
    _limit_submissions(request)
    collection_run = library_services.run_collection(
        collection=collection, user=_token(request).user, environment=environment
    )
    return Status(201, _collection_run_answer(request, collection_run))


@api.get(
    "/collection-runs/{uuid:collection_run_id}",
    tags=["Library"],
    response={200: CollectionRunOut, **RUN_ERRORS},
    summary="A run of a collection: each request's outcome",
)
def get_collection_run(request: HttpRequest, collection_run_id: uuid.UUID) -> dict[str, Any]:
    collection_run = library_selectors.get_collection_run_for_user(
        user=request.user, collection_run_id=collection_run_id
    )
    if collection_run.team_id != _token(request).team_id:
        raise Http404("No such collection run")
    return _collection_run_answer(request, collection_run)


# Monitors and alert channels: their endpoints live in a module of their own.
from apps.api.monitors import router as monitors_router  # noqa: E402

api.add_router("", monitors_router)

# OpenAPI profiles.
from apps.api.profiles import router as profiles_router  # noqa: E402

api.add_router("", profiles_router)

# The library's writes: import, export and delete collections; saved requests; environments.
from apps.api.library import router as library_router  # noqa: E402

api.add_router("", library_router)

# The team vault (values are write-only).
from apps.api.vault import router as vault_router  # noqa: E402

api.add_router("", vault_router)

# Personal API tokens: list and revoke.
from apps.api.tokens import router as tokens_router  # noqa: E402

api.add_router("", tokens_router)

# Runs compared, as the Compare page shows them.
from apps.api.compare import router as compare_router  # noqa: E402

api.add_router("", compare_router)

# The token's team: members and invites.
from apps.api.team import router as team_router  # noqa: E402

api.add_router("", team_router)
