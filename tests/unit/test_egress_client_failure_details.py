"""The egress client's finer reasons for a failure: DNS no such name versus no answer, TLS
protocol, cipher and not-TLS handshakes, and a body cut before its Content-Length."""

import http.client
import socket
import ssl

import pytest
import requests
import urllib3.exceptions

from apps.egress.client import describe
from apps.egress.policy import dns_detail
from apps.egress.types import FAILURE_DETAILS, FailureKind


@pytest.mark.parametrize(
    ("errno", "detail"),
    [
        (socket.EAI_NONAME, "no_such_host"),
        (getattr(socket, "EAI_NODATA", -5), "no_address"),
        (socket.EAI_AGAIN, "resolution_failed"),
    ],
)
def test_it_tells_no_such_name_from_no_answer(errno: int, detail: str) -> None:
    error = socket.gaierror(errno, "resolver said no")
    assert dns_detail(error) == detail
    wrapped = requests.exceptions.ConnectionError(
        urllib3.exceptions.NameResolutionError("api.example.com", None, error)  # type: ignore[arg-type]
    )
    wrapped.__context__ = error
    failure = describe(wrapped, host="api.example.com")
    assert (failure.kind, failure.detail) == (FailureKind.DNS, detail)


def _ssl_error(reason: str) -> requests.exceptions.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()} (_ssl.c:1000)")
    error.reason = reason
    wrapped = requests.exceptions.SSLError(error)
    wrapped.__context__ = error
    return wrapped


@pytest.mark.parametrize(
    ("reason", "detail"),
    [
        ("TLSV1_ALERT_PROTOCOL_VERSION", "protocol_version"),
        ("UNSUPPORTED_PROTOCOL", "protocol_version"),
        ("SSLV3_ALERT_HANDSHAKE_FAILURE", "cipher_mismatch"),
        ("NO_SHARED_CIPHER", "cipher_mismatch"),
        ("WRONG_VERSION_NUMBER", "not_tls"),
        ("SOMETHING_ELSE", "handshake"),
    ],
)
def test_it_tells_tls_handshakes_apart(reason: str, detail: str) -> None:
    failure = describe(_ssl_error(reason), host="api.example.com")
    assert (failure.kind, failure.detail) == (FailureKind.TLS, detail)
    assert detail in FAILURE_DETAILS[FailureKind.TLS]


def test_it_says_when_the_body_was_shorter_than_announced() -> None:
    cut = http.client.IncompleteRead(b"abc", 97)
    error = requests.exceptions.ChunkedEncodingError(
        urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead", cut)
    )
    failure = describe(error, host="api.example.com")
    assert (failure.kind, failure.detail) == (FailureKind.PROTOCOL, "incomplete_body")
    assert "Content-Length" in failure.message
