"""The sandbox's API keys and what each is entitled to.

The key names are part of the project's contract: the demo presets, the diagnosis tests
and the system tests send them. Change a plan here, never a name.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

API_KEY_HEADER = "X-Api-Key"
SCENARIO_HEADER = "X-Sandbox-Scenario"

DEMO_KEY = "sandbox-demo-key"
LIMITED_KEY = "sandbox-limited-key"
NOPERM_KEY = "sandbox-noperm-key"
BURST_KEY = "sandbox-burst-key"


@dataclass(frozen=True)
class KeyPlan:
    """A subscription: which instruments a key may query, from when, and how often."""

    key: str
    summary: str
    # None: every instrument the sandbox knows.
    instruments: frozenset[str] | None
    rate_limit: int
    rate_window_seconds: int
    # Start of the key's access range (None: unbounded). Data before it is not returned.
    access_start: datetime | None = None
    # The key authenticates but holds no instrument at all; the refusal arrives as a 401
    # with Kaiko's message (seen in the wild), not as a 403.
    no_permission: bool = False


KEY_PLANS: dict[str, KeyPlan] = {
    plan.key: plan
    for plan in (
        KeyPlan(
            key=DEMO_KEY,
            summary="Valid, entitled to every exchange and instrument.",
            instruments=None,
            rate_limit=120,
            rate_window_seconds=60,
        ),
        KeyPlan(
            key=LIMITED_KEY,
            summary="Valid, but only entitled to btc-usd, and only from 2024-01-01.",
            instruments=frozenset({"btc-usd"}),
            rate_limit=120,
            rate_window_seconds=60,
            access_start=datetime(2024, 1, 1, tzinfo=UTC),
        ),
        KeyPlan(
            key=NOPERM_KEY,
            summary="Valid, but holds no instrument: answers 401 with Kaiko's entitlement message.",
            instruments=frozenset(),
            rate_limit=120,
            rate_window_seconds=60,
            no_permission=True,
        ),
        KeyPlan(
            key=BURST_KEY,
            summary="Valid, entitled to everything, but limited to 2 requests per 10 seconds.",
            instruments=None,
            rate_limit=2,
            rate_window_seconds=10,
        ),
    )
}
