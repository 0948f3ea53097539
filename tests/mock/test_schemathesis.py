"""schemathesis against the mock: every phase (examples, coverage, fuzzing, stateful), positive and
negative data, every check, a bounded number of examples per operation, and not one 5xx.

It runs schemathesis' own CLI (``st run``) in a subprocess against the mock served from this process,
and reads its HAR report to count every response independently of schemathesis' verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from infsh_harness.mock.server import MockServer
from infsh_harness.spec import DEFAULT_SPEC_PATH, load_spec

SPEC = load_spec()
PHASES = ("examples", "coverage", "fuzzing", "stateful")
MAX_EXAMPLES = 30


def test_schemathesis_finds_no_issue_and_no_5xx(tmp_path: Path) -> None:
    server = MockServer()
    url = server.start()
    try:
        result = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run", str(DEFAULT_SPEC_PATH),
                "--url", url,
                "--phases", ",".join(PHASES),
                "--mode", "all",
                "--checks", "all",
                "--max-examples", str(MAX_EXAMPLES),
                "--seed", "20240115",
                "--request-timeout", "10",
                "--header", "Authorization: Bearer inf_test_key",
                "--report", "har,ndjson",
                "--report-har-path", str(tmp_path / "run.har"),
                "--report-ndjson-path", str(tmp_path / "run.ndjson"),
            ],  # fmt: skip
            cwd=tmp_path,  # schemathesis keeps its example database under the working directory
            capture_output=True,
            text=True,
            timeout=120,
        )
        tasks_made = len(server.app.backend.tasks)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout

    phases = {}
    for line in (tmp_path / "run.ndjson").read_text().splitlines():
        event = json.loads(line)
        if "PhaseFinished" in event:
            finished = event["PhaseFinished"]
            phases[finished["phase"]["name"]] = (finished["phase"]["is_enabled"], finished["status"])
    assert {name: phases.get(name) for name in PHASES} == {name: (True, "success") for name in PHASES}

    entries = json.loads((tmp_path / "run.har").read_text())["log"]["entries"]
    statuses = Counter(entry["response"]["status"] for entry in entries)
    assert not [s for s in statuses if s >= 500], statuses
    assert len(entries) >= 3 * MAX_EXAMPLES
    # negative data really reached the mock and was refused with the documented errors
    assert statuses[400] and statuses[422] and statuses[401] and statuses[404] and statuses[405], statuses
    # and positive data made tasks that the stateful phase then read and cancelled through the links
    assert statuses[200] and tasks_made > 0
    by_operation = Counter(
        (entry["request"]["method"], "cancel" in entry["request"]["url"])
        for entry in entries
        if entry["response"]["status"] == 200
    )
    assert by_operation[("GET", False)] and by_operation[("POST", True)], by_operation
