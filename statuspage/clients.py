"""Who the client is: the address every per-client limit keys on (subscribe, ping, agent,
login, push registration).

Behind a reverse proxy REMOTE_ADDR is the proxy, the same for every visitor, so one
client's budget would be everyone's. settings.TRUSTED_PROXIES says which hop of
X-Forwarded-For is the client: a count (that many proxies in front of us, each appending the
address it saw) or a list of networks (the hops from the right inside them are our proxies;
the first outside is the client). A hop a client wrote itself is never believed: only hops
our own proxies appended are read. An IPv6 client is its /64, which one host usually holds
whole; IPv4-mapped IPv6 is the IPv4 address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "0.0.0.0"
# The request attribute where the login limiter (incidents.console.throttle) leaves the
# seconds a refused try must still wait, for any login view to read.
LOGIN_THROTTLED = "login_throttled_for"
IPV6_CLIENT_PREFIX = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_proxies(setting: str) -> int | tuple[Network, ...]:
    """The parsed TRUSTED_PROXIES: a hop count, or the proxies' networks."""
    value = setting.strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(","))


def parse(raw: str) -> Address | None:
    try:
        address = ipaddress.ip_address(raw.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def forwarded_hops(request: HttpRequest) -> list[str]:
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return [hop.strip() for hop in header.split(",") if hop.strip()]


def client_address(request: HttpRequest) -> Address | None:
    """The client's own address, by TRUSTED_PROXIES; None when it cannot be read."""
    peer = parse(request.META.get("REMOTE_ADDR") or "")
    proxies = trusted_proxies(str(settings.TRUSTED_PROXIES))
    if peer is None or not proxies:
        return peer
    hops = forwarded_hops(request)
    if isinstance(proxies, int):
        # REMOTE_ADDR is the last proxy; each proxy before it appended the hop it saw.
        # Fewer hops than proxies: the request did not come through them all.
        return parse(hops[-proxies]) if len(hops) >= proxies else peer
    if not any(peer in network for network in proxies):
        return peer
    for hop in reversed(hops):
        address = parse(hop)
        if address is None:
            return None
        if not any(address in network for network in proxies):
            return address
    return parse(hops[0]) if hops else peer


def client_key(request: HttpRequest) -> str:
    """The client's address as limits count it: IPv4 as is, IPv6 as its /64's first address."""
    address = client_address(request)
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network.network_address)
    return str(address)


def login_wait(request: HttpRequest) -> int:
    """Seconds the login limiter made this request's try wait; 0 if the try was checked."""
    return vars(request).get(LOGIN_THROTTLED, 0)
