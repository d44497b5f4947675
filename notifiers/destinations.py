"""Where a subscriber's webhook may point: SSRF protection, at subscribe and at send time.

A webhook URL is the one address a stranger chooses and we then POST to. Unless an address
is in ``NOTIFIERS["WEBHOOK_ALLOWED_NETWORKS"]``, we refuse any that is not globally
routable: private (10/8, 192.168/16, fc00::/7...), loopback, link-local (169.254/16, where
cloud metadata services answer), shared, multicast, reserved or unspecified.

What is checked is the address the name resolves to, not the name: at subscribe time the
form resolves the host, and at send time the connection itself resolves, checks and then
connects to the very address it checked (``guarded_session``), so a name that later
resolves elsewhere (DNS rebinding) is still refused. A name with several addresses is
refused if any of them is.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedDestination(Exception):
    """The destination resolves to an address we do not send to. Not an OSError, so
    neither urllib3 nor requests wraps or retries it."""


@lru_cache(maxsize=8)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def allowed_networks() -> tuple:
    return _networks(tuple(settings.NOTIFIERS.get("WEBHOOK_ALLOWED_NETWORKS") or ()))


def kind_of(address: Address) -> str:
    """Why an address is not public ("" when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        tunnelled = tunnel_kind(address)
        if tunnelled:
            return tunnelled
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "" if address.is_global else "non-public"


def tunnel_kind(address: ipaddress.IPv6Address) -> str:
    """A 6to4 (2002::/16) or Teredo (2001::/32) address reaches the IPv4 address it embeds:
    it is refused when that address would be ("2002:a9fe:a9fe::1" is 169.254.169.254)."""
    embedded: tuple[ipaddress.IPv4Address, ...] = ()
    if address.sixtofour is not None:
        embedded, tunnel = (address.sixtofour,), "6to4"
    elif address.teredo is not None:
        embedded, tunnel = address.teredo, "Teredo"
    for inner in embedded:
        kind = kind_of(inner)
        if kind:
            return f"{tunnel} {kind}"
    return ""


def refusal(host: str, address: str) -> str | None:
    """The reason this resolved address is refused, or None when we may connect to it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    kind = kind_of(ip)
    if not kind or any(ip in network for network in allowed_networks()):
        return None
    return f"refused: {host} resolves to {ip}, a {kind} address (webhook SSRF protection)"


def resolve(host: str, port: int | None) -> list[str]:
    """Every address the name resolves to (raises socket.gaierror when it does not)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    # An IP address string (the stubs also allow the int of a family we do not ask for).
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_address(host: str, port: int | None) -> str:
    """The first address of ``host``, once every one of its addresses passed the check."""
    addresses = resolve(host, port)
    for address in addresses:
        reason = refusal(host, address)
        if reason:
            raise BlockedDestination(reason)
    return addresses[0]


class GuardedConnection:
    """Resolve, check, then connect to the checked address (the Host header and TLS name
    stay the URL's). Mixed into urllib3's connection classes."""

    def _new_conn(self):
        address = checked_address(self._dns_host, self.port)
        host = self._dns_host
        self._dns_host = address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = host


class GuardedHTTPConnection(GuardedConnection, HTTPConnection):
    pass


class GuardedHTTPSConnection(GuardedConnection, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def guarded_session() -> requests.Session:
    """A requests session that connects only where ``refusal`` allows. Environment proxies
    are ignored: the check must see the subscriber's address, not a proxy's."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
