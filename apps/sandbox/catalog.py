"""What the sandbox knows: a few exchanges, assets and spot instruments.

Anything not listed here answers 404. Prices and volumes are rough orders of magnitude for
the generated data; they are not market data.
"""

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Exchange:
    code: str
    name: str
    legacy_slug: str


@dataclass(frozen=True)
class Asset:
    code: str
    name: str
    asset_class: str


@dataclass(frozen=True)
class Instrument:
    exchange: str
    instrument_class: str
    code: str
    trade_start: datetime
    base_price: float
    price_decimals: int
    daily_volume: float
    daily_trades: int

    @property
    def base_asset(self) -> str:
        return self.code.split("-", 1)[0]

    @property
    def quote_asset(self) -> str:
        return self.code.split("-", 1)[1]


INSTRUMENT_CLASSES = ("spot",)

EXCHANGES: dict[str, Exchange] = {
    exchange.code: exchange
    for exchange in (
        Exchange("cbse", "Coinbase", "cb"),
        Exchange("krkn", "Kraken", "kk"),
        Exchange("bnce", "Binance", "bn"),
    )
}

ASSETS: dict[str, Asset] = {
    asset.code: asset
    for asset in (
        Asset("btc", "Bitcoin", "cryptocurrency"),
        Asset("eth", "Ethereum", "cryptocurrency"),
        Asset("sol", "Solana", "cryptocurrency"),
        Asset("usdt", "Tether", "cryptocurrency"),
        Asset("usd", "US Dollar", "fiat"),
        Asset("eur", "Euro", "fiat"),
    )
}


def _start(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# (code, trade start, base price, price decimals, daily base volume, daily trade count)
_LISTINGS: dict[str, tuple[tuple[str, datetime, float, int, float, int], ...]] = {
    "cbse": (
        ("btc-usd", _start(2015, 1, 14), 60_000.0, 2, 12_000.0, 400_000),
        ("btc-eur", _start(2015, 4, 23), 55_000.0, 2, 1_500.0, 60_000),
        ("eth-usd", _start(2016, 5, 18), 3_000.0, 2, 150_000.0, 300_000),
        ("eth-btc", _start(2016, 5, 18), 0.05, 5, 9_000.0, 40_000),
        ("sol-usd", _start(2021, 6, 16), 150.0, 3, 1_200_000.0, 200_000),
    ),
    "krkn": (
        ("btc-usd", _start(2013, 10, 6), 60_000.0, 1, 4_000.0, 150_000),
        ("btc-eur", _start(2013, 9, 10), 55_000.0, 1, 3_000.0, 120_000),
        ("eth-usd", _start(2015, 8, 7), 3_000.0, 2, 40_000.0, 90_000),
        ("eth-eur", _start(2015, 8, 7), 2_750.0, 2, 30_000.0, 70_000),
        ("sol-usd", _start(2021, 6, 1), 150.0, 2, 300_000.0, 50_000),
    ),
    "bnce": (
        ("btc-usdt", _start(2017, 8, 17), 60_000.0, 2, 30_000.0, 1_500_000),
        ("eth-usdt", _start(2017, 8, 17), 3_000.0, 2, 400_000.0, 1_000_000),
        ("sol-usdt", _start(2020, 8, 11), 150.0, 2, 3_000_000.0, 700_000),
        ("eth-btc", _start(2017, 7, 14), 0.05, 5, 60_000.0, 200_000),
    ),
}

INSTRUMENTS: dict[tuple[str, str, str], Instrument] = {
    (exchange, "spot", code): Instrument(
        exchange=exchange,
        instrument_class="spot",
        code=code,
        trade_start=start,
        base_price=price,
        price_decimals=decimals,
        daily_volume=volume,
        daily_trades=trades,
    )
    for exchange, listings in _LISTINGS.items()
    for code, start, price, decimals, volume, trades in listings
}


def find_instrument(exchange: str, instrument_class: str, code: str) -> Instrument | None:
    return INSTRUMENTS.get((exchange, instrument_class, code))
