"""The catalog's types (apps.diagnosis.profiles): entries and their variants, profiles, and
the catalog's choices of a profile, an entry and a cause, on a small catalog built here."""

from types import MappingProxyType

import pytest

from apps.diagnosis.profiles import (
    Catalog,
    CatalogEntry,
    CauseEntry,
    Envelope,
    Link,
    Playbook,
    Profile,
    ProfileSteps,
    code_key,
)


def entry(code: str, **fields: object) -> CatalogEntry:
    values: dict[str, object] = {
        "source": code.split(".")[0],
        "title": code,
        "explanation": "",
        "severity": "error",
        "retryable": False,
        "playbooks": (),
    }
    values.update(fields)
    return CatalogEntry(code=code, **values)  # type: ignore[arg-type]


def cause(code: str, key: str, playbooks: tuple[str, ...] = ()) -> CauseEntry:
    return CauseEntry(
        code=code,
        key=key,
        source=code.split(".")[0],
        title=code,
        explanation="",
        playbooks=playbooks,
    )


ENTITLEMENT = entry("acme.401.entitlement", status=401, message_contains=("No Permission",))
ACME = Profile(
    slug="acme",
    name="Acme API",
    short_name="Acme",
    description="",
    hosts=("api.acme.test",),
    path_prefixes=("/acme/",),
    statuses=MappingProxyType(
        {
            401: entry("acme.401", status=401, variants=(ENTITLEMENT,), playbooks=("reauth",)),
            400: entry("acme.400", status=400),
        }
    ),
    classes=MappingProxyType({"5xx": entry("acme.5xx", status_class="5xx")}),
    causes=MappingProxyType(
        {
            "429.burst": cause("acme.429.burst", "429.burst", ("back-off",)),
            "401.no_key": cause("acme.401.no_key", "401.no_key"),
        }
    ),
    host_suffixes=(".acme-cdn.test",),
    path_patterns=(r"^/v\d+/acme-data",),
    stale_hosts=MappingProxyType({"old.acme.test": "api.acme.test"}),
)
HTTP = Profile(
    slug="http",
    name="HTTP",
    short_name="HTTP",
    description="",
    hosts=(),
    path_prefixes=(),
    statuses=MappingProxyType(
        {404: entry("http.404", status=404), 401: entry("http.401", status=401)}
    ),
    classes=MappingProxyType(
        {
            c: entry(f"http.{c}", status_class=c)
            for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")
        }
    ),
    causes=MappingProxyType({"401.no_key": cause("http.401.no_key", "401.no_key")}),
    fallback=True,
)
CATALOG = Catalog(
    profiles=(ACME, HTTP),
    failures=MappingProxyType(
        {
            "dns": entry("network.dns", failure_kind="dns", playbooks=("back-off",)),
            "other": entry("network.other", failure_kind="other"),
        }
    ),
    playbooks=MappingProxyType({}),
    failure_details=MappingProxyType(
        {
            "tls": MappingProxyType(
                {"self_signed": cause("network.tls.self_signed", "tls.self_signed")}
            )
        }
    ),
)


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("RATE_LIMIT", "ratelimit"),
        ("Rate-Limit.Exceeded", "ratelimitexceeded"),
        (20003, "20003"),
        ("x" * 100, "x" * 80),
    ],
)
def test_a_code_is_compared_by_its_letters_and_digits(code: object, key: str) -> None:
    assert code_key(code) == key


def test_a_playbook_gives_the_steps_of_one_profile() -> None:
    steps = ProfileSteps("acme", ("Open the console",), (Link("Docs", "https://d"),))
    playbook = Playbook(
        "reauth", "Re-authenticate", "s", ("Check the key",), profile_steps=(steps,)
    )
    assert playbook.steps_for("acme") is steps
    assert playbook.steps_for("http") is None


@pytest.mark.parametrize(
    ("says", "reference", "meaning"),
    [
        (
            "The server cannot find it.",
            "RFC 9110 §15.5.5",
            "The server cannot find it (RFC 9110 §15.5.5).",
        ),
        ("Gone.", None, "Gone."),
        (None, "RFC 9110", None),
    ],
)
def test_what_http_means_cites_its_reference(
    says: str | None, reference: str | None, meaning: str | None
) -> None:
    assert entry("http.404", http_says=says, http_reference=reference).http_meaning == meaning


