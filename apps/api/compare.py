"""The JSON API of the Compare page: two runs of the team, what differs between their
requests and their latest finished outcomes (status, response headers, a diff of the
bodies), over apps.runs.compare. Every text is redacted again by both runs' own secret
values (and their encodings) on the way out, as the run answers are. Registered on the API
in api.py."""

import uuid
from typing import Any

from cryptography.fernet import InvalidToken
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema

from apps.api.api import RUN_ERRORS, Problematic, _get_run_for_token
from apps.egress.redaction import REDACTED, is_secret_header
from apps.runs import secrets, selectors
from apps.runs.compare import compare_attempts
from apps.runs.models import Attempt
from apps.sharing.presentation import Redactor

router = Router(tags=["Runs"])


class SideOut(Schema):
    run_id: uuid.UUID
    attempt: int = Field(description="The run's latest finished attempt, compared.")
    status: int | None = Field(description="Its response status; null: no response.")
    failure_kind: str = Field(description="Why there was no response, if there was none.")


class DifferenceOut(Schema):
    what: str = Field(description="“Method”, “URL”, “Header Accept”, “Body”, …")
    earlier: str | None = Field(description="null: absent from the earlier run.")
    this: str | None = Field(description="null: absent from this run.")


class HeaderDifferenceOut(Schema):
    name: str = Field(description="Lower case; headers that differ on every response are left out.")
    earlier: str | None
    this: str | None


class BodyDiffLineOut(Schema):
    kind: str = Field(description="add, del, hunk, file or same.")
    text: str


class ComparisonOut(Schema):
    earlier: SideOut
    this: SideOut
    same_status: bool
    fixed: bool = Field(
        description="The earlier run failed and this one did not: its request changes are the fix."
    )
    request: list[DifferenceOut] = Field(description="How the requests differ (redacted).")
    headers: list[HeaderDifferenceOut] = Field(description="Response headers that differ.")
    body_diff: list[BodyDiffLineOut] = Field(description="A unified diff of the response bodies.")
    body_diff_cut: bool = Field(description="The diff was longer and is cut.")


class CompareOut(Schema):
    run_id: uuid.UUID
    other_id: uuid.UUID
    page: str = Field(description="The Compare page in the dashboard.")
    comparison: ComparisonOut | None = Field(
        description="null while either run has no finished attempt."
    )


def _side(attempt: Attempt) -> dict[str, Any]:
    return {
        "run_id": attempt.run_id,
        "attempt": attempt.number,
        "status": attempt.response_status,
        "failure_kind": attempt.failure_kind,
    }


@router.get(
    "/runs/{uuid:run_id}/compare/{uuid:other_id}",
    response={200: CompareOut, **RUN_ERRORS},
    summary="Compare a run with an earlier one, as the Compare page does",
)
def compare_runs(request: HttpRequest, run_id: uuid.UUID, other_id: uuid.UUID) -> dict[str, Any]:
    """`run_id` is “this run”, `other_id` the earlier one it is compared with; both of the
    token's team."""
    run = _get_run_for_token(request, run_id)
    other = _get_run_for_token(request, other_id)
    page = request.build_absolute_uri(reverse("runs:compare", args=[run.id, other.id]))
    answer: dict[str, Any] = {"run_id": run.id, "other_id": other.id, "page": page}
    left = selectors.latest_finished(selectors.attempts_of(run=other))
    right = selectors.latest_finished(selectors.attempts_of(run=run))
    if left is None or right is None:
        return {**answer, "comparison": None}
    try:
        values = [
            *secrets.decrypt(run.secrets_encrypted).values(),
            *secrets.decrypt(other.secrets_encrypted).values(),
        ]
    except InvalidToken:
        raise Problematic(
            503,
            "A run's secrets cannot be decrypted (its key is no longer configured), so the "
            "comparison cannot be checked for them and is not shown.",
        ) from None
    clean = Redactor.for_secrets(values).value

    def shown(value: str | None) -> str | None:
        return None if value is None else clean(value)

    found = compare_attempts(left, right)
    answer["comparison"] = {
        "earlier": _side(left),
        "this": _side(right),
        "same_status": found.same_status,
        "fixed": found.fixed,
        "request": [
            {"what": clean(d.what), "earlier": shown(d.left), "this": shown(d.right)}
            for d in found.request
        ],
        "headers": [
            {
                "name": clean(h.name),
                "earlier": REDACTED if is_secret_header(h.name) and h.left else shown(h.left),
                "this": REDACTED if is_secret_header(h.name) and h.right else shown(h.right),
            }
            for h in found.headers
        ],
        "body_diff": [
            {"kind": line.kind, "text": clean(line.text)} for line in found.body_diff_lines
        ],
        "body_diff_cut": found.body_diff_cut,
    }
    return answer
