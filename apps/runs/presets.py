"""Ready-made requests that fill the submit form: the built-in sandbox and the real Kaiko hosts."""

from dataclasses import dataclass

OHLCV_PATH = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
TRADES_PATH = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
ACCEPT_JSON = "Accept: application/json"


@dataclass(frozen=True)
class Preset:
    slug: str
    label: str
    group: str
    path: str  # for the sandbox: below /sandbox; else the whole URL
    params: str = ""
    headers: str = ACCEPT_JSON
    api_key: str = ""
    method: str = "GET"
    sandbox: bool = True

    def initial(self, sandbox_base: str) -> dict[str, object]:
        url = f"{sandbox_base}{self.path}" if self.sandbox else self.path
        return {
            "method": self.method,
            "url": url,
            "params": self.params,
            "headers": self.headers,
            "api_key": self.api_key,
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


def preset_groups() -> dict[str, list[Preset]]:
    groups: dict[str, list[Preset]] = {}
    for preset in PRESETS:
        groups.setdefault(preset.group, []).append(preset)
    return groups
