"""The data files of apps.diagnosis: what they hold, how a profile is chosen, and how a
broken file is refused."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.diagnosis import lookups
from apps.diagnosis.data_files import DATA_DIR, CatalogError, load_catalog
from apps.diagnosis.profiles import ACTIONS, CAUSE_KEYS
from apps.egress.types import FailureKind

# Kaiko's "Error codes" table (the project's seed), copied here word for word.
KAIKO_TABLE = {
    400: "Bad Request",
    401: "Unauthorized -- You are not authenticated properly. See Authentication.",
    403: "Forbidden -- You don't have access to the requested resource.",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    429: "Rate limit reached",
    500: "Internal Server Error -- We had a problem with our service. Try again later.",
    503: "Service Unavailable -- We're temporarily offline for maintenance.",
}

REQUIRED_PLAYBOOKS = [
    "reauthenticate",
    "check-access",
    "fix-request",
    "fix-endpoint",
    "use-allowed-method",
    "fix-accept-header",
    "back-off",
    "retry-later",
    "wait-for-maintenance",
    "check-dns",
    "check-connectivity",
    "check-tls",
    "check-url",
    "check-address-policy",
    "increase-timeout",
]

# Statuses registered by RFC 9110 (§15) and RFC 6585.
REGISTERED_STATUSES = [
    *(100, 101),
    *(200, 201, 202, 203, 204, 205, 206),
    *(300, 301, 302, 303, 304, 305, 306, 307, 308),
    *range(400, 419),
    *(421, 422, 426, 428, 429, 431),
    *(500, 501, 502, 503, 504, 505, 511),
]


def test_it_keeps_its_data_inside_the_app() -> None:
    app_dir = Path(lookups.__file__).resolve().parent
    assert app_dir / "data" == DATA_DIR
    assert lookups.catalog().source == DATA_DIR


def test_it_reads_the_kaiko_profile() -> None:
    kaiko = lookups.get_profile("kaiko")
    assert kaiko.name == "Kaiko market-data API"
    assert set(kaiko.hosts) == {
        "us.market-api.kaiko.io",
        "eu.market-api.kaiko.io",
        "reference-data-api.kaiko.io",
    }
    assert kaiko.path_prefixes == ("/sandbox/",)
    assert kaiko.auth_header == "X-Api-Key"
    assert kaiko.docs_url and kaiko.docs_url.startswith("https://docs.kaiko.com")


@pytest.mark.parametrize(("status", "words"), sorted(KAIKO_TABLE.items()))
def test_it_quotes_kaikos_words_for_each_code_of_the_table(status: int, words: str) -> None:
    entry = lookups.get_profile("kaiko").statuses[status]
    assert entry.code == f"kaiko.{status}"
    assert entry.api_meaning == words
    assert entry.title and entry.explanation
    assert entry.playbooks
    for slug in entry.playbooks:
        lookups.get_playbook(slug)


def test_it_says_how_kaiko_is_called() -> None:
    kaiko = lookups.get_profile("kaiko")
    assert kaiko.auth.header == "X-Api-Key"
    assert {"api_key", "apikey", "key"} <= set(kaiko.auth.wrong_query_params)
    assert kaiko.auth.wrong_headers == ("Authorization",)
    assert kaiko.auth.not_needed_hosts == ("reference-data-api.kaiko.io",)
    envelope = dict(kaiko.envelope.fields())
    assert envelope == {
        "result": "result",
        "message": "message",
        "data": "data",
        "query": "query",
        "access_range": "access.access_range",
        "data_range": "access.data_range",
        "continuation_token": "continuation_token",
        "next_url": "next_url",
    }
    assert kaiko.request.methods == ("GET",)
    assert kaiko.request.accept == ("application/json",)


def test_it_holds_kaikos_parameter_rules() -> None:
    params = lookups.get_profile("kaiko").params
    assert set(params) == {"interval", "page_size", "start_time", "end_time", "sort"}
    assert (params["interval"].type, params["interval"].maximum) == ("duration", 86_400)
    assert dict(params["interval"].units) == {"s": 1, "m": 60, "h": 3600, "d": 86400}
    assert (params["page_size"].minimum, params["page_size"].maximum) == (1, 100_000)
    assert params["start_time"].before == "end_time"
    assert params["sort"].choices == ("asc", "desc")


def test_it_words_every_cause_for_any_api() -> None:
    generic = lookups.get_profile("http")
    assert set(CAUSE_KEYS) <= set(generic.causes)
    for cause in generic.cause_entries():
        assert cause.code == f"http.{cause.key}"
        assert cause.title and cause.explanation and cause.playbooks


def test_it_words_kaikos_causes_in_kaikos_terms() -> None:
    kaiko = lookups.get_profile("kaiko")
    for key in (
        "401.no_key", "401.key_rejected", "401.key_in_query", "401.key_in_authorization",
        "401.entitlement", "403.no_entitlement", "403.outside_access_range",
        "400.param.interval", "400.param.page_size", "400.param.start_time",
        "400.param.end_time", "400.param.sort", "404.path", "404.exchange",
        "404.instrument_class", "404.instrument", "405.method", "406.accept", "429.burst",
        "429.sustained", "500.transient", "503.maintenance", "503.transient",
    ):  # fmt: skip
        assert kaiko.causes[key].code == f"kaiko.{key}"
    assert "no permission" in kaiko.causes["401.entitlement"].message_contains
    assert "maintenance" in kaiko.causes["503.maintenance"].message_contains
    loaded = lookups.catalog()
    assert loaded.cause(kaiko, ["5xx.gateway"]).code == "http.5xx.gateway"  # type: ignore[union-attr]
    assert loaded.cause(kaiko, ["502.transient", "5xx.transient"]).code == "http.5xx.transient"  # type: ignore[union-attr]


def test_it_has_the_finer_causes_of_network_failures() -> None:
    codes = {cause.code for cause in lookups.failure_details()}
    assert {
        "network.tls.certificate_expired", "network.tls.self_signed",
        "network.tls.hostname_mismatch", "network.tls.untrusted_issuer",
        "network.too_many_redirects.loop", "network.too_many_redirects.limit",
        "network.response_too_large.headers", "network.response_too_large.compressed_body",
        "network.response_too_large.encoding_layers", "network.blocked.private_address",
    } <= codes  # fmt: skip


def test_it_names_kaikos_rules_in_the_explanations() -> None:
    statuses = lookups.get_profile("kaiko").statuses
    assert "X-Api-Key" in statuses[401].explanation
    assert "Accept: application/json" in statuses[406].explanation
    for rule in ("ISO 8601", "1 day", "100000", "before the end"):
        assert rule in statuses[400].explanation


def test_it_has_every_required_playbook() -> None:
    slugs = [playbook.slug for playbook in lookups.playbooks()]
    assert set(REQUIRED_PLAYBOOKS) <= set(slugs)
    for playbook in lookups.playbooks():
        assert playbook.title and playbook.summary and playbook.steps
        assert playbook.action is None or playbook.action in ACTIONS


def test_it_gives_kaiko_specific_steps() -> None:
    steps = lookups.get_playbook("reauthenticate").steps_for("kaiko")
    assert steps is not None
    assert any("X-Api-Key" in step for step in steps.steps)
    assert lookups.get_playbook("check-dns").steps_for("nope") is None


def test_it_leads_to_every_playbook_from_some_entry_or_cause() -> None:
    for playbook in lookups.playbooks():
        leading = [
            *lookups.entries_leading_to(playbook.slug),
            *lookups.causes_leading_to(playbook.slug),
        ]
        assert leading, playbook.slug


@pytest.mark.parametrize("status", REGISTERED_STATUSES)
def test_it_knows_what_http_says_of_every_registered_status(status: int) -> None:
    entry = lookups.get_profile("http").statuses[status]
    assert entry.code == f"http.{status}"
    assert entry.reason and entry.http_says
    assert entry.http_reference and entry.http_reference.startswith(("RFC 9110 §", "RFC 6585 §"))
    assert entry.http_reference_url and entry.http_reference_url.startswith(
        "https://www.rfc-editor.org/rfc/"
    )
    assert entry.http_meaning and entry.http_reference in entry.http_meaning


def test_it_cites_the_sections_of_the_rfcs() -> None:
    statuses = lookups.get_profile("http").statuses
    assert statuses[401].http_reference == "RFC 9110 §15.5.2"
    assert statuses[429].http_reference == "RFC 6585 §4"
    assert statuses[503].http_reference == "RFC 9110 §15.6.4"
    assert statuses[401].http_reference_url == (
        "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2"
    )


def test_it_has_a_fallback_for_every_status_class() -> None:
    generic = lookups.get_profile("http")
    assert generic.fallback
    assert set(generic.classes) == {"1xx", "2xx", "3xx", "4xx", "5xx", "other"}


def test_it_has_an_entry_for_every_failure_kind() -> None:
    entries = lookups.failure_entries()
    assert [entry.failure_kind for entry in entries] == [kind.value for kind in FailureKind]
    for entry in entries:
        assert entry.code == f"network.{entry.failure_kind}"
        assert entry.playbooks


# ------------------------------------------------------------------- broken data files


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the project's data files, to break."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def edit(path: Path, change: Callable[[str], str]) -> None:
    text = path.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text, "the edit changed nothing"
    path.write_text(changed, encoding="utf-8")


def test_it_loads_a_copy_of_the_data(data_dir: Path) -> None:
    loaded = load_catalog(data_dir)
    assert loaded.get_profile("kaiko").statuses[401].api_meaning == KAIKO_TABLE[401]
    assert loaded == lookups.catalog()


def test_it_adds_an_api_from_a_data_file_alone(data_dir: Path) -> None:
    (data_dir / "profiles" / "acme.toml").write_text(
        """
