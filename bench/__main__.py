"""``python -m bench``: how fast the mock serves and how little each task costs it.

Sub-benchmarks (all by default, or name some):

* ``throughput`` — the mock (``infsh-harness mock``) and a bare Starlette hello-world served with the
  same uvicorn settings (``bench.hello``) each run on one core; the load generator (``bench.load``) runs
  pinned to another core. Bars: ``GET /tasks/{id}`` of an existing task reaches at least 0.7x the
  hello-world's requests/s, ``POST /run?wait=false`` at least 0.5x. Each target is measured in several
  interleaved rounds and the best round counts, so a noisy neighbour on a shared machine costs a
  round, not the verdict.
* ``tail`` — ``POST /run?wait=false`` on the mock against ``GET /`` on the hello-world at saturation
  (``--tail-connections`` 50, ``--tail-seconds`` 10 per round, ``--tail-rounds`` 3, the same mock all
  rounds, so that its retained tasks pile up as in a long load run): p50, p99 and p99.9 of both side
  by side; bar: the mock's p99 at most 2x the hello-world's (the best of the rounds' ratios counts).
* ``memory`` — bytes the model holds per retained task, over 100,000 tasks made through the same
  parse-and-create path a ``POST /run`` takes (tracemalloc); bar: at most 2 KB.
* ``load-truth``, ``load-overhead`` — the load scenarios measure a known truth, at a small cost
  (``bench/load_truth.py``, ``bench/load_overhead.py``).
* ``load-slo`` — the default SLOs pass at the default load with margin (``bench/load_slo.py``).
* ``webhook-receiver`` — one webhook scenario receiver takes at least 2,000 deliveries per second
  on one core without loss (``bench/webhook_receiver.py``).

Exit 0 when every bar is met, 1 when one is missed, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "inf_test_key"
RUN_BODY = '{"app":"infsh/echo","input":{"prompt":"a sunset over mountains"}}'
GET_BAR, POST_BAR, TAIL_BAR, MEMORY_BAR = 0.7, 0.5, 2.0, 2048.0


class BenchError(Exception):
    """The benchmark could not run (a server did not start, a request failed)."""


@dataclass
class Bar:
    name: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        verdict = "ok" if self.met else "MISSED"
        return f"  {self.name:<34} {self.measured:>10.2f} {self.unit:<4} (bar {sign} {self.limit:g})  {verdict}"


# --- pinning and processes ---------------------------------------------------------------------


def pick_cores() -> tuple[int | None, int | None]:
    """(server core, load core): two different cores this process may use, if there are two."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    return cores[0], cores[1]


def pinned(core: int | None, argv: Sequence[str]) -> list[str]:
    if core is None:
        return list(argv)
    if shutil.which("taskset"):
        return ["taskset", "-c", str(core), *argv]
    return list(argv)  # no taskset: `_affinity` pins the child instead


def _affinity(core: int | None) -> Any:
    if core is None or shutil.which("taskset"):
        return None
    return lambda: os.sched_setaffinity(0, {core})


