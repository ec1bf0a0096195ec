"""What the phase timings and the TLS facts of an exchange say: pure functions.

`with_timing(diagnosis, exchange)` adds to a diagnosis what the egress client measured:
- a failure's first cause gets the facts behind it: the phase a timeout struck in and how
  long the phases before it took; for a refused certificate its expiry date, the names it
  is valid for, or its issuer;
- a response gets possible causes for a slow phase (DNS, connect, TLS handshake, first
  byte, download) and a warning when the certificate expires within
  `EXPIRY_WARNING_DAYS`. The diagnosis' code and title stay those of the status.
"""

from dataclasses import replace

from apps.diagnosis.results import LIKELY, POSSIBLE, Cause, Diagnosis, Evidence
from apps.egress.types import Certificate, Exchange, HopFacts, Timings

# A phase slower than this (ms) is named as a possible cause of a slow exchange.
SLOW_MS = {
    "dns": 500.0,
    "connect": 1000.0,
    "tls": 1000.0,
    "wait": 2000.0,
    "receive": 2000.0,
}
# A valid certificate expiring within this many days is a warning.
EXPIRY_WARNING_DAYS = 14

PHASE_NAMES = {
    "blocked": "before connecting",
    "dns": "DNS lookup",
    "connect": "TCP connect",
    "tls": "TLS handshake",
    "send": "sending the request",
    "wait": "waiting for the first byte",
    "receive": "download",
}

_SLOW_CAUSES = {
    "dns": (
        "timing.slow_dns",
        "Slow DNS lookup",
        "Resolving the host name took {ms}. The worker's resolver, or the API's name servers, "
        "are slow; every new connection pays this again.",
        ["check-dns"],
    ),
    "connect": (
        "timing.slow_connect",
        "Slow TCP connect",
        "Opening the connection took {ms}: the server is far away, overloaded, or packets "
        "are being lost on the way.",
        ["check-connectivity"],
    ),
    "tls": (
        "timing.slow_tls",
        "Slow TLS handshake",
        "The TLS handshake took {ms}. The server is slow to negotiate (a busy TLS terminator, "
        "OCSP fetching, a long certificate chain) or the network is lossy.",
        ["check-tls", "contact-provider"],
    ),
    "wait": (
        "timing.slow_first_byte",
        "Slow first byte: the server took its time to answer",
        "The request was sent, then the server took {ms} before the first byte of its answer: "
        "the time went into the server's own work, not into the transfer.",
        ["retry-later", "contact-provider"],
    ),
    "receive": (
        "timing.slow_download",
        "Slow download of the response",
        "The server started answering quickly but the response took {ms} to arrive in full: "
        "a large body or a slow link. Ask for less per call.",
        ["increase-timeout"],
    ),
}


def ms(value: float) -> str:
    """A duration for people: "12 ms", "1.5 s"."""
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def phase_summary(timings: Timings) -> str:
    """The phases that happened, in order: "DNS lookup 3 ms, TCP connect 12 ms, ..."."""
    parts = []
    for name in ("dns", "connect", "tls", "send", "wait", "receive"):
        value = timings.phase(name)
        if value is not None:
            parts.append(f"{PHASE_NAMES[name]} {ms(value)}")
    if timings.reused:
        parts.insert(0, "over a reused connection")
    return ", ".join(parts)


def _connected(timings: Timings) -> str:
    """How the connection came about: "connected in 13 ms (DNS lookup 1.0 ms, ...)"."""
    if timings.reused:
        return "over a connection kept from an earlier request"
    parts = [
        f"{PHASE_NAMES[name]} {ms(value)}"
        for name in ("dns", "connect", "tls")
        if (value := timings.phase(name)) is not None
    ]
    total = sum(timings.phase(name) or 0.0 for name in ("dns", "connect", "tls"))
    return f"connected in {ms(total)} ({', '.join(parts)})" if parts else "connected"


def timeout_evidence(timings: Timings) -> list[Evidence]:
    """Where a timeout struck, and what came before it."""
    if not timings.failed_in:
        return []
    struck = timings.phase(timings.failed_in) or 0.0
    if timings.failed_in == "wait":
        story = (
            f"{_connected(timings)}, then no byte for {ms(struck)}: the server accepted the "
            "request and did not answer."
        )
    elif timings.failed_in == "receive":
        story = (
            f"{_connected(timings)}; the answer started after {ms(timings.wait or 0.0)}, "
            f"then the transfer was still going after {ms(struck)}: a large or slow body."
        )
    elif timings.failed_in in ("dns", "connect", "tls"):
        before = [
            f"{PHASE_NAMES[name]} {ms(value)}"
            for name in ("dns", "connect")
            if name != timings.failed_in and (value := timings.phase(name)) is not None
        ]
        done = f"{', '.join(before)}, then " if before else ""
        story = f"{done}the {PHASE_NAMES[timings.failed_in]} did not finish in {ms(struck)}."
    else:
        story = f"The request stopped while {PHASE_NAMES[timings.failed_in]}, after {ms(struck)}."
    story = story[0].upper() + story[1:]
    return [Evidence(source="timing", name="phase", value=timings.failed_in, note=story)]


