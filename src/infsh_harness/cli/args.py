"""Validators for the sub-commands' options, shared by all of them: each option is checked where it
is parsed, so that bad input is one line on stderr and exit 2, before anything runs.

Each ``type=`` helper raises ``argparse.ArgumentTypeError``, which argparse turns into the one-line
usage error (exit 2); the ``check_*`` functions raise ``ValueError`` with the line to print, for
values that do not come from the command line (``INFSH_BASE_URL``) or are checked against others.

- numbers are finite (``NaN`` and ``inf`` are in no range) and within their bounds;
- ports are 0-65535 (:func:`port`) or 1-65535 (:func:`server_port`);
- URLs are read with httpx's parser, the one every request is sent with: scheme ``http`` or
  ``https``, a host (an IPv6 address in brackets), a port in range, at most :data:`MAX_URL_LENGTH`
  characters, and no user-info: ``user:password@`` would turn into Basic auth that replaces the API
  key, so it is refused (the key goes in ``INFSH_API_KEY``) and never shown;
- input files exist, are regular files, readable, at most :data:`MAX_INPUT_BYTES`, and text
  (UTF-8, no NUL byte) where text is expected;
- output folders are not an existing file.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from infsh_harness.http.urls import MAX_URL_LENGTH, check_base_url, is_loopback_host, shown, valid_host

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_URL_LENGTH",
    "base_url",
    "bind_host",
    "check_base_url",
    "check_input_file",
    "count",
    "fail",
    "finite",
    "input_file",
    "is_loopback_host",
    "name_arg",
    "non_negative_float",
    "one_line",
    "out_dir",
    "port",
    "positive_float",
    "positive_int",
    "rate",
    "scrubbed",
    "server_port",
    "whole",
]

MAX_INPUT_BYTES = 256 * 1024 * 1024  # a HAR of a long run is large; anything bigger is a mistake
MAX_SECONDS = 7 * 24 * 3600.0  # the longest any deadline or timeout option may be

_N = TypeVar("_N", int, float)


_shown = shown
_valid_host = valid_host


def _number(text: str, convert: Callable[[str], _N], kind: str, accept: Callable[[_N], bool], wanted: str) -> _N:
    try:
        value = convert(text.strip())
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected {kind}, not {_shown(text)}") from None
    if not math.isfinite(value) or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {wanted}, not {_shown(text)}")
    return value


def _int(text: str) -> int:
    if len(text) > 30:  # no bound of ours has 30 digits, and int() of a huge string is slow
        raise ValueError(text)
    return int(text)


def finite(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A ``type=`` for a finite number from ``low`` (excluded when ``low_open``) to ``high``."""
    wanted = f"a finite number {'above' if low_open else 'at least'} {low:g} and at most {high:g}"

    def parse(text: str) -> float:
        return _number(text, float, "a number", lambda v: (v > low if low_open else v >= low) and v <= high, wanted)

    return parse


def whole(low: int, high: int) -> Callable[[str], int]:
    """A ``type=`` for a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        wanted = f"a finite number at least {low} and at most {high}"
        return _number(text, _int, "a whole number", lambda v: low <= v <= high, wanted)

    return parse


def positive_int(text: str) -> int:
    return _number(text, _int, "a whole number", lambda v: 1 <= v <= 10**9, "at least 1 (and at most 1e9)")


def count(text: str) -> int:
    """A whole number, 0 or more."""
    return _number(text, _int, "a whole number", lambda v: 0 <= v <= 10**9, "0 or more (and at most 1e9)")


def positive_float(text: str) -> float:
    """A finite positive number of seconds (or a count), at most a week's worth of seconds."""
    return _number(text, float, "a number", lambda v: 0 < v <= MAX_SECONDS, "a positive number (at most 604800)")


def non_negative_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: 0 <= v <= MAX_SECONDS, "0 or more (at most 604800)")


def rate(text: str) -> float:
    """A share: a number from 0 to 1."""
    return _number(text, float, "a number from 0 to 1", lambda v: 0 <= v <= 1, "a number from 0 to 1")


