"""Assertions shared by the egress tests."""

from apps.egress.types import FAILURE_DETAILS, Exchange, FailureKind


def assert_failed(exchange: Exchange, kind: FailureKind, detail: str) -> None:
    """The exchange failed with this kind and detail, and the detail is a documented one."""
    assert exchange.failure is not None, f"expected {kind}/{detail}, got {exchange.response}"
    assert (exchange.failure.kind, exchange.failure.detail) == (kind, detail)
    assert detail in FAILURE_DETAILS[kind], f"{detail!r} is missing from FAILURE_DETAILS"