@contextmanager
def server(argv: Sequence[str], core: int | None, name: str) -> Iterator[str]:
    """Start a server that prints ``listening on URL``; yield the URL; stop it."""
    env = {k: v for k, v in os.environ.items() if k != "INFSH_MOCK_KEYS"}
    proc = subprocess.Popen(
        pinned(core, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        preexec_fn=_affinity(core),
    )  # fmt: skip
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(30)
    try:
        line = first[0].strip() if first else ""
        if not line.startswith("listening on "):
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise BenchError(f"{name} did not start: {line or err.strip() or 'no output within 30 s'}")
        yield line.removeprefix("listening on ")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def load(
    url: str, path: str, core: int | None, args: argparse.Namespace, *, post: bool = False,
    seconds: float | None = None, connections: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    seconds = args.seconds if seconds is None else seconds
    connections = args.connections if connections is None else connections
    argv = [
        sys.executable, "-m", "bench.load", url, path, "--header", f"Authorization: Bearer {KEY}",
        "--seconds", str(seconds), "--warmup", str(args.warmup), "--connections", str(connections),
    ]  # fmt: skip
    if post:
        argv += ["--method", "POST", "--body", RUN_BODY]
    done = subprocess.run(
        pinned(core, argv), capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60,
        preexec_fn=_affinity(core),
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"the load generator failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["errors"] or not result["requests"]:
        raise BenchError(f"{path}: {result['errors']} failed answers of {result['requests']}: {result['statuses']}")
    return result


# --- sub-benchmarks ----------------------------------------------------------------------------


HELLO_ARGV = [sys.executable, "-m", "bench.hello", "--port", "0"]
MOCK_ARGV = [sys.executable, "-m", "infsh_harness.cli", "mock", "--port", "0"]


def cores() -> tuple[int | None, int | None]:
    server_core, load_core = pick_cores()
    if server_core is None:
        print("  note: fewer than two cores available; server and load share them, ratios are rough")
    else:
        print(f"  server on core {server_core}, load generator on core {load_core}")
    return server_core, load_core


def throughput(args: argparse.Namespace) -> list[Bar]:
    server_core, load_core = cores()
    hello_argv, mock_argv = HELLO_ARGV, MOCK_ARGV
    best: dict[str, dict[str, Any]] = {}
    rounds: list[dict[str, float]] = []
    with (
        server(hello_argv, server_core, "the hello-world") as hello_url,
        server(mock_argv, server_core, "the mock") as mock_url,
    ):
        task = httpx.post(
            f"{mock_url}/run",
            content=RUN_BODY,
            headers={"Authorization": f"Bearer {KEY}", "X-API-Version": "2"},
            trust_env=False,
        )
        if task.status_code != 200:
            raise BenchError(f"the mock refused the setup run: {task.status_code} {task.text}")
        targets = {
            "hello-world GET /": (hello_url, "/", False),
            "mock GET /tasks/{id}": (mock_url, f"/tasks/{task.json()['id']}", False),
            "mock POST /run?wait=false": (mock_url, "/run?wait=false", True),
        }
        for round_no in range(1, args.rounds + 1):
            rounds.append({})
            for name, (url, path, post) in targets.items():
                result = load(url, path, load_core, args, post=post)
                rounds[-1][name] = result["rps"]
                print(f"  round {round_no}  {name:<26} {result['rps']:>9.0f} req/s  "
                      f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms")  # fmt: skip
                if name not in best or result["rps"] > best[name]["rps"]:
                    best[name] = result
    hello = best["hello-world GET /"]["rps"]
    get, post = best["mock GET /tasks/{id}"]["rps"], best["mock POST /run?wait=false"]["rps"]
    print(f"  best: hello-world {hello:.0f} req/s, GET {get:.0f} req/s, POST {post:.0f} req/s")
    get_ratios = [r["mock GET /tasks/{id}"] / r["hello-world GET /"] for r in rounds]
    post_ratios = [r["mock POST /run?wait=false"] / r["hello-world GET /"] for r in rounds]
    print(f"  median of the rounds' own ratios (for reference): GET {statistics.median(get_ratios):.2f}x, "
          f"POST {statistics.median(post_ratios):.2f}x")  # fmt: skip
    return [
        Bar("GET /tasks/{id} / hello-world", get / hello, GET_BAR, True, "x"),
        Bar("POST /run?wait=false / hello-world", post / hello, POST_BAR, True, "x"),
    ]


def tail(args: argparse.Namespace) -> list[Bar]:
    """p99 at saturation, the mock's run without waiting beside the bare app, round by round."""
    server_core, load_core = cores()
    ratios: list[float] = []
    with (
        server(HELLO_ARGV, server_core, "the hello-world") as hello_url,
        server(MOCK_ARGV, server_core, "the mock") as mock_url,
    ):
        for round_no in range(1, args.tail_rounds + 1):
            measured = {
                "hello-world GET /": load(hello_url, "/", load_core, args, seconds=args.tail_seconds,
                                          connections=args.tail_connections),
                "mock POST /run?wait=false": load(mock_url, "/run?wait=false", load_core, args, post=True,
                                                  seconds=args.tail_seconds, connections=args.tail_connections),
            }  # fmt: skip
            for name, result in measured.items():
                print(f"  round {round_no}  {name:<26} {result['rps']:>9.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                      f"p99 {result['p99_ms']:6.2f} ms  p99.9 {result['p999_ms']:7.2f} ms  "
                      f"max {result['max_ms']:7.2f} ms")  # fmt: skip
            hello, mock = measured["hello-world GET /"], measured["mock POST /run?wait=false"]
            ratios.append(mock["p99_ms"] / hello["p99_ms"])
            print(f"  round {round_no}  p99 mock / hello-world {ratios[-1]:.2f}x, "
                  f"p50 {mock['p50_ms'] / hello['p50_ms']:.2f}x, rps {mock['rps'] / hello['rps']:.2f}x")  # fmt: skip
    print(f"  p99 ratios by round: {', '.join(f'{r:.2f}x' for r in ratios)}; the best counts")
    return [Bar("POST /run?wait=false p99 / hello p99", min(ratios), TAIL_BAR, False, "x")]


def memory(args: argparse.Namespace) -> list[Bar]:
    from infsh_harness.mock.app import create_app

    app = create_app()
    body = RUN_BODY.encode()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(args.tasks):
            app.backend.create_task(KEY, app.profile.validate_run(body))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    held = len(app.backend.tasks)
    if held != args.tasks:
        raise BenchError(f"the model kept {held} of {args.tasks} tasks")
    per_task = (after - before) / held
    print(f"  {held} tasks retained: {(after - before) / 2**20:.1f} MiB, {per_task:.0f} bytes per task")
    return [Bar("memory per retained task", per_task, MEMORY_BAR, False, "B")]


def load_truth(args: argparse.Namespace) -> list[Bar]:
    """The load scenarios' measurements against a mock of known timing (``bench/load_truth.py``)."""
    from bench import load_truth as bench_load_truth

    return [Bar(*goal) for goal in bench_load_truth.goals()]


def load_overhead(args: argparse.Namespace) -> list[Bar]:
    """The validated run_poll scenario against a bare locust GET loop (``bench/load_overhead.py``)."""
    from bench import load_overhead as bench_load_overhead

    return [Bar(*goal) for goal in bench_load_overhead.goals()]


def load_slo(args: argparse.Namespace) -> list[Bar]:
    """The default SLOs at the default load, with margin, round by round (``bench/load_slo.py``)."""
    from bench import load_slo as bench_load_slo

    return [Bar(*goal) for goal in bench_load_slo.goals(closed=True)]


def webhook_receiver(args: argparse.Namespace) -> list[Bar]:
    """Deliveries per second one webhook scenario receiver takes, on one core, without loss."""
    from bench import webhook_receiver as bench_webhook_receiver

    return [Bar(*goal) for goal in bench_webhook_receiver.goals()]


BENCHMARKS = {
    "throughput": throughput, "tail": tail, "memory": memory, "load-truth": load_truth, "load-overhead": load_overhead,
    "load-slo": load_slo, "webhook-receiver": webhook_receiver,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="*", metavar="NAME", help=f"{', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per round and target")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best counts")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections of the load")
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks for the memory benchmark")
    parser.add_argument("--tail-seconds", type=float, default=10.0, help="measured seconds per round of the tail")
    parser.add_argument("--tail-connections", type=int, default=50, help="concurrent connections of the tail")
    parser.add_argument("--tail-rounds", type=int, default=3, help="rounds of the tail; the best counts")
    args = parser.parse_args(argv)
    unknown = [name for name in args.benchmarks if name not in BENCHMARKS]
    if unknown:
        print(f"python -m bench: error: unknown benchmark {unknown[0]!r} (choose from {', '.join(BENCHMARKS)})",
              file=sys.stderr)  # fmt: skip
        return 2
    sizes = (args.seconds, args.rounds, args.connections, args.tasks, args.tail_seconds, args.tail_connections,
             args.tail_rounds)  # fmt: skip
    if min(sizes) <= 0:
        print("python -m bench: error: --seconds, --rounds, --connections, --tasks, --tail-* must be positive",
              file=sys.stderr)  # fmt: skip
        return 2
    bars: list[Bar] = []
    try:
        for name in args.benchmarks or list(BENCHMARKS):
            print(f"{name}:", flush=True)
            started = time.monotonic()
            bars += BENCHMARKS[name](args)
            print(f"  ({time.monotonic() - started:.1f} s)", flush=True)
    except (BenchError, OSError, subprocess.TimeoutExpired, httpx.HTTPError) as exc:
        print(f"python -m bench: error: {exc}", file=sys.stderr)
        return 2
    print("bars:")
    for bar in bars:
        print(bar.line())
    missed = [bar.name for bar in bars if not bar.met]
    print(f"{len(bars) - len(missed)} bars met, {len(missed)} missed" + (f": {', '.join(missed)}" if missed else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
