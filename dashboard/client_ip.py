"""The address of the client a request comes from, for rate limits and lockouts.

Behind TRUSTED_PROXIES reverse proxies, each appends the address it got the request from to
`X-Forwarded-For`, so the client is the entry that many places from its end; without them
(the default), `X-Forwarded-For` is the client's own text and is ignored: the address is the
connection's (`REMOTE_ADDR`).
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < proxies:
        return remote  # fewer entries than proxies: not what the trusted proxies write
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
