"""The shared ``type=`` helpers: a value in range comes back converted, anything else is one usage error."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from infsh_harness.cli.args import count, non_negative_float, positive_float, positive_int, rate


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [(positive_int, "3", 3), (count, "0", 0), (positive_float, "0.5", 0.5), (non_negative_float, "0", 0.0),
     (rate, "1", 1.0), (rate, "0", 0.0)],
)  # fmt: skip
def test_cliargs_accept_values_in_range(parse: Callable[[str], Any], text: str, value: Any) -> None:
    assert parse(text) == value and type(parse(text)) is type(value)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [(positive_int, "0", "expected at least 1, not '0'"), (positive_int, "1.5", "expected a whole number"),
     (count, "-1", "expected 0 or more"), (positive_float, "0", "expected a positive number"),
     (positive_float, "nan", "expected a positive number"), (positive_float, "x", "expected a number, not 'x'"),
     (non_negative_float, "-0.1", "expected 0 or more"), (rate, "1.5", "expected a number from 0 to 1"),
     (rate, "nan", "from 0 to 1"), (rate, "half", "from 0 to 1")],
)  # fmt: skip
def test_cliargs_refuse_values_out_of_range(parse: Callable[[str], Any], text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)
