"""``type=`` helpers for the sub-commands' arguments: numbers in a range.

Each raises ``argparse.ArgumentTypeError``, which argparse turns into the one-line usage error
(exit 2). ``NaN`` is in no range.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["count", "non_negative_float", "positive_float", "positive_int", "rate"]

_N = TypeVar("_N", int, float)


def _number(text: str, convert: Callable[[str], _N], kind: str, accept: Callable[[_N], bool], wanted: str) -> _N:
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind}, not {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {wanted}, not {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, "a whole number", lambda v: v >= 1, "at least 1")


def count(text: str) -> int:
    """A whole number, 0 or more."""
    return _number(text, int, "a whole number", lambda v: v >= 0, "0 or more")


def positive_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: v >= 0, "0 or more")


def rate(text: str) -> float:
    """A share: a number from 0 to 1."""
    return _number(text, float, "a number from 0 to 1", lambda v: 0 <= v <= 1, "a number from 0 to 1")
