"""Run folders made of the fixtures: the new contract summary, a load run with every optional field, drift."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

RunFolder = Callable[[Sequence[tuple[str, int | None]]], Path]


def _step(name: str, exit_code: int) -> dict[str, object]:
    part = "drift" if name.startswith("drift") else name
    return {"name": name, "part": part, "folder": name, "exit_code": exit_code, "seconds": 1.5,
            "gating": name != "drift-wire", "log": f"logs/{name}.log"}  # fmt: skip


@pytest.fixture
def run_folder(tmp_path: Path) -> RunFolder:
    """``make([(step, exit code or None for --skip), ...])``: a run folder with the fixtures' summaries."""

    def make(steps: Sequence[tuple[str, int | None]]) -> Path:
        out = tmp_path / "reports"
        for part in ("contract", "load", "drift"):
            shutil.copytree(FIXTURES / part, out / part)
        (out / "logs").mkdir()
        record = {
            "target": "http://127.0.0.1:8080",
            "steps": [_step(name, code) for name, code in steps if code is not None],
            "skipped": [name for name, code in steps if code is None],
            "error": None,
        }
        (out / "run.json").write_text(json.dumps(record), encoding="utf-8")
        return out

    return make