def certificate_evidence(detail: str, leaf: Certificate) -> list[Evidence]:
    """The facts of a refused certificate that explain why it was refused."""
    lines: list[Evidence] = []
    if detail == "certificate_expired":
        days = -leaf.days_left
        lines.append(
            Evidence(
                source="failure",
                name="not after",
                value=leaf.not_after[:10],
                note=f"The certificate expired on {leaf.not_after[:10]}"
                + (f", {days} day{'s' if days != 1 else ''} ago." if days > 0 else "."),
            )
        )
    elif detail == "certificate_not_yet_valid":
        lines.append(
            Evidence(
                source="failure",
                name="not before",
                value=leaf.not_before[:10],
                note=f"The certificate is valid only from {leaf.not_before[:10]}.",
            )
        )
    elif detail == "hostname_mismatch":
        names = ", ".join(leaf.names or [leaf.common_name]) or "(none)"
        lines.append(
            Evidence(
                source="failure",
                name="names",
                value=names,
                note=f"The certificate is valid only for: {names}.",
            )
        )
    elif detail in ("untrusted_issuer", "self_signed"):
        issuer = leaf.issuer_common_name or leaf.issuer
        note = (
            f"The certificate is signed by itself ({issuer}): no authority vouches for it."
            if leaf.self_issued
            else f"The certificate was issued by {issuer}, an authority this worker does not trust."
        )
        lines.append(Evidence(source="failure", name="issuer", value=leaf.issuer, note=note))
    return lines


def expiry_cause(hop: HopFacts) -> Cause | None:
    """A warning for a verified certificate that expires within EXPIRY_WARNING_DAYS."""
    leaf = hop.tls.leaf if hop.tls is not None and hop.tls.verified else None
    if leaf is None or leaf.days_left >= EXPIRY_WARNING_DAYS:
        return None
    days = f"{leaf.days_left} day{'s' if leaf.days_left != 1 else ''}"
    return Cause(
        code="tls.expires_soon",
        title=f"The server's certificate expires in {days}",
        explanation=(
            f"The certificate is valid until {leaf.not_after[:10]}. If it is not renewed "
            "by then, every https request to this host will fail."
        ),
        likelihood=LIKELY,
        evidence=[
            Evidence(
                source="timing",
                name="not after",
                value=leaf.not_after[:10],
                note=f"Issued by {leaf.issuer_common_name or leaf.issuer}.",
            )
        ],
        playbooks=["contact-provider"],
        retryable=False,
    )


def slow_causes(timings: Timings) -> list[Cause]:
    """A possible cause per phase slower than its SLOW_MS threshold, slowest first."""
    slow = [
        (value, name)
        for name, limit in SLOW_MS.items()
        if (value := timings.phase(name)) is not None and value >= limit
    ]
    causes = []
    for value, name in sorted(slow, reverse=True):
        code, title, explanation, playbooks = _SLOW_CAUSES[name]
        likely = value >= 0.5 * timings.total
        causes.append(
            Cause(
                code=code,
                title=title,
                explanation=explanation.format(ms=ms(value)),
                likelihood=LIKELY if likely else POSSIBLE,
                evidence=[
                    Evidence(
                        source="timing",
                        name=name,
                        value=ms(value),
                        note=f"{ms(value)} of {ms(timings.total)} in all: "
                        f"{phase_summary(timings)}.",
                    )
                ],
                playbooks=playbooks,
            )
        )
    return causes


def with_timing(diagnosis: Diagnosis, exchange: Exchange) -> Diagnosis:
    """The diagnosis with what the exchange's timings and TLS facts add (module docstring)."""
    hop = exchange.final_hop
    if hop is None:
        return diagnosis
    causes = list(diagnosis.causes)
    if exchange.failure is not None:
        lines = timeout_evidence(hop.timings) if "timeout" in exchange.failure.kind else []
        leaf = hop.tls.leaf if hop.tls is not None else None
        if leaf is not None and not hop.tls.verified:  # type: ignore[union-attr]
            lines += certificate_evidence(exchange.failure.detail, leaf)
        if lines and causes:
            causes[0] = replace(causes[0], evidence=[*causes[0].evidence, *lines])
        return replace(diagnosis, causes=causes)
    added = slow_causes(hop.timings)
    expiring = [cause for each in exchange.hops if (cause := expiry_cause(each)) is not None]
    added += expiring[:1]
    if not added:
        return diagnosis
    severity = diagnosis.severity
    if expiring and severity in ("ok", "info"):
        severity = "warning"
    known = {cause.code for cause in causes}
    causes += [cause for cause in added if cause.code not in known]
    return replace(diagnosis, causes=causes, severity=severity)