slug = "acme"
name = "Acme API"
short_name = "Acme"
description = "A test API."
hosts = ["api.acme.test"]
[statuses.418]
meaning = "We only brew tea."
title = "Teapot"
explanation = "Ask for tea."
severity = "error"
retryable = false
playbooks = ["fix-request"]
""",
        encoding="utf-8",
    )
    loaded = load_catalog(data_dir)
    acme = loaded.profile_for_url("https://api.acme.test/x")
    assert acme.slug == "acme"
    assert loaded.entry_for_status(acme, 418).api_meaning == "We only brew tea."
    assert loaded.entry_for_status(acme, 502).code == "http.502"


ACME = """
slug = "acme"
name = "Acme API"
short_name = "Acme"
description = "A test API, added with this file and no code."
hosts = ["api.acme.test"]

[auth]
header = "Acme-Token"
wrong_query_params = ["token"]

[envelope]
result = "status"
message = "error.text"

[request]
methods = ["GET", "POST"]
accept = ["application/json"]

[params.limit]
type = "integer"
min = 1
max = 50
rule = "a whole number from 1 to 50"

[paths]
templates = ["/v1/widgets/{widget}"]

[paths.segments.widget]
pattern = "^w-[0-9]+$"
hint = "Widget ids look like `w-42`."
cause = "404.widget"

