"""How many webhook deliveries per second one receiver of the ``webhook`` scenario takes without loss.

The receiver under load is ``WebhookInbox`` (``load/scenarios/webhook.py``), run as in a locust
process: gevent, a locust environment whose statistics and timeline record every delivery, each
payload checked against the spec's ``WebhookPayload``. It runs pinned to one core; a sender pinned
to another posts distinct, valid payloads over ``--connections`` keep-alive connections, each
sending the next delivery once the last is answered, for ``--seconds``. Then the receiver reports
what it recorded. Bars: at least 2,000 deliveries per second, and none lost (every delivery the
sender saw answered 200 recorded once, none failed).

``python -m bench.webhook_receiver [--seconds 5] [--connections 16]``; exit 0 when the bars hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.load_truth import Goal

__all__ = ["goals", "main"]

RATE_BAR = 2000.0


def serve() -> int:
    """The receiver process: print ``listening on URL``, serve until SIGTERM, print what it recorded."""
    import gevent
    import locust  # noqa: F401  (gevent's patching, as in every locust process)
    from gevent.event import Event
    from locust import events
    from locust.env import Environment

    from infsh_harness.load.scenarios import common
    from infsh_harness.load.scenarios.webhook import WebhookInbox

    environment = Environment(events=events)
    environment.create_local_runner()
    common.keep_custom_metrics_apart(environment.stats)
    common.Timeline().attach(environment)
    inbox = WebhookInbox(environment, "127.0.0.1", 0)
    print(f"listening on {inbox.url}", flush=True)
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    stop.wait(600)
    entry = environment.stats.entries.get(("webhook_turnaround", "METRIC"))
    times = os.times()
    print(json.dumps({"recorded": entry.num_requests if entry else 0, "failed": entry.num_failures if entry else 0,
                      "distinct": len(inbox.delivered), "cpu_s": times.user + times.system}), flush=True)  # fmt: skip
    inbox.stop()
    return 0


async def _sender(host: str, port: int, number: int, seconds: float, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    sent = 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = json.dumps({"id": f"task-{number}-{sent}", "status": 9, "output": {"ok": True}, "error": None,
                               "session_id": None, "created_at": stamp, "updated_at": stamp}).encode()  # fmt: skip
            writer.write(b"POST /webhook HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
                         b"content-length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
            sent += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            counts["ok" if head[9:12] == b"200" else "refused"] += 1
    finally:
        counts["sent"] += sent
        writer.close()


def send(url: str, seconds: float, connections: int) -> int:
    """The sender process: one JSON line {"sent", "ok", "refused", "seconds"}."""
    host, port = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)
    counts = {"sent": 0, "ok": 0, "refused": 0}

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_sender(host, int(port), n, seconds, counts) for n in range(connections)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    print(json.dumps({**counts, "seconds": elapsed}), flush=True)
    return 0


def _pinned(core: int | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if core is not None else argv


def goals(seconds: float = 5.0, connections: int = 16, quiet: bool = False) -> list[Goal]:
    say = (lambda line: None) if quiet else print
    cores = sorted(os.sched_getaffinity(0))
    receiver_core, sender_core = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    me = [sys.executable, "-m", "bench.webhook_receiver"]
    receiver = subprocess.Popen(_pinned(receiver_core, [*me, "serve"]), stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        line = receiver.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the receiver did not start: {line!r}")
        url = line.removeprefix("listening on ")
        done = subprocess.run(_pinned(sender_core, [*me, "send", url, str(seconds), str(connections)]),
                              capture_output=True, text=True, timeout=seconds + 60)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the sender failed: {done.stderr.strip()[-400:]}")
        sent: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        receiver.send_signal(signal.SIGTERM)
        out, _ = receiver.communicate(timeout=30)
        got: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    rate = got["recorded"] / sent["seconds"]
    lost = sent["ok"] - got["distinct"] + got["failed"] + sent["refused"]
    where = f"receiver on core {receiver_core}, sender on core {sender_core}" if receiver_core is not None else (
        "fewer than two cores: receiver and sender share them")
    say(f"{where}; {connections} keep-alive connections for {seconds:g} s")
    say(f"  sent {sent['sent']}, answered 200: {sent['ok']}, recorded: {got['recorded']} ({got['distinct']} distinct, "
        f"{got['failed']} failed); {rate:.0f} deliveries/s; receiver CPU {got['cpu_s']:.1f} s "
        f"({got['cpu_s'] / max(got['recorded'], 1) * 1e6:.0f} us per delivery, start-up included)")  # fmt: skip
    return [
        Goal("webhook receiver deliveries/s", rate, RATE_BAR, True, "/s"),
        Goal("webhook deliveries lost", float(max(lost, 0)), 0.0, False, ""),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        return serve()
    if argv[:1] == ["send"]:
        return send(argv[1], float(argv[2]), int(argv[3]))
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_receiver", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the sender sends (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    args = parser.parse_args(argv)
    results = goals(args.seconds, args.connections)
    met = [g.measured >= g.limit if g.higher_is_better else g.measured <= g.limit for g in results]
    for g, ok in zip(results, met, strict=True):
        sign = ">=" if g.higher_is_better else "<="
        print(f"  {g.name:<36} {g.measured:>9.1f} {g.unit} (bar {sign} {g.limit:g})  {'ok' if ok else 'MISSED'}")
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
