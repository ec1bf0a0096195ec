"""diagnose() over a corpus of realistic exchanges written after the public documentation of
many APIs (tests/fixtures/exchanges/corpus/*.toml, each exchange with its source): the
right cause, the right first playbook, evidence for it, and no secret in what is stored.

A corpus file:

    api = "GitHub REST"                     # the API, for the count of APIs
    source = "https://docs.github.com/..."  # the default source of its exchanges
    [defaults]                              # optional: request headers, method, profile
    request_headers = [["Authorization", "Bearer ghp_..."]]

    [[exchange]]
    title = "..."
    source = "https://..."                  # optional, else the file's
    method = "GET"                          # optional, else the defaults' or GET
    url = "https://api.github.com/..."
    request_headers = [["Accept", "application/json"]]   # optional, else the defaults'
    status = 403                            # or failure = {kind, message, detail}
    headers = [["X-RateLimit-Remaining", "0"]]
    body = '''{"message": "..."}'''
    redirects = [[301, "https://..."]]      # optional: hops followed
    context = { recent_rate_limited = 4 }   # optional: DiagnosisContext fields
    profile = "github"                      # optional, else chosen from the URL
    expect = "github.403.rate_limited"      # the diagnosis code
    playbook = "back-off"                   # its first playbook
    severity = "error"                      # optional
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apps.diagnosis import lookups
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.results import Diagnosis, DiagnosisContext
from apps.egress.redaction import is_secret_header, is_secret_param
from apps.egress.types import Exchange, Failure, FailureKind, Response

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "exchanges" / "corpus"


@dataclass(frozen=True)
class Case:
    id: str
    api: str
    source: str
    data: dict[str, Any]
    exchange: Exchange


def _exchange(item: dict[str, Any], defaults: dict[str, Any]) -> Exchange:
    response = failure = None
    if "failure" in item:
        raw = item["failure"]
        failure = Failure(FailureKind(raw["kind"]), raw.get("message", ""), raw.get("detail", ""))
    else:
        response = Response(
            status=item["status"],
            reason=item.get("reason", ""),
            headers=[(str(k), str(v)) for k, v in item.get("headers", [])],
            body=item.get("body", "").encode(),
            truncated=False,
        )
    headers = item.get("request_headers", defaults.get("request_headers", []))
    return Exchange(
        method=item.get("method", defaults.get("method", "GET")),
        url=item["url"],
        request_headers=[(str(k), str(v)) for k, v in headers],
        response=response,
        failure=failure,
        elapsed_ms=float(item.get("elapsed_ms", 120.0)),
        redirects=[(int(s), str(u)) for s, u in item.get("redirects", [])],
    )


def load_corpus() -> list[Case]:
    cases: list[Case] = []
    for file in sorted(CORPUS.glob("*.toml")):
        top = tomllib.loads(file.read_text(encoding="utf-8"))
        defaults = top.get("defaults", {})
        for number, item in enumerate(top["exchange"], start=1):
            if "profile" not in item and "profile" in defaults:
                item = {**item, "profile": defaults["profile"]}
            cases.append(
                Case(
                    id=f"{file.stem}-{number:02d}",
                    api=top["api"],
                    source=item.get("source", top.get("source", "")),
                    data=item,
                    exchange=_exchange(item, defaults),
                )
            )
    return cases


def diagnosis_of(case: Case) -> Diagnosis:
    data = case.data
    profile = (
        lookups.get_profile(data["profile"])
        if "profile" in data
        else lookups.profile_for_url(case.exchange.url)
    )
    return diagnose(case.exchange, profile, context=DiagnosisContext(**data.get("context", {})))


CASES = load_corpus()


def test_the_corpus_is_wide() -> None:
    apis = {case.api for case in CASES}
    assert len(CASES) >= 150, len(CASES)
    assert len(apis) >= 12, sorted(apis)
    assert all(case.source.startswith("https://") for case in CASES)
    assert all(case.data.get("title") for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_it_finds_the_cause_and_the_first_playbook(case: Case) -> None:
    diagnosis = diagnosis_of(case)
    causes = [(c.code, c.likelihood) for c in diagnosis.causes]
    assert diagnosis.code == case.data["expect"], (case.data["title"], causes)
    first = [case.data["playbook"]] if case.data["playbook"] else []
    assert diagnosis.playbooks[:1] == first, (diagnosis.playbooks, causes)
    if "severity" in case.data:
        assert diagnosis.severity == case.data["severity"]
    top = diagnosis.top_cause
    assert top is None or top.evidence, causes
    stored = repr(diagnosis.to_dict())
    for secret in _secrets(case.exchange):
        assert secret not in stored, secret


def _secrets(exchange: Exchange) -> list[str]:
    from urllib.parse import parse_qsl, urlsplit

    values = [v for k, v in exchange.request_headers if is_secret_header(k) and len(v) >= 8]
    values += [v.split(None, 1)[-1] for v in values if " " in v]
    values += [
        v for k, v in parse_qsl(urlsplit(exchange.url).query) if is_secret_param(k) and len(v) >= 8
    ]
    return values
