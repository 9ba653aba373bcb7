"""SSRF guard for subscriber URLs: resolve, refuse internal addresses, pin the checked address."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from contractsync.errors import RejectedError, TransientError

Resolver = Callable[[str, int], Sequence[str]]
"""Turns (host, port) into IP address strings; injectable so tests can fake DNS answers."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which subscriber URLs the hub may call.

    Attributes:
        allow_private_addresses: Allow loopback, private, link-local (cloud metadata), CGNAT
            and other non-global addresses. Off in production; tests on 127.0.0.1 set it.
        allowed_schemes: URL schemes allowed; plain ``http`` only when explicitly listed.
    """

    allow_private_addresses: bool = False
    allowed_schemes: tuple[str, ...] = ("https",)


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked subscriber URL and the addresses the request may go to.

    Attributes:
        url: The URL as configured.
        addresses: The checked IP addresses, in resolver order; connections are made to them,
            so a DNS answer that changes between the check and the request (rebinding)
            cannot redirect the request.
    """

    url: httpx.URL
    addresses: tuple[str, ...]

    def pinned_url(self, address: str) -> httpx.URL:
        """The URL with its host replaced by one of the checked ``addresses``."""
        return self.url.copy_with(host=address)

    def pinned_extensions(self) -> dict[str, str]:
        """Request extensions (httpx) keeping TLS SNI and the certificate check on the host name."""
        return {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}

    def host_header(self) -> str:
        """The ``Host`` header the subscriber expects (the configured host and port)."""
        return self.url.netloc.decode("ascii")


def system_resolver(host: str, port: int) -> Sequence[str]:
    """Resolve ``host`` with the operating system (every A and AAAA answer).

    Raises:
        OSError: The name does not resolve.
    """
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def check_destination(
    url: str, policy: DestinationPolicy, *, resolver: Resolver = system_resolver
) -> Destination:
    """Check a subscriber URL before any byte is sent to it.

    Every address the host resolves to must be a global unicast address (unless the policy
    allows private ones); IPv4-mapped IPv6 is judged by its IPv4 address, and numeric host
    forms (decimal, hex, octal) are judged by what they resolve to.

    Args:
        url: The subscriber URL.
        policy: What is allowed.
        resolver: DNS resolution.

    Returns:
        The destination with every checked address to pin the connection to.

    Raises:
        RejectedError: ``webhook.destination_refused``: bad scheme, credentials in the URL,
            or an internal address. Retrying will not help; fix the subscription or policy.
        TransientError: The host name does not resolve now.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _refused(url, "it is not a valid URL") from exc
    if parsed.scheme not in policy.allowed_schemes:
        raise _refused(url, f"the scheme {parsed.scheme!r} is not allowed")
    if not parsed.host:
        raise _refused(url, "it has no host")
    if parsed.userinfo:
        raise _refused(url, "credentials in the URL are not allowed")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = resolver(parsed.host, port)
    except OSError as exc:
        raise TransientError(
            f"subscriber host {parsed.host} does not resolve: {exc}",
            code="webhook.destination_unresolved",
            detail={"host": parsed.host},
        ) from exc
    if not addresses:
        raise _refused(url, "its host resolves to no address")
    if not policy.allow_private_addresses:
        for address in addresses:
            if not _is_public(address):
                raise _refused(url, f"it resolves to the internal address {address}")
    return Destination(url=parsed, addresses=tuple(addresses))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _refused(url: str, reason: str) -> RejectedError:
    # The URL is shown without its query string or credentials: both may carry tokens.
    shown = url.split("?", 1)[0].split("@")[-1]
    return RejectedError(
        f"the webhook subscriber URL {shown} is refused: {reason}",
        code="webhook.destination_refused",
        remediation=(
            "Register a public https URL for the subscriber; allow private addresses or plain "
            "http in the outbound webhook settings only for trusted networks."
        ),
        detail={"reason": reason},
    )


__all__ = [
    "Destination",
    "DestinationPolicy",
    "Resolver",
    "check_destination",
    "system_resolver",
]
