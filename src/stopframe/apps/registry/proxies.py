"""Which client a request came from when the registry sits behind reverse proxies.

Per-address limits (wrong PINs, anonymous cases) must count clients, not the proxy in front of
them. A proxy the operator names (`STOPFRAME_TRUSTED_PROXIES`) is believed about the client it
forwards for: the `X-Forwarded-For` chain is read from the right, past trusted hops, and the
first untrusted address is the client. Anyone else's `X-Forwarded-For` is ignored, so a client
cannot choose its own bucket by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    """One `X-Forwarded-For` element as an address, or None when it is not one (a port after
    an IPv4 address and brackets around an IPv6 one, as some proxies write them, are dropped)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class TrustedProxies:
    """The reverse proxies whose `X-Forwarded-For` is believed (none by default)."""

    networks: tuple[Network, ...] = ()

    def trusts(self, address: Address | None) -> bool:
        """True when `address` is one of the trusted proxies."""
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> str:
        """The client's address: the connection's `peer` unless it is a trusted proxy, else the
        rightmost untrusted address of the `X-Forwarded-For` values (all the request's header
        lines, in order). A malformed element stops the walk at the hop that sent it."""
        if peer is None:
            return "unknown"
        if not self.trusts(_address(peer)):
            return peer
        hops = [part for value in forwarded_for for part in value.split(",") if part.strip()]
        client = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return client
            client = str(address)
            if not self.trusts(address):
                return client
        return client
