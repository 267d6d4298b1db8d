"""Outbound HTTP that will not talk to private networks: agencies' webhooks and the on-call
pager both go through ``post``.

SSRF: the target host is resolved once, every address must be public (unless loopback is
explicitly allowed for the embedded default), and the connection is made to that vetted
address, so a DNS answer that changes between check and connect cannot redirect it.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 15.0
MAX_RESPONSE_BYTES = 4096


class UnsafeTarget(ValueError):
    """The URL resolves to an address VIHub must not send case data to."""


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and leads to: IPv4-mapped (::ffff:a.b.c.d), 6to4
    (2002::/16), Teredo (2001::/32), NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and the deprecated
    IPv4-compatible form (::a.b.c.d)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64):
        return low
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d (not :: or ::1)
        return low
    return None


def _address_allowed(address: str, *, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if allow_loopback and ip.is_loopback:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        # Where it really goes: 64:ff9b::7f00:1 is 127.0.0.1 through a NAT64 gateway.
        return inner.is_global and not inner.is_multicast
    return ip.is_global and not ip.is_multicast


def vet_url(url: str, *, allow_loopback: bool) -> tuple[str, str, int, str]:
    """Check a webhook URL; returns (scheme, host, port, vetted IP). Raises UnsafeTarget."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise UnsafeTarget("The URL must be http(s)://host/…")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL must not carry credentials")
    if parts.scheme == "http" and not allow_loopback:
        raise UnsafeTarget("Webhooks must use https")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"{parts.hostname} does not resolve") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    bad = [a for a in addresses if not _address_allowed(a, allow_loopback=allow_loopback)]
    if bad or not addresses:
        raise UnsafeTarget(
            f"{parts.hostname} resolves to a private, loopback or link-local address ({', '.join(bad)})"
        )
    return parts.scheme, parts.hostname, port, addresses[0]


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    latency_ms: int
    error: str


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted IP, with certificate checks and SNI for the real host name."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(*, url: str, body: bytes, headers: dict[str, str], allow_loopback: bool) -> HttpResult:
    """POST once, following no redirects. Never raises for network trouble: it reports it."""
    started = time.monotonic()
    try:
        scheme, host, port, ip = vet_url(url, allow_loopback=allow_loopback)
    except UnsafeTarget as exc:
        return HttpResult(None, 0, f"refused: {exc}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = _PinnedHTTPSConnection(host, ip, port, TIMEOUT_SECONDS)
    else:
        connection = http.client.HTTPConnection(ip, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body=body, headers={**headers, "Host": parts.netloc})
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return HttpResult(response.status, int((time.monotonic() - started) * 1000), "")
    except (OSError, http.client.HTTPException) as exc:
        return HttpResult(
            None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}"[:300]
        )
    finally:
        connection.close()
