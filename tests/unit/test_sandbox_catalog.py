"""The sandbox's exchanges and instruments (apps.sandbox.catalog)."""

import pytest

from apps.sandbox.catalog import INSTRUMENTS, find_instrument


def test_it_finds_a_listed_instrument() -> None:
    found = find_instrument("cbse", "spot", "btc-usd")
    assert found is INSTRUMENTS[("cbse", "spot", "btc-usd")]
    assert (found.exchange, found.instrument_class, found.code) == ("cbse", "spot", "btc-usd")


@pytest.mark.parametrize(
    ("exchange", "instrument_class", "code"),
    [("nope", "spot", "btc-usd"), ("cbse", "future", "btc-usd"), ("cbse", "spot", "BTC-USD")],
)
def test_it_finds_nothing_for_an_unlisted_one(
    exchange: str, instrument_class: str, code: str
) -> None:
    assert find_instrument(exchange, instrument_class, code) is None


def test_an_instrument_names_its_base_and_quote_assets() -> None:
    instrument = INSTRUMENTS[("cbse", "spot", "btc-usd")]
    assert (instrument.base_asset, instrument.quote_asset) == ("btc", "usd")


def test_every_instrument_is_keyed_by_what_it_is() -> None:
    for (exchange, instrument_class, code), instrument in INSTRUMENTS.items():
        assert (instrument.exchange, instrument.instrument_class, instrument.code) == (
            exchange,
            instrument_class,
            code,
        )
        assert instrument.base_price > 0
