"""Shared pieces of the load tests: a unique API key, the harness as a subprocess, a stalling proxy."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KEY = f"inf_load_{secrets.token_hex(8)}"


def harness_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INFSH_BASE_URL", "INFSH_MOCK_KEYS")}
    env["INFSH_API_KEY"] = KEY
    env["INFSH_MOCK_KEYS"] = KEY
    return env


def run_harness(*argv: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infsh_harness.cli", *argv],
        env=harness_env(), capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


def summary_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


def processes_with_key() -> list[int]:
    """Pids of live processes whose environment holds this session's key: the harness' children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if KEY.encode() in environ:
            found.append(int(entry.name))
    return found


class StallProxy:
    """A TCP proxy on 127.0.0.1 that holds every byte, both ways, for ``stall_s`` once.

    The stall begins ``after_s`` after the first ``POST /run`` passes: every request sent (and
    every answer due) during it waits until it ends, as behind a server that stops answering.
    """

    def __init__(self, upstream: str, after_s: float, stall_s: float) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.after_s, self.stall_s = after_s, stall_s
        self.first: float | None = None
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _stall_left(self, data: bytes) -> float:
        now = time.monotonic()
        if self.first is None:
            if b"POST /run" not in data:
                return 0.0
            self.first = now
        start = self.first + self.after_s
        return start + self.stall_s - now if start <= now < start + self.stall_s else 0.0

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                left = self._stall_left(data)
                if left > 0:
                    await asyncio.sleep(left)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self.loop.run_forever()
        server.close()

    def __enter__(self) -> StallProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture
def mock_url() -> Iterator[str]:
    """The mock as ``infsh-harness load`` starts it: a subprocess on a free loopback port."""
    from infsh_harness.load.processes import embedded_mock

    with embedded_mock(harness_env()) as url:
        yield url


class Kit:
    """What the load tests share, as one fixture (test modules cannot import this conftest)."""

    key = KEY
    env = staticmethod(harness_env)
    run = staticmethod(run_harness)
    summary = staticmethod(summary_of)
    children = staticmethod(processes_with_key)
    StallProxy = StallProxy


@pytest.fixture
def kit() -> Kit:
    return Kit()