def port(text: str) -> int:
    """A TCP port, 0 (a free one) to 65535."""
    return _number(text, _int, "a port number", lambda v: 0 <= v <= 65535, "a port from 0 to 65535")


def server_port(text: str) -> int:
    """A TCP port to connect to or to serve a page on: 1 to 65535."""
    return _number(text, _int, "a port number", lambda v: 1 <= v <= 65535, "a port from 1 to 65535")


def base_url(text: str) -> str:
    """A ``type=`` for a base URL (see :func:`check_base_url`)."""
    try:
        return check_base_url(text, "the URL")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def bind_host(text: str) -> str:
    """A ``type=`` for an address to bind or put in a URL: an IP address (IPv6 without brackets) or a host name."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _valid_host(host):
        raise argparse.ArgumentTypeError(f"expected an IP address or a host name, not {_shown(text)}")
    return host


def check_input_file(text: str, what: str = "file", *, binary_ok: bool = False) -> Path:
    """``text`` as the path of a readable regular file, text unless ``binary_ok``; ``ValueError`` why not."""
    if not text or "\x00" in text:
        raise ValueError(f"{what} {_shown(text)} is not a file name")
    path = Path(text)
    try:
        if path.is_dir():
            raise ValueError(f"{what} {_shown(text)} is a directory, not a file")
        if not path.exists():
            raise ValueError(f"{what} {_shown(text)} does not exist")
        if not path.is_file():
            raise ValueError(f"{what} {_shown(text)} is not a regular file")
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise ValueError(f"{what} {_shown(text)} is larger than {MAX_INPUT_BYTES} bytes")
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as exc:
        raise ValueError(f"cannot read {what} {_shown(text)}: {exc.strerror or exc}") from None
    if not binary_ok:
        if b"\x00" in head:
            raise ValueError(f"{what} {_shown(text)} is not text (it holds NUL bytes)")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not merely a character cut at the end of what was read
                raise ValueError(f"{what} {_shown(text)} is not UTF-8 text") from None
    return path


def input_file(what: str, *, binary_ok: bool = False) -> Callable[[str], str]:
    """A ``type=`` for a readable file (see :func:`check_input_file`); the path comes back as given."""

    def parse(text: str) -> str:
        try:
            check_input_file(text, what, binary_ok=binary_ok)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return parse


def out_dir(text: str) -> str:
    """A ``type=`` for a report folder: a name, and not an existing file (it is created when absent)."""
    if not text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError(f"expected a folder name, not {_shown(text)}")
    path = Path(text)
    try:
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{_shown(text)} is a file, not a folder")
        parent = next((p for p in path.resolve().parents if p.exists()), None)
    except (OSError, RuntimeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot use the folder {_shown(text)}: {exc}") from None
    if parent is not None and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make the folder {_shown(text)}: {parent} is a file")
    return text


def name_arg(text: str) -> str:
    """A ``type=`` for a name (an app, a rule, a scenario): 1 to 200 printable characters."""
    if not text or len(text) > 200 or not text.isprintable():
        raise argparse.ArgumentTypeError(f"expected a name of 1 to 200 printable characters, not {_shown(text)}")
    return text


def one_line(text: object, limit: int = 1000) -> str:
    """``text`` on one line (every line break and other white space a single space), at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit] + "..."


def scrubbed(text: object) -> str:
    """``text`` with the keys of the environment (and anything shaped like one) removed: a message
    may quote what a server sent, and a careless server sends the key back."""
    from infsh_harness import defaults
    from infsh_harness.redact import redact_text, secrets_of

    keys = secrets_of(defaults.key_values(os.environ))
    return redact_text(str(text), keys)


def fail(prog: str, message: object) -> int:
    """Say on stderr, in one line and without a key, why ``prog`` could not run; answer its exit code, 2."""
    print(f"{prog}: error: {one_line(scrubbed(message))}", file=sys.stderr, flush=True)
    return 2
