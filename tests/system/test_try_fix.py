"""Try the fix through the real worker against the sandbox: each scenario with a mechanical
fix gives a follow-up run with exactly that change, and the follow-up proves it."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.diagnosis.results import Diagnosis
from apps.runs import selectors
from apps.runs.models import Run
from apps.runs.presets import PRESETS_BY_SLUG
from tests.support.clients import client_for
from tests.system.test_openapi_profile import KEY as SPEC_KEY
from tests.system.test_openapi_profile import spec_for
from tests.system.test_run_pipeline import submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

# Sandbox preset → the kind of fix its diagnosis offers.
SCENARIOS = {
    "sandbox-key-in-query": "move_key_to_header",
    "sandbox-accept": "set_header",
    "sandbox-method": "use_method",
    "sandbox-bad-interval": "set_param",
    "sandbox-access-range": "clip_time_range",
}


@pytest.mark.parametrize(("slug", "kind"), SCENARIOS.items())
def test_the_fix_is_proven_by_its_follow_up(
    slug: str, kind: str, celery_worker: object, live_server: object, owner: User
) -> None:
    client = client_for(owner)
    initial = PRESETS_BY_SLUG[slug].initial(f"{live_server.url}/sandbox")  # type: ignore[attr-defined]
    fields = {name: str(initial[name]) for name in ("method", "params", "headers", "api_key")}
    run = wait_until_done(submit(client, str(initial["url"]), **fields))
    assert run.response_status is not None and run.response_status >= 400
    latest = selectors.latest_finished(selectors.attempts_of(run=run))
    assert latest is not None
    cause = next(c for c in Diagnosis.from_dict(latest.diagnosis).causes if c.fix is not None)
    assert cause.fix is not None and cause.fix.kind == kind, cause

    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Try the fix" in page
    response = client.post(reverse("runs:try_fix", args=[run.id]), {"cause": cause.code})
    assert response.status_code == 302
    followup = wait_until_done(Run.objects.exclude(pk=run.pk).get().id)
    outcome = selectors.fix_outcome_of(run=followup)
    assert followup.response_status == 200, latest.diagnosis_code
    assert outcome is not None and outcome.state == "proven", outcome
    assert outcome.text.startswith("proven: 200 after ")
    for shown in (followup, run):
        page = client.get(reverse("runs:detail", args=[shown.id])).content.decode()
        assert "proven: 200 after" in page
    assert "sandbox-demo-key" not in str(Run.objects.filter(pk=followup.pk).values().get())


def _try_first_fix(client: Client, run: Run, code: str) -> Run:
    latest = selectors.latest_finished(selectors.attempts_of(run=run))
    assert latest is not None
    causes = Diagnosis.from_dict(latest.diagnosis).causes
    index, cause = next((i, c) for i, c in enumerate(causes) if c.code == code)
    assert cause.fix is not None, cause
    response = client.post(
        reverse("runs:try_fix", args=[run.id]), {"cause": code, "index": str(index)}
    )
    assert response.status_code == 302
    followup_id = response["Location"].rstrip("/").split("/")[-1]
    return wait_until_done(uuid.UUID(followup_id))


def test_an_openapi_profiles_fixes_are_proven(
    celery_worker: object, live_server: object, owner: User
) -> None:
    cache.clear()  # upload rate-limit counters
    client = client_for(owner)
    base = live_server.url  # type: ignore[attr-defined]
    uploaded = client.post(reverse("library:profiles"), {"text": spec_for(base, "number")})
    assert uploaded.status_code == 302
    market = f"{base}/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"

    # The key in the query string; the spec says X-Api-Key.
    run = wait_until_done(submit(client, market, params=f"interval=1h\napi_key={SPEC_KEY}"))
    assert run.diagnosis_code == "openapi.auth.other_way"
    followup = _try_first_fix(client, run, "openapi.auth.other_way")
    outcome = selectors.fix_outcome_of(run=followup)
    assert outcome is not None and outcome.state == "proven", (followup.diagnosis_code, outcome)
    assert outcome.text.startswith("proven: 200 after moving the key to `X-Api-Key`")

    # A value the spec does not allow, corrected to the nearest one it does.
    run = wait_until_done(submit(client, market, params="interval=1h\npage_size=0",
                                 api_key=SPEC_KEY))  # fmt: skip
    followup = _try_first_fix(client, run, "openapi.param.invalid")
    assert followup.query == [["interval", "1h"], ["page_size", "1"]]
    outcome = selectors.fix_outcome_of(run=followup)
    assert outcome is not None and outcome.state == "proven", (followup.diagnosis_code, outcome)
