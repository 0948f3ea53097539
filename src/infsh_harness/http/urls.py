"""Base URLs and hosts, read with httpx's parser (the one every request is sent with).

A base URL is ``http`` or ``https``, has a valid host (an IPv6 address in brackets) and a port in
range, is at most :data:`MAX_URL_LENGTH` characters, has no query or fragment, and carries no
user-info: ``user:password@`` would turn into Basic auth that replaces the API key, so it is refused
(the key goes in ``INFSH_API_KEY``) and never shown in the message. The CLI, the contract suite's
options and the driver all check a URL here.
"""

from __future__ import annotations

import ipaddress
import re

import httpx

__all__ = ["MAX_URL_LENGTH", "check_base_url", "is_loopback_host", "shown", "valid_host"]

MAX_URL_LENGTH = 2048  # longer is no base URL (httpx itself stops at 65536)
_SHOWN = 100  # characters of a refused value echoed back
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def shown(text: str) -> str:
    """``text`` as it is echoed back in a message: quoted, and cut after a hundred characters."""
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def valid_host(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return all(_LABEL.match(label) for label in host.lower().rstrip(".").split("."))


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``, by the literal (no name is resolved)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(text: str, flag: str = "--base-url") -> str:
    """``text`` as a base URL (without a trailing ``/``); ``ValueError`` with the one line saying why not.

    The message never repeats the URL's user-info."""
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"{flag} is {len(text)} characters long; a base URL has at most {MAX_URL_LENGTH}")
    if not text.strip():
        raise ValueError(f"{flag} is empty")
    try:
        url = httpx.URL(text)
        url_port = url.port
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "@" in text:  # the parser's message may quote the part with the credentials
            why = "it cannot be parsed"
        hint = (
            " (an IPv6 address goes in brackets: http://[::1]:8080)" if text.count(":") > 2 and "[" not in text else ""
        )
        raise ValueError(f"{flag} cannot be parsed: {why}{hint}") from None
    if url.userinfo:
        raise ValueError(f"{flag} must not carry user-info (user:password@): the API key goes in INFSH_API_KEY")
    if url.scheme not in ("http", "https"):
        raise ValueError(f"{flag} must be an http:// or https:// URL, not {shown(text)}")
    if not url.host:
        raise ValueError(f"{flag} names no host: {shown(text)}")
    if not valid_host(url.host):
        raise ValueError(f"{flag} has no valid host name or address: {shown(url.host)}")
    if url_port is not None and not 1 <= url_port <= 65535:
        raise ValueError(f"{flag} port must be from 1 to 65535, not {url_port}")
    if url.query or url.fragment:
        raise ValueError(f"{flag} is a base URL: no query and no fragment")
    return text.rstrip("/")
