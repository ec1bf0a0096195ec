"""The project's catalog, read once per process, and the shortcuts to it: profiles by slug
and by URL, playbooks."""

import pytest

from apps.diagnosis import lookups


def test_it_lists_the_generic_profile_last() -> None:
    slugs = [profile.slug for profile in lookups.profiles()]
    assert slugs[-1] == "http"
    assert "kaiko" in slugs


def test_it_refuses_an_unknown_profile() -> None:
    with pytest.raises(KeyError):
        lookups.get_profile("nope")
    with pytest.raises(KeyError):
        lookups.get_playbook("nope")


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        (
            "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades",
            "kaiko",
        ),
        ("https://eu.market-api.kaiko.io/v2/data/trades.v1/exchanges", "kaiko"),
        ("https://reference-data-api.kaiko.io/v1/instruments", "kaiko"),
        ("HTTPS://US.Market-API.Kaiko.IO:443/v2/x", "kaiko"),
        ("https://us.market-api.kaiko.io./v2/x", "kaiko"),
        (
            "http://127.0.0.1:8000/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades",
            "kaiko",
        ),
        ("http://localhost:8000/sandbox/reference/v1/instruments", "kaiko"),
        ("https://dashboard.example.com/sandbox/eu/v2/x?page_size=10", "kaiko"),
        ("https://api.example.com/v1/items", "http"),
        ("https://kaiko.io.evil.example/v2/x", "http"),
        ("https://market-api.kaiko.io/v2/x", "http"),
        ("https://api.example.com/not-sandbox/sandbox/x", "http"),
        ("https://api.example.com/sandboxed/x", "http"),
        ("https://api.github.com/repos/o/r", "github"),
        # GitHub Enterprise Server: its own host, GitHub's resources under /api/v3/.
        ("https://github.example.com/api/v3/repos/o/r/issues", "github"),
        ("https://github.example.com/api/v3/user", "github"),
        # Other APIs under /api/v3/ are not GitHub.
        ("https://api.binance.com/api/v3/order", "http"),
        ("https://api.example.com/api/v3/widgets", "http"),
        ("not a url", "http"),
        ("http://[::1", "http"),
        ("", "http"),
    ],
)
def test_it_chooses_the_profile_from_the_url(url: str, slug: str) -> None:
    assert lookups.profile_for_url(url).slug == slug


def test_it_caches_the_catalog() -> None:
    assert lookups.catalog() is lookups.catalog()
