"""Every sandbox preset, through the real worker, gives the outcome its label promises: the
demo can produce each diagnosis from the browser (the TLS ones against the TLS sandbox)."""

import re
import uuid

import pytest
from django.contrib.auth.models import User

from apps.runs.presets import PRESETS
from tests.support.clients import client_for
from tests.system.test_run_pipeline import submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SANDBOX_PRESETS = [preset for preset in PRESETS if preset.sandbox]
# What a label without a status code promises.
EXPECTED: dict[str, int | str] = {
    "sandbox-slow": "read_timeout", "sandbox-redirects": 200, "sandbox-echo": 200,
    "sandbox-rate-limit-date": 429, "sandbox-rate-limit-legacy": 429,
    "sandbox-gzip-padding": "response_too_large", "sandbox-layers": "response_too_large",
    "sandbox-tls-expired": "tls", "sandbox-tls-wrong-host": "tls",
    "sandbox-tls-self-signed": "tls", "sandbox-tls-untrusted": "tls",
}  # fmt: skip
# The failure detail, which the diagnosis code ends with.
EXPECTED_DETAIL = {
    "sandbox-gzip-padding": "compressed_body",
    "sandbox-layers": "encoding_layers",
    "sandbox-tls-expired": "certificate_expired",
    "sandbox-tls-wrong-host": "hostname_mismatch",
    "sandbox-tls-self-signed": "self_signed",
    "sandbox-tls-untrusted": "untrusted_issuer",
}
# A 200 whose body was cut at the dashboard's cap (as sent, or once decoded).
EXPECTED_CUT = {"sandbox-large", "sandbox-bomb"}


def expected_outcome(slug: str, label: str) -> int | str:
    if slug in EXPECTED:
        return EXPECTED[slug]
    found = re.search(r"\((\d{3})", label)
    assert found, f"say what {slug} should give"
    return int(found.group(1))


@pytest.mark.parametrize("preset", SANDBOX_PRESETS, ids=[p.slug for p in SANDBOX_PRESETS])
def test_it_gives_what_the_preset_promises(
    preset: object, celery_worker: object, live_server: object, owner: User
) -> None:
    client = client_for(owner)
    initial = preset.initial(f"{live_server.url}/sandbox")  # type: ignore[attr-defined]
    fields = {
        "method": initial["method"],
        "params": initial["params"],
        # A fresh sequence for scenarios that count requests.
        "headers": initial["headers"].replace(
            "fail-first=1:429", f"fail-first=1:429;id={uuid.uuid4()}"
        ),
        "api_key": initial["api_key"],
        "timeout": str(initial.get("timeout", 10)),
    }
    if initial["follow_redirects"]:
        fields["follow_redirects"] = "on"
    run = wait_until_done(submit(client, initial["url"], **fields))
    slug = preset.slug  # type: ignore[attr-defined]
    expected = expected_outcome(slug, preset.label)  # type: ignore[attr-defined]
    got = run.response_status if run.response_status is not None else run.failure_kind
    attempt = run.attempts.get()
    assert got == expected, (attempt.failure_message, attempt.response_body[:500])
    assert run.diagnosis_title
    if slug in EXPECTED_DETAIL:
        assert attempt.failure_detail == EXPECTED_DETAIL[slug]
        assert run.diagnosis_code.endswith(f".{EXPECTED_DETAIL[slug]}"), run.diagnosis_code
    assert attempt.response_body_truncated == (slug in EXPECTED_CUT)