@pytest.mark.parametrize(
    ("found", "label"),
    [
        (ACME.statuses[401], "401"),
        (ENTITLEMENT, "401 (entitlement)"),
        (ACME.classes["5xx"], "5xx"),
        (CATALOG.failures["dns"], "dns"),
    ],
)
def test_an_entry_is_labelled_by_what_it_answers_for(found: CatalogEntry, label: str) -> None:
    assert found.label == label


@pytest.mark.parametrize(
    ("message", "chosen"),
    [
        ("user has NO PERMISSION here", ENTITLEMENT),
        ("bad key", ACME.statuses[401]),
        (None, ACME.statuses[401]),
        ("", ACME.statuses[401]),
    ],
)
def test_a_variant_is_chosen_by_the_words_of_the_message(
    message: str | None, chosen: CatalogEntry
) -> None:
    assert ACME.statuses[401].variant_for(message) is chosen


def test_a_profile_lists_statuses_in_order_variants_after_them_then_classes() -> None:
    assert [e.code for e in ACME.entries()] == [
        "acme.400",
        "acme.401",
        "acme.401.entitlement",
        "acme.5xx",
    ]
    assert [c.key for c in ACME.cause_entries()] == ["401.no_key", "429.burst"]


def test_an_envelope_lists_the_fields_it_sets() -> None:
    envelope = Envelope(result="result", message="message", next_url="next_url")
    assert envelope.fields() == [
        ("result", "result"),
        ("message", "message"),
        ("next_url", "next_url"),
    ]
    assert Envelope().fields() == []


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://API.acme.test./v1/x", "acme"),
        ("https://old.acme.test/v1/x", "acme"),
        ("https://eu.acme-cdn.test/x", "acme"),
        ("http://127.0.0.1:8000/acme/v1/x", "acme"),
        ("http://127.0.0.1:8000/v2/acme-data/x", "acme"),
        ("https://other.test/acme", "http"),
        ("http://[::1/", "http"),
        ("", "http"),
    ],
)
def test_the_profile_is_chosen_by_host_then_path(url: str, slug: str) -> None:
    assert CATALOG.profile_for_url(url).slug == slug


def test_an_unknown_profile_is_a_key_error() -> None:
    assert CATALOG.get_profile("http") is HTTP and CATALOG.fallback is HTTP
    with pytest.raises(KeyError):
        CATALOG.get_profile("nope")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "acme.401"),
        (404, "http.404"),
        (503, "acme.5xx"),
        (418, "http.4xx"),
        (700, "http.other"),
        (42, "http.other"),
    ],
)
def test_a_status_takes_the_profiles_entry_then_https_then_a_class(status: int, code: str) -> None:
    assert CATALOG.entry_for_status(ACME, status).code == code


def test_what_http_says_ignores_the_profile() -> None:
    assert CATALOG.http_entry(401).code == "http.401"
    assert CATALOG.http_entry(503).code == "http.5xx"


def test_an_unknown_failure_kind_is_other() -> None:
    assert CATALOG.failure_entry("dns").code == "network.dns"
    assert CATALOG.failure_entry("meltdown").code == "network.other"
    assert CATALOG.failure_detail("tls", "self_signed") is not None
    assert CATALOG.failure_detail("tls", "nope") is None
    assert CATALOG.failure_detail("dns", "self_signed") is None


def test_a_cause_is_worded_by_the_profile_then_by_http_first_key_first() -> None:
    found = CATALOG.cause(ACME, ["nope", "401.no_key", "429.burst"])
    assert found is not None and found.code == "acme.401.no_key"
    generic = CATALOG.cause(HTTP, ["429.burst", "401.no_key"])
    assert generic is not None and generic.code == "http.401.no_key"
    assert CATALOG.cause(ACME, ["nope"]) is None


def test_it_finds_what_leads_to_a_playbook() -> None:
    assert [e.code for e in CATALOG.entries_leading_to("back-off")] == ["network.dns"]
    assert [e.code for e in CATALOG.entries_leading_to("reauth")] == ["acme.401"]
    assert [c.code for c in CATALOG.causes_leading_to("back-off")] == ["acme.429.burst"]
    assert "network.tls.self_signed" in [c.code for c in CATALOG.all_causes()]
