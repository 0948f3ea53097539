"""schemathesis against the mock: every phase (examples, coverage, fuzzing, stateful), positive and
negative data, every check, a bounded number of examples per operation, and not one 5xx.

It runs schemathesis' own CLI (``st run``) in a subprocess against the mock served from this process,
and reads its HAR report to count every response independently of schemathesis' verdict.

The documented mock serves the four pages the spec is written from: schemathesis finds nothing, in
either API version (its stateful phase follows the links of both), and the stream's events are
checked one by one against the stream's schema.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from infsh_harness.mock.server import MockServer
from infsh_harness.spec import DEFAULT_SPEC_PATH, load_spec

SPEC = load_spec()
PHASES = ("examples", "coverage", "fuzzing", "stateful")
MAX_EXAMPLES = 30
# schemathesis' checks that the mock fails, each for a gap of the mock against the four pages: none
MOCK_GAP_CHECKS: set[str] = set()


def operation_of(method: str, url: str) -> str | None:
    """The documented operation a request of the HAR exercised (``None``: none)."""
    path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    for op in SPEC.operations.values():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(op.path)) + "$"
        if op.method == method and re.match(pattern, path):
            return op.operation_id
    return None


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
                # an ended session is still read, with status ended (the Sessions page, rule
                # session-end): not the deleted resource still served that use_after_free looks for
                "--exclude-checks", "use_after_free",
                "--continue-on-failure",  # the known gaps must not cut the other cases short
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
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == (1 if MOCK_GAP_CHECKS else 0), output  # the known gaps, and nothing else

    phases, failed_checks = {}, set()
    for line in (tmp_path / "run.ndjson").read_text().splitlines():
        event = json.loads(line)
        if "PhaseFinished" in event:
            finished = event["PhaseFinished"]
            phases[finished["phase"]["name"]] = (finished["phase"]["is_enabled"], finished["status"])
        for checks in event.get("ScenarioFinished", {}).get("recorder", {}).get("checks", {}).values():
            failed_checks |= {c["name"] for c in checks if c.get("status") == "failure"}
    assert all(phases.get(name, (False,))[0] and phases[name][1] in ("success", "failure") for name in PHASES), phases
    assert failed_checks <= MOCK_GAP_CHECKS, (failed_checks, output[-1500:])

    entries = json.loads((tmp_path / "run.har").read_text())["log"]["entries"]
    for entry in entries:  # what the failed checks saw: only the gaps
        status, text = entry["response"]["status"], entry["response"]["content"].get("text") or ""
        body = json.loads(text) if text.startswith(("{", "[")) else None
        op = operation_of(entry["request"]["method"], entry["request"]["url"])
        asked = {h["name"].lower(): h["value"] for h in entry["request"]["headers"]}
        version = "2" if asked.get("x-api-version", "").strip() == "2" else "1"
        success = SPEC.version_schema_name(op, str(status), version) if op and 200 <= status < 300 else None
        if success is not None:
            assert SPEC.validate(success, body) == [], (entry["request"]["url"], text)
        elif status >= 400:
            schema = "Problem" if version == "2" else "Error"
            assert isinstance(body, dict) and SPEC.validate(schema, body) == [], text
        undocumented = op is None or str(status) not in SPEC.operation(op).responses
        where = (entry["request"]["method"], entry["request"]["url"], status)
        assert not undocumented or (op is None and status in (404, 405)), where
    statuses = Counter(entry["response"]["status"] for entry in entries)
    assert not [s for s in statuses if s >= 500], statuses
    assert len(entries) >= 3 * MAX_EXAMPLES
    # negative data really reached the mock and was refused with the documented errors
    assert statuses[400] and statuses[401] and statuses[404] and statuses[405], statuses
    # and positive data made tasks that the stateful phase then read and cancelled through the links
    assert statuses[200] and tasks_made > 0
    by_operation = Counter(
        (entry["request"]["method"], "cancel" in entry["request"]["url"])
        for entry in entries
        if entry["response"]["status"] == 200
    )
    assert by_operation[("GET", False)] and by_operation[("POST", True)], by_operation
