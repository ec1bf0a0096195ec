"""Address ranges the egress policy must refuse, their IPv6 disguises and odd spellings.

Written from the requirements (issue 4, RFC 6890 and the IANA special-purpose registries),
not copied from the policy, so that the tests check the policy against them.
"""

import ipaddress

from hypothesis import strategies as st

REFUSED_V4 = [
    "0.0.0.0/8",  # "this network", 0.0.0.0 connects to the host itself on Linux
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local, 169.254.169.254 is the cloud metadata service
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
]
REFUSED_V6 = [
    "::/128",
    "::1/128",
    "::/96",  # IPv4-compatible, deprecated
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard-only
    "2001::/23",  # IETF protocol assignments, Teredo included
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6
    "fc00::/7",  # unique local, fd00:ec2::254 is the AWS metadata service
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local
    "ff00::/8",  # multicast
    "4000::/3",  # not global unicast at all
]
PUBLIC_ADDRESSES = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address
]

V6 = ipaddress.IPv6Address


def _ipv6_disguises(inner: ipaddress.IPv4Address, noise: int) -> list[str]:
    """Every IPv6 form that carries `inner`, with `noise` filling the free bits."""
    value = int(inner)
    server = noise & 0xFFFFFFFF
    flags, port = (noise >> 32) & 0xFFFF, (noise >> 48) & 0xFFFF
    return [
        str(V6(0xFFFF << 32 | value)),  # ::ffff:a.b.c.d, mapped
        str(V6(0xFFFF << 48 | value)),  # ::ffff:0:a.b.c.d, SIIT translated
        str(V6(value)),  # ::a.b.c.d, compatible
        str(V6(0x2002 << 112 | value << 80 | noise & (2**80 - 1))),  # 6to4
        # Teredo: 2001:0::/32, server, flags, then port and client address obfuscated.
        str(
            V6(
                0x20010000 << 96
                | server << 64
                | flags << 48
                | (port ^ 0xFFFF) << 32
                | (value ^ 0xFFFFFFFF)
            )
        ),
        str(V6(0x0064FF9B << 96 | value)),  # 64:ff9b::a.b.c.d, NAT64
        str(inner),
    ]


@st.composite
def disguised_refused_addresses(draw: st.DrawFn) -> str:
    """An address from a refused IPv4 range, in one of its IPv6 disguises (or plain)."""
    network = ipaddress.IPv4Network(draw(st.sampled_from(REFUSED_V4)))
    inner = network.network_address + draw(st.integers(0, network.num_addresses - 1))
    noise = draw(st.integers(0, 2**80 - 1))
    return draw(st.sampled_from(_ipv6_disguises(inner, noise)))


def ipv4_spellings(address: ipaddress.IPv4Address) -> list[str]:
    """Ways to write an IPv4 address in a URL that browsers and inet_aton accept."""
    a, b, c, d = address.packed
    value = int(address)
    return [
        str(address),
        f"{address}.",
        str(value),
        f"0x{value:x}",
        f"0X{value:X}",
        f"0{value:o}",
        f"0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}",
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        f"{a}.{value & 0xFFFFFF}",
        f"{a}.{b}.{value & 0xFFFF}",
        f"0x{a:x}.{b}.0{c:o}.{d}",
        f"{a}\u3002{b}\u3002{c}\u3002{d}",  # ideographic full stops, mapped by IDNA
        f"{a}\uff0e{b}\uff0e{c}\uff0e{d}",  # fullwidth full stops
    ]
