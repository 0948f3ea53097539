"""The one scrubber: a key is removed by its shape and by its value, in every form it is written in,
from text, JSON values and files (a HAR's base64-encoded bodies included)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from infsh_harness.redact import REDACTED, redact_text, redact_value, scrub_file, secrets_of

ODD = 'canary/with+odd "chars"&more'  # a key that does not look like inf_..., and needs escaping


def test_keys_are_removed_by_shape_and_by_value() -> None:
    text = "Bearer inf_live_0123abc and then canary-9f8e-secret"
    assert redact_text(text, ["canary-9f8e-secret"]) == f"Bearer {REDACTED} and then {REDACTED}"


@pytest.mark.parametrize(
    "written",
    [ODD, "canary%2Fwith%2Bodd%20%22chars%22%26more", "canary/with%2Bodd%20%22chars%22%26more",
     "canary%2Fwith%2Bodd+%22chars%22%26more", json.dumps(ODD)[1:-1]],
    ids=["plain", "percent-encoded", "in-a-path", "in-a-form", "json-escaped"],
)  # fmt: skip
def test_a_key_is_removed_in_every_form_it_is_written_in(written: str) -> None:
    assert redact_text(f"url=http://h/x?k={written}&y=1", [ODD]) == f"url=http://h/x?k={REDACTED}&y=1"


def test_secrets_of_keeps_real_values_longest_first() -> None:
    assert secrets_of(["abc", None, "", "longer-key", "key-1234"]) == ("longer-key", "key-1234")


def test_json_values_are_redacted_keys_of_objects_included() -> None:
    value = {"served_for": ODD, ODD: [1, {"k": f"x {ODD}"}], "n": 3}
    assert redact_value(value, [ODD]) == {"served_for": REDACTED, REDACTED: [1, {"k": f"x {REDACTED}"}], "n": 3}


def test_a_har_is_scrubbed_base64_bodies_included(tmp_path: Path) -> None:
    body = json.dumps({"error": f"refused key {ODD}"})
    har = {"log": {"entries": [{
        "request": {"headers": [{"name": "Authorization", "value": f"Bearer {ODD}"}]},
        "response": {"content": {"encoding": "base64", "text": base64.b64encode(body.encode()).decode()}},
    }]}}  # fmt: skip
    path = tmp_path / "x.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    assert scrub_file(path, [ODD]) is True
    raw = path.read_text(encoding="utf-8")
    entry = json.loads(raw)["log"]["entries"][0]
    assert ODD not in raw and json.dumps(ODD)[1:-1] not in raw
    assert REDACTED in base64.b64decode(entry["response"]["content"]["text"]).decode()
    assert scrub_file(path, [ODD]) is False  # nothing left to remove
    assert scrub_file(tmp_path / "missing.md", [ODD]) is False


def test_a_value_nested_deeper_than_python_recurses_is_redacted() -> None:
    value: object = f"key {ODD}"
    for i in range(5000):
        value = {"a": value} if i % 2 else [value, 1]
    clean = redact_value(value, [ODD])
    for i in reversed(range(5000)):
        clean = clean["a"] if i % 2 else clean[0]  # type: ignore[index,call-overload]
    assert clean == f"key {REDACTED}"