[statuses.418]
meaning = "We only brew tea."
title = "Teapot"
explanation = "Ask for tea."
severity = "error"
retryable = false
playbooks = ["fix-request"]

[causes."401.no_key"]
title = "No Acme token"
explanation = "Send `Acme-Token`."
playbooks = ["reauthenticate"]

[causes."404.widget"]
title = "No such widget"
explanation = "Widget ids look like `w-42`."
playbooks = ["fix-endpoint"]
"""


def test_it_adds_an_api_with_its_rules_from_a_data_file_alone(data_dir: Path) -> None:
    from apps.diagnosis.diagnose import diagnose
    from apps.egress.types import Exchange, Response

    (data_dir / "profiles" / "acme.toml").write_text(ACME, encoding="utf-8")
    loaded = load_catalog(data_dir)
    acme = loaded.profile_for_url("https://api.acme.test/v1/widgets/w-1")

    def answer(status: int, url: str, body: bytes, headers: list[tuple[str, str]]) -> str:
        response = Response(status, "", [("Content-Type", "application/json")], body, False)
        return diagnose(Exchange("GET", url, headers, response, None, 1.0), acme, using=loaded).code

    base = "https://api.acme.test/v1/widgets"
    assert answer(401, base + "/w-1", b"", []) == "acme.401.no_key"
    assert answer(401, base + "/w-1?token=abcdef12", b"", []) == "http.401.key_in_query"
    assert answer(401, base + "/w-1", b"", [("Acme-Token", "zzzzzz12")]) == "http.401.key_rejected"
    assert answer(404, base + "/widget-1", b"", []) == "acme.404.widget"
    assert answer(400, base + "?limit=99", b"", []) == "acme.400.param.limit"
    message = b'{"status": "failed", "error": {"text": "limit is too high"}}'
    assert answer(400, base + "?limit=9", message, []) == "acme.400.param.limit"  # named
    assert answer(429, base, b"", []) == "http.429.burst"


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        (
            '[causes."401.no_keys"]\ntitle = "x"\nexplanation = "x"\nplaybooks = ["back-off"]\n',
            "causes.401.no_keys: is not a cause the rules can tell apart",
        ),
        (
            '[causes."400.param.limit"]\ntitle = "x"\nexplanation = "x"\nplaybooks = ["fix"]\n',
            "causes.400.param.limit: is not a cause",
        ),
        (
            '[causes."401.no_key"]\ntitle = "x"\nexplanation = "x"\nplaybooks = ["nope"]\n',
            "acme.401.no_key: playbooks: no playbook 'nope'",
        ),
        (
            '[causes."401.no_key"]\ntitle = "x"\nexplanation = "x"\nplaybooks = []\n',
            "acme.401.no_key: playbooks: a cause needs a playbook",
        ),
        ('[params.limit]\ntype = "number"\nrule = "x"\n', "params.limit.type: must be one of"),
        (
            '[params.since]\ntype = "datetime"\nbefore = "until"\nrule = "x"\n',
            "params.since.before: before must name another datetime parameter",
        ),
        (
            '[params.every]\ntype = "duration"\nrule = "x"\n',
            "params.every.units: a duration needs units",
        ),
        (
            '[paths]\ntemplates = ["/v1/{thing}"]\n',
            "uses {thing}, which has no [paths.segments.thing]",
        ),
        (
            '[paths.segments.thing]\ncause = "404.thing"\n',
            'paths.segments.thing.cause: no [causes."404.thing"] words it',
        ),
        ('[paths.segments.thing]\ncause = "400.thing"\n', "must be a 404 cause key"),
        (
            '[auth]\nheader = "X"\nwrong_headers = "Authorization"\n',
            "auth.wrong_headers: is required and must be a list",
        ),
        ('[envelope]\nresults = "x"\n', "envelope: unknown key(s) results"),
    ],
)
def test_it_refuses_a_broken_rule_and_says_where(
    data_dir: Path, addition: str, message: str
) -> None:
    (data_dir / "profiles" / "acme.toml").write_text(
        'slug = "acme"\nname = "Acme"\nshort_name = "Acme"\ndescription = "x"\n' + addition,
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as raised:
        load_catalog(data_dir)
    assert message in str(raised.value)
    assert "acme.toml" in str(raised.value)


def test_it_needs_the_generic_profile_to_word_every_cause(data_dir: Path) -> None:
    edit(
        data_dir / "profiles" / "generic.toml",
        lambda text: text.replace('[causes."5xx.gateway"]', '[causes."502.gateway"]'),
    )
    with pytest.raises(
        CatalogError, match=re.escape("must word every cause; missing: 5xx.gateway")
    ):
        load_catalog(data_dir)


def test_it_refuses_an_unknown_failure_detail_name(data_dir: Path) -> None:
    edit(
        data_dir / "network.toml",
        lambda text: text.replace(
            "[failures.tls.details.self_signed]", "[failures.tls.details.Self-Signed]"
        ),
    )
    with pytest.raises(
        CatalogError, match=re.escape("failures.tls.details.Self-Signed: a detail must be")
    ):
        load_catalog(data_dir)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "profiles/kaiko.toml",
            'playbooks = ["back-off"]',
            'playbooks = ["back-of"]',
            "kaiko.429: playbooks: no playbook 'back-of'",
        ),
        (
            "idioms.toml",
            "rate_limited = [",
            "rate_limitd = [",
            "idioms.toml: codes.rate_limitd: is not an idiom token",
        ),
        (
            "idioms.toml",
            'invalid_token = ["invalid_token",',
            'invalid_token = ["invalid_token", "ThrottlingException",',
            "idioms.toml: codes.invalid_token: 'ThrottlingException' is already listed",
        ),
        (
            "idioms.toml",
            'name = "Stripe-style error object"',
            'name = "Stripe-style error object"\nshape = "x"',
            "idioms.toml: envelopes[1]: unknown key(s) shape",
        ),
        (
            "profiles/aws.toml",
            'cause = "404.no_such_resource"',
            'cause = "404.nowhere"',
            "aws.toml: codes.NoSuchBucket.cause: '404.nowhere' is neither an idiom token",
        ),
        (
            "profiles/aws.toml",
            'host_suffixes = [".amazonaws.com"',
            'host_suffixes = ["amazonaws.com"',
            "aws.toml: host_suffixes: 'amazonaws.com' must start with a dot",
        ),
        (
            "profiles/graphql.toml",
            'path_patterns = ["(^|/)graphql/?$"',
            'path_patterns = ["(graphql"',
            "graphql.toml: path_patterns: '(graphql' is not a regular expression",
        ),
        (
            "profiles/kaiko.toml",
            "requests = 6000",
            "requests = 0",
            "kaiko.toml: rate_limit: requests and window_seconds are required",
        ),
        (
            "profiles/kaiko.toml",
            'title = "Rate limit reached"',
            'titel = "Rate limit reached"',
            "kaiko.toml: statuses.429: unknown key(s) titel",
        ),
        (
            "profiles/kaiko.toml",
            'severity = "warning"\nretryable = true\nplaybooks = ["back-off"]',
            'severity = "fatal"\nretryable = true\nplaybooks = ["back-off"]',
            "kaiko.toml: statuses.429.severity: must be one of",
        ),
        (
            "profiles/kaiko.toml",
            "[statuses.405]",
            "[statuses.999]",
            "kaiko.toml: statuses.999: a status must be a number from 100 to 599",
        ),
        (
            "profiles/generic.toml",
            "fallback = true",
            "fallback = false",
            "generic.toml: statuses.100: unknown key(s) reason, reference, says",
        ),
        (
            "profiles/generic.toml",
            "\n[classes.other]\n",
            "\n[classes.6xx]\n",
            "generic.toml: classes.6xx: a status class must be one of",
        ),
        (
            "profiles/generic.toml",
            'reference = "RFC 9110 §15.5.2"\n',
            "",
            "generic.toml: statuses.401: needs reason, says and reference",
        ),
        (
            "network.toml",
            "[failures.tls]",
            "[failures.ssl]",
            "network.toml: failures.ssl: is not a failure kind",
        ),
        (
            "playbooks.toml",
            "[reauthenticate.profiles.kaiko]",
            "[reauthenticate.profiles.kaikoo]",
            "playbooks.toml: reauthenticate.profiles.kaikoo: no such profile",
        ),
        (
            "playbooks.toml",
            'action = "back_off"',
            'action = "sleep"',
            "playbooks.toml: back-off.action: must be one of",
        ),
        (
            "playbooks.toml",
            '[check-tls]\ntitle = "Check the TLS setup"',
            '[check-tls]\ntitle = ""',
            "playbooks.toml: check-tls.title: is required",
        ),
        (
            "playbooks.toml",
            "[wait-for-maintenance]",
            "[wait-for-maintenance",
            "playbooks.toml: not valid TOML",
        ),
    ],
)
def test_it_refuses_a_broken_file_and_says_where(
    data_dir: Path, file: str, old: str, new: str, message: str
) -> None:
    edit(data_dir / file, lambda text: text.replace(old, new, 1))
    with pytest.raises(CatalogError) as raised:
        load_catalog(data_dir)
    assert message in str(raised.value)


def test_it_refuses_a_host_claimed_twice(data_dir: Path) -> None:
    (data_dir / "profiles" / "zeta.toml").write_text(
        'slug = "zeta"\nname = "Zeta"\nshort_name = "Z"\ndescription = "A copy."\n'
        'hosts = ["eu.market-api.kaiko.io"]\n',
        encoding="utf-8",
    )
    with pytest.raises(
        CatalogError, match=re.escape("zeta.toml: hosts: 'eu.market-api.kaiko.io' is already")
    ):
        load_catalog(data_dir)


def test_it_refuses_a_slug_used_twice(data_dir: Path) -> None:
    shutil.copy(data_dir / "profiles" / "kaiko.toml", data_dir / "profiles" / "kaiko2.toml")
    with pytest.raises(CatalogError, match=re.escape("kaiko2.toml: slug: 'kaiko' is already used")):
        load_catalog(data_dir)


def test_it_refuses_a_missing_failure_kind(data_dir: Path) -> None:
    edit(data_dir / "network.toml", lambda text: text.split("[failures.other]")[0])
    with pytest.raises(CatalogError, match=r"network\.toml: failures: .*missing: other"):
        load_catalog(data_dir)


def test_it_needs_one_fallback_profile(data_dir: Path) -> None:
    (data_dir / "profiles" / "generic.toml").unlink()
    with pytest.raises(
        CatalogError, match=re.escape("exactly one profile must say fallback = true")
    ):
        load_catalog(data_dir)


def test_it_refuses_a_missing_file(data_dir: Path) -> None:
    (data_dir / "playbooks.toml").unlink()
    with pytest.raises(CatalogError, match=re.escape("playbooks.toml: the file is missing")):
        load_catalog(data_dir)


def test_it_refuses_an_error_without_a_playbook(data_dir: Path) -> None:
    edit(
        data_dir / "profiles" / "kaiko.toml",
        lambda text: text.replace('playbooks = ["use-allowed-method"]', "playbooks = []"),
    )
    with pytest.raises(CatalogError, match="severity error needs a playbook"):
        load_catalog(data_dir)
