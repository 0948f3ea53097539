"""The official clients, unchanged but for their base URL, against the mock's ``wire`` profile.

Python: PyPI ``inferencesh`` (pinned in pyproject.toml's ``dev`` extra). JS: npm ``@inferencesh/sdk``
(pinned in package.json), run by Node.js with the resolve hook ``tests/js/register.mjs`` and driven by
``tests/js/wire_flows.mjs``. Both only ever talk to the mock on 127.0.0.1, and every wait is bounded.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inferencesh import Inference
from inferencesh.models.errors import APIError

from infsh_harness.mock.config import MockConfig
from infsh_harness.mock.profiles.wire_render import load_wire
from infsh_harness.mock.server import serve_in_thread

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = Path(__file__).resolve().parent / "js"
SDK_DIR = ROOT / "node_modules" / "@inferencesh" / "sdk"
WIRE = load_wire()
ID = re.compile(rf"[{re.escape(WIRE.id_alphabet)}]{{{WIRE.id_length}}}")
COMPLETED, FAILED, CANCELLING, CANCELLED = (
    WIRE.status(v).code for v in ("COMPLETED", "FAILED", "CANCELLING", "CANCELLED")
)
UNKNOWN_TASK = "z" * WIRE.id_length
JS_RUN_TIMEOUT_S = 45


@pytest.fixture(scope="module")
def wire_url() -> Iterator[str]:
    # clients' HTTP stacks may honour proxy settings: keep loopback traffic off any proxy
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        with serve_in_thread(profile="wire", config=MockConfig(profile="wire", heartbeat_s=1.0)) as url:
            yield url


@pytest.fixture(scope="module")
def client(wire_url: str) -> Inference:
    return Inference(api_key="inf_test_key", base_url=wire_url)


# --- the pins ------------------------------------------------------------------------------------
def test_official_clients_are_the_pinned_versions() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    py_pin = next(d for d in dev if d.startswith("inferencesh=="))
    assert importlib.metadata.version("inferencesh") == py_pin.removeprefix("inferencesh==")

    js_pin = json.loads((ROOT / "package.json").read_text())["devDependencies"]["@inferencesh/sdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", js_pin), "the JS client must be pinned to one exact version"
    installed = json.loads((SDK_DIR / "package.json").read_text())["version"]
    assert installed == js_pin, "node_modules is stale: run `make install`"


# --- Python client ---------------------------------------------------------------------------------
def test_python_client_run_waits_for_the_result(client: Inference) -> None:
    result = client.run({"app": "infsh/echo", "input": {"prompt": "py"}})
    assert isinstance(result, dict)
    assert ID.fullmatch(result["id"])
    assert result["status"] == COMPLETED
    assert result["output"] == {"echo": {"prompt": "py"}}


def test_python_client_run_with_wait_in_the_body_blocks_on_the_server(client: Inference) -> None:
    result = client.run({"app": "infsh/echo", "input": {"n": 1}, "wait": True}, wait=False)
    assert isinstance(result, dict)
    assert result["status"] == COMPLETED
    assert result["output"] == {"echo": {"n": 1}}


def test_python_client_failed_run_raises_with_the_error(client: Inference) -> None:
    with pytest.raises(RuntimeError, match="py boom"):
        client.run({"app": "infsh/fail", "input": {"message": "py boom"}})
    with pytest.raises(APIError) as waited:
        client.run({"app": "infsh/fail", "input": {"message": "py boom"}, "wait": True}, wait=False)
    assert waited.value.status_code == WIRE.waited_status
    assert waited.value.code == WIRE.waited_codes["FAILED"]
    assert waited.value.message == "py boom"


def test_python_client_run_without_waiting_then_get(client: Inference) -> None:
    created = client.run({"app": "infsh/sleep", "input": {"seconds": 0.2}}, wait=False)
    assert isinstance(created, dict)
    assert created["status"] < COMPLETED
    task = client.tasks.get(created["id"]).data
    assert task["id"] == created["id"]
    assert task["short_id"] == created["id"][: WIRE.short_id_length]
    assert task["input"] == {"seconds": 0.2}
    assert [e["status"] for e in task["events"]] == sorted(e["status"] for e in task["events"])
    done = client.wait_for_completion(created["id"], timeout=10)
    assert done["status"] == COMPLETED
    assert done["output"] == {"slept": 0.2}


def test_python_client_cancel(client: Inference) -> None:
    created = client.run({"app": "infsh/sleep", "input": {"seconds": 5}}, wait=False)
    assert isinstance(created, dict)
    client.tasks.cancel(created["id"])
    assert client.tasks.get(created["id"]).data["status"] in (CANCELLING, CANCELLED)
    with pytest.raises(RuntimeError, match="(?i)cancelled"):
        client.wait_for_completion(created["id"], timeout=10)
    assert client.tasks.get(created["id"]).data["status"] == CANCELLED


def test_python_client_session_new_continue_keepalive_end(client: Inference) -> None:
    handle = client.session("infsh/echo", input={"step": 1})
    session_id = handle.session_id
    assert ID.fullmatch(session_id)
    second = handle.call("run", {"step": 2})
    assert isinstance(second, dict)
    assert second["session_id"] == session_id
    assert second["output"] == {"echo": {"step": 2}}
    alive = handle.keepalive()
    assert alive["status"] == "active"
    assert alive["call_count"] == 2
    handle.end()
    assert client.sessions.get(session_id)["status"] == "ended"
    with pytest.raises(APIError) as ended:
        client.run({"app": "infsh/echo", "input": {}, "session": session_id}, wait=False)
    assert (ended.value.status_code, ended.value.code) == (410, "session_ended")


def test_python_client_unknown_task_raises_not_found(client: Inference) -> None:
    with pytest.raises(APIError) as missing:
        client.tasks.get(UNKNOWN_TASK)
    assert missing.value.status_code == 404
    assert missing.value.code == "not_found"


# --- JS client -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def js(wire_url: str) -> dict[str, Any]:
    """Every JS flow, run once by one Node.js process; flow name -> what it observed."""
    node = shutil.which("node")
    if node is None or not (SDK_DIR / "package.json").is_file():
        pytest.fail("the JS client needs Node.js and node_modules: run `make install`")
    proc = subprocess.run(
        [node, "--import", str(JS_DIR / "register.mjs"), str(JS_DIR / "wire_flows.mjs"), wire_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=JS_RUN_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results: dict[str, Any] = json.loads(proc.stdout)
    return results


def flow(js: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = js[name]
    assert "error" not in result, result
    return result


def test_js_client_run_waits_for_the_result_by_stream_and_by_poll(js: dict[str, Any]) -> None:
    for name, prompt in (("run_wait_stream", "js stream"), ("run_wait_poll", "js poll")):
        result = flow(js, name)["result"]
        assert ID.fullmatch(result["id"])
        assert result["status"] == COMPLETED
        assert result["output"] == {"echo": {"prompt": prompt}}


def test_js_client_failed_run_rejects_with_the_error(js: dict[str, Any]) -> None:
    failed = flow(js, "run_failed")
    assert "resolved" not in failed
    assert failed["message"] == "js boom"


def test_js_client_run_without_waiting_then_get(js: dict[str, Any]) -> None:
    result = flow(js, "run_no_wait_then_get")
    created, fetched, done = result["created"], result["fetched"], result["done"]
    assert created["status"] < COMPLETED
    assert fetched["id"] == created["id"]
    assert fetched["input"] == {"n": 3}
    assert done["status"] == COMPLETED
    assert done["output"] == {"echo": {"n": 3}}


def test_js_client_cancel(js: dict[str, Any]) -> None:
    result = flow(js, "cancel")
    assert result["cancel"]["id"] == result["created"]["id"]
    assert result["cancel"]["status"] in (CANCELLING, CANCELLED)
    for transport in ("stream", "poll"):
        assert result[transport]["message"] == "task cancelled", transport
    assert result["after"]["status"] == CANCELLED


def test_js_client_session_new_continue_keepalive_end(js: dict[str, Any]) -> None:
    result = flow(js, "session")
    session_id = result["first"]["session_id"]
    assert ID.fullmatch(session_id)
    assert result["second"]["session_id"] == session_id
    assert result["second"]["output"] == {"echo": {"step": 2}}
    assert result["keepalive"]["status"] == "active"
    assert result["ended"]["status"] == "ended"
    assert result["info"]["status"] == "ended"
    after_end = result["afterEnd"]
    assert after_end["isInferenceError"] and after_end["statusCode"] == 410
    assert after_end["problemType"].endswith("/session_ended")


def test_js_client_unknown_task_raises_not_found(js: dict[str, Any]) -> None:
    missing = flow(js, "unknown_task")
    assert missing["isInferenceError"]
    assert missing["statusCode"] == 404
    assert missing["problemType"] == WIRE.error_type_base + "not_found"
