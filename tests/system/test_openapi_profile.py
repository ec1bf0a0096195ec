"""A team's OpenAPI profile, end to end with real parts: upload the document on the Profiles
page, submit requests that break it to a local upstream (the sandbox served by the live
test server), a real worker diagnoses them against the spec and records its version, and
the run page shows the spec's findings first."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.library.models import SpecProfile
from apps.runs.models import Attempt
from tests.support.clients import client_for
from tests.system.test_run_pipeline import only_attempt, submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

OHLCV = "/data/trades.v1/exchanges/{exchange}/{instrument_class}/{instrument}/aggregations/ohlcv"
KEY = "sandbox-demo-key"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # upload rate-limit counters


def spec_for(base: str, open_type: str) -> str:
    return f"""openapi: 3.1.0
info:
  title: Local market data
  version: "1"
servers:
  - url: {base}/sandbox/us/v2
security:
  - key: []
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-Api-Key
      description: The key goes in the X-Api-Key header, never in the URL.
paths:
  {OHLCV}:
    get:
      parameters:
        - {{name: exchange, in: path, required: true, schema: {{type: string}}}}
        - {{name: instrument_class, in: path, required: true, schema: {{type: string}}}}
        - {{name: instrument, in: path, required: true, schema: {{type: string}}}}
        - name: page_size
          in: query
          description: Results per page, from 1 to 100000.
          schema: {{type: integer, minimum: 1, maximum: 100000}}
        - name: interval
          in: query
          schema: {{type: string, pattern: "^[0-9]+[smhd]$"}}
      responses:
        "200":
          description: The candles, newest first.
          content:
            application/json:
              schema:
                type: object
                required: [result, data]
                properties:
                  data:
                    type: array
                    items:
                      type: object
                      properties:
                        open: {{type: {open_type}}}
        "401":
          description: The key is missing or not valid; send it in X-Api-Key.
"""


@pytest.fixture
def signed_in(owner: User) -> Client:
    return client_for(owner)


def test_a_run_that_breaks_the_spec_is_diagnosed_against_it(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    uploaded = signed_in.post(reverse("library:profiles"), {"text": spec_for(base, "number")})
    assert uploaded.status_code == 302, uploaded.content.decode()[:2000]
    profile = SpecProfile.objects.get()
    market = f"{base}/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"

    # The key in the query string instead of its header, and a page size out of range.
    broken = submit(signed_in, market, params=f"interval=1h\npage_size=0\napi_key={KEY}")
    run = wait_until_done(broken)
    attempt = only_attempt(run)
    assert attempt.response_status == 401
    assert attempt.spec_version is not None and attempt.spec_version.profile_id == profile.id
    codes = [cause["code"] for cause in attempt.diagnosis["causes"]]
    assert codes[:2] == ["openapi.auth.other_way", "openapi.param.invalid"]
    assert run.diagnosis_code == "openapi.auth.other_way"
    assert attempt.diagnosis["api_meaning"] == (
        "The key is missing or not valid; send it in X-Api-Key."
    )
    page = signed_in.get(reverse("runs:detail", args=[broken])).content.decode()
    assert "Local market data (OpenAPI profile, version 1)" in page
    profile_url = reverse("library:profile", args=[profile.id])
    assert f'<a href="{profile_url}">Local market data</a>, version 1' in page
    assert "The credential was sent another way than the spec says" in page
    assert "must be at least 1" in page and "Results per page, from 1 to 100000." in page
    assert KEY not in page
    assert KEY not in str(Attempt.objects.filter(pk=attempt.pk).values("diagnosis").get())

    # Replaced by version 2 (the candles' `open` is a string): a correct request whose body
    # the first version did not document is explained by the version in use.
    replaced = signed_in.post(
        reverse("library:replace", args=[profile.id]), {"text": spec_for(base, "integer")}
    )
    assert replaced.status_code == 302
    good = submit(signed_in, market, params="interval=1h\npage_size=2", api_key=KEY)
    attempt = only_attempt(wait_until_done(good))
    assert attempt.response_status == 200
    assert attempt.spec_version is not None and attempt.spec_version.number == 2
    body_cause = attempt.diagnosis["causes"][0]
    assert body_cause["code"] == "openapi.body.schema"
    assert body_cause["evidence"][0]["name"] == "$.data[0].open"
    assert "is not of type 'integer'" in body_cause["evidence"][0]["note"]
    assert attempt.diagnosis["api_meaning"] == "The candles, newest first."
    # The first run still names the version that explained it.
    first_version = only_attempt(wait_until_done(broken)).spec_version
    assert first_version is not None and first_version.number == 1


def test_a_run_to_a_host_no_profile_covers_is_unchanged(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    other = spec_for("https://api.example.com", "number")
    assert signed_in.post(reverse("library:profiles"), {"text": other}).status_code == 302
    run_id = submit(
        signed_in,
        f"{base}/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv",
    )
    attempt = only_attempt(wait_until_done(run_id))
    assert attempt.spec_version is None
    assert not any(c["code"].startswith("openapi.") for c in attempt.diagnosis["causes"])
