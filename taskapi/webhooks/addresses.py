"""Where a webhook may point (SSRF protection): https only, and never at an address inside a network.

A URL is checked when registered and again at every delivery, against the addresses its host
resolves to then; delivery connects to the very addresses it checked (taskapi.webhooks.delivery),
so a host whose DNS answer changes between the check and the connection (DNS rebinding) still
reaches only an address that passed. With WEBHOOK_ALLOW_HTTP (development) http:// and private
addresses are allowed too.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

# IPv6 addresses that embed an IPv4 one are checked as that address (IPv4-mapped, 6to4, Teredo, and NAT64,
# which `is_global` would let through).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud providers' instance metadata services (link-local or private anyway: named for a clearer refusal).
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class RefusedURLError(ValueError):
    """A URL a webhook may not point at; the message says why, for the person registering it."""


@dataclass(frozen=True)
class Target:
    """A URL taken apart: what delivery connects to (`addresses`, each checked) and what it says (`host`, `path`)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...] = ()

    @property
    def host_header(self):
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def forbidden(address):
    """Why an IP address is no place for a webhook (None: it is a public unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden(str(embedded))
    if ip in METADATA:
        return "cloud metadata"
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # CGNAT (100.64.0.0/10) and whatever else IANA keeps from the Internet
        return "non-public"
    return None


def parse(url, allow_http):
    """The URL's scheme, host, port and path, or RefusedURLError: https (or http when allowed), a host, no userinfo."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedURLError("The URL is not valid.") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise RefusedURLError("The URL must start with https://." if not allow_http else
                         "The URL must start with https:// or http://.")
    if parts.username is not None or parts.password is not None:
        raise RefusedURLError("The URL must not hold a user name or password.")
    if not parts.hostname:
        raise RefusedURLError("The URL must name a host.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def resolve(url, allow_http):
    """The URL's target with the addresses to connect to: every address its host resolves to must be public (unless
    allowed, in development); RefusedURLError otherwise, saying why."""
    target = parse(url, allow_http)
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedURLError(f"The host {target.host} could not be resolved.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise RefusedURLError(f"The host {target.host} could not be resolved.")
    if not allow_http:
        for address in addresses:
            why = forbidden(address)
            if why is not None:
                raise RefusedURLError(f"The host {target.host} resolves to a {why} address ({address}); "
                                 "a webhook must reach a public address.")
    return Target(target.scheme, target.host, target.port, target.path, tuple(addresses))
