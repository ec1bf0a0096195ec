"""Ready-made requests that fill the submit form: the built-in sandbox and the real Kaiko hosts."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

OHLCV_PATH = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
TRADES_PATH = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
ACCEPT_JSON = "Accept: application/json"
# The names the TLS sandbox's certificates are made for (see apps/sandbox/certificates.py).
TLS_SANDBOX_HOSTS = ("localhost", "127.0.0.1")


def tls_sandbox_origin(sandbox_base: str, case: str) -> str:
    """``https://<host>:<port>`` of one TLS sandbox certificate (`case` names it).

    The host is the one the page was asked on when the certificates name it, else
    ``localhost``: the TLS sandbox listens on loopback, next to the web server.
    """
    host = urlsplit(sandbox_base).hostname or ""
    if host not in TLS_SANDBOX_HOSTS:
        host = "localhost"
    return f"https://{host}:{settings.SANDBOX_TLS_PORTS[case]}"


@dataclass(frozen=True)
class Preset:
    slug: str
    label: str
    group: str
    path: str  # for the sandbox: below /sandbox (or the TLS sandbox's root); else the whole URL
    params: str = ""
    headers: str = ACCEPT_JSON
    api_key: str = ""
    method: str = "GET"
    sandbox: bool = True
    timeout: float | None = None
    follow_redirects: bool = False
    tls: str = ""  # a TLS sandbox certificate (a key of settings.SANDBOX_TLS_PORTS)

    def initial(self, sandbox_base: str) -> dict[str, object]:
        if self.tls:
            url = f"{tls_sandbox_origin(sandbox_base, self.tls)}{self.path}"
        else:
            url = f"{sandbox_base}{self.path}" if self.sandbox else self.path
        return {
            "method": self.method,
            "url": url,
            "params": self.params,
            "headers": self.headers,
            "api_key": self.api_key,
            "follow_redirects": self.follow_redirects,
            **({"timeout": self.timeout} if self.timeout else {}),
        }


PRESETS = [
    Preset(
        "sandbox-ohlcv",
        "OHLCV, valid key (200)",
        "Sandbox",
        f"/us{OHLCV_PATH}",
        params="interval=1h\npage_size=5",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-no-key", "No API key (401)", "Sandbox", f"/us{OHLCV_PATH}", params="interval=1h"
    ),
    Preset(
        "sandbox-no-permission",
        "Key without these instruments (401)",
        "Sandbox",
        f"/us{OHLCV_PATH}",
        api_key="sandbox-noperm-key",
    ),
    Preset(
        "sandbox-forbidden",
        "Instrument outside the key's access (403)",
        "Sandbox",
        "/us/v2/data/trades.v1/exchanges/cbse/spot/eth-usd/aggregations/ohlcv",
        api_key="sandbox-limited-key",
    ),
    Preset(
        "sandbox-bad-interval",
        "Interval over one day (400)",
        "Sandbox",
        f"/us{OHLCV_PATH}",
        params="interval=2d",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-not-found",
        "Unknown instrument (404)",
        "Sandbox",
        "/us/v2/data/trades.v1/exchanges/cbse/spot/btc-xyz/trades",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-method",
        "POST to a GET endpoint (405)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        api_key="sandbox-demo-key",
        method="POST",
    ),
    Preset(
        "sandbox-accept",
        "Accept: text/html (406)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers="Accept: text/html",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-rate-limit",
        "Rate limit reached (429)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: ratelimit",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-fault",
        "Internal error (500)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: fault",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-maintenance",
        "Maintenance (503)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: maintenance",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-access-range",
        "Time range outside the key's access (403)",
        "Sandbox",
        f"/us{OHLCV_PATH}",
        params="start_time=2023-06-01T00:00:00Z",
        api_key="sandbox-limited-key",
    ),
    Preset(
        "sandbox-key-in-query",
        "Key in the query string (401)",
        "Sandbox",
        f"/us{OHLCV_PATH}",
        params="api_key=sandbox-demo-key",
    ),
    Preset(
        "sandbox-rate-limit-date",
        "429 with Retry-After as a date",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: ratelimit=date",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-rate-limit-legacy",
        "429 with X-RateLimit-* only",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: ratelimit=legacy",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-gateway",
        "Proxy error page (502 HTML)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: gateway",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-gateway-timeout",
        "Gateway timeout (504 HTML)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: gateway-timeout",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-problem",
        "problem+json body (400)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: problem",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-slow",
        "Slower than the timeout (read timeout)",
        "Sandbox",
        f"/us{TRADES_PATH}",
        headers=f"{ACCEPT_JSON}\nX-Sandbox-Scenario: slow=5",
        api_key="sandbox-demo-key",
        timeout=2,
    ),
    Preset(
        "sandbox-redirects",
        "Redirects to the echo (302, follow them)",
        "Sandbox",
        "/redirect/3",
        headers=ACCEPT_JSON,
        follow_redirects=True,
    ),
    Preset(
        "sandbox-echo",
        "Echo: see exactly what was sent",
        "Sandbox",
        "/echo",
        api_key="sandbox-demo-key",
    ),
    Preset(
        "sandbox-large",
        "Body over the size cap (200, cut)",
        "Sandbox",
        "/large",
        params="mb=8",
    ),
    Preset(
        "sandbox-bomb",
        "Gzip bomb, 1 GiB decoded (200, cut)",
        "Sandbox",
        "/bomb",
        params="mb=1024",
    ),
    Preset(
        "sandbox-gzip-padding",
        "Compressed body over the cap (too large)",
        "Sandbox",
        "/gzip-padding",
        params="mb=8",
    ),
    Preset(
        "sandbox-layers",
        "Gzip three times over (too large)",
        "Sandbox",
        "/layers",
        params="n=3",
    ),
    Preset("sandbox-tls-good", "TLS: valid certificate (200)", "Sandbox", "/", tls="good"),
    Preset("sandbox-tls-expired", "TLS: expired certificate", "Sandbox", "/", tls="expired"),
    Preset(
        "sandbox-tls-wrong-host",
        "TLS: certificate for another host name",
        "Sandbox",
        "/",
        tls="wrong-host",
    ),
    Preset(
        "sandbox-tls-self-signed", "TLS: self-signed certificate", "Sandbox", "/", tls="self-signed"
    ),
    Preset(
        "sandbox-tls-untrusted",
        "TLS: certificate from an unknown CA",
        "Sandbox",
        "/",
        tls="untrusted",
    ),
    Preset(
        "kaiko-us-ohlcv",
        "US market data: OHLCV",
        "Kaiko",
        f"https://us.market-api.kaiko.io{OHLCV_PATH}",
        params="interval=1h\npage_size=10",
        sandbox=False,
    ),
    Preset(
        "kaiko-eu-trades",
        "EU market data: trades",
        "Kaiko",
        f"https://eu.market-api.kaiko.io{TRADES_PATH}",
        sandbox=False,
    ),
    Preset(
        "kaiko-reference-instruments",
        "Reference data: instruments (no key)",
        "Kaiko",
        "https://reference-data-api.kaiko.io/v1/instruments",
        sandbox=False,
    ),
]
PRESETS_BY_SLUG = {preset.slug: preset for preset in PRESETS}


def available_presets() -> list[Preset]:
    """The presets this server offers: those of the sandbox only while it is enabled."""
    return [p for p in PRESETS if settings.SANDBOX_ENABLED or not (p.sandbox or p.tls)]


def get_preset(slug: str) -> Preset | None:
    preset = PRESETS_BY_SLUG.get(slug)
    return preset if preset in available_presets() else None


def preset_groups() -> dict[str, list[Preset]]:
    groups: dict[str, list[Preset]] = {}
    for preset in available_presets():
        groups.setdefault(preset.group, []).append(preset)
    return groups
