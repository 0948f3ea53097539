"""``infsh-harness mock``: serve the mock until interrupted.

The keys it accepts (``INFSH_MOCK_KEYS``, comma-separated) also open its ``/_mock/`` controls. An
entry ``KEY=scope+scope`` gives the key those scopes only (``inf_read_key=apps:read``); a key
without ``=`` has every scope. Session reads need apps:read; runs, keepalives and ends of sessions
need apps:execute (403 forbidden otherwise)."""

from __future__ import annotations

import argparse
import math
import os
import signal
from types import FrameType
from typing import Any

from infsh_harness import defaults
from infsh_harness.cli.args import bind_host, fail, finite, port, positive_float, positive_int, rate, whole
from infsh_harness.mock.config import (
    GENEROUS_RATE_SCALE,
    PROFILES,
    RATE_LIMITED,
    Faults,
    MockConfig,
    ServerLimits,
    WebhookPolicy,
)

__all__ = ["add_parser", "main"]

PROG = "infsh-harness mock"

_MAX_MS = 3_600_000.0  # an hour: the longest latency, phase or delay in milliseconds
_ms = finite(0.0, _MAX_MS)


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        a, b = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MS or MIN:MAX in milliseconds, not {text[:100]!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < a or b > _MAX_MS:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX <= {_MAX_MS:g} (finite), not {text[:100]!r}")
    return a, b


def _rate_limit(text: str) -> tuple[str, int] | None:
    """``documented`` -> None (the pages' numbers); ``OPERATION=N`` -> that operation's own limit."""
    if text.strip() == "documented":
        return None
    operation, eq, number = text.partition("=")
    operation = operation.strip()
    if not eq or operation not in RATE_LIMITED or not number.strip().isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(
            f"expected 'documented' or OPERATION=N (N >= 1 a minute; OPERATION one of {', '.join(RATE_LIMITED)}), "
            f"not {text!r}"
        )
    return operation, int(number)


# flag, type, ServerLimits field, help (the default is appended)
_LIMITS = (
    ("--max-connections", positive_int, "max_connections", "open connections served; a request on one more gets 503"),
    ("--idle-timeout", positive_float, "idle_timeout_s", "seconds a kept-alive connection may stay idle"),
    ("--header-timeout", positive_float, "header_timeout_s", "seconds for a request's line and headers, or 408"),
    ("--max-header-bytes", positive_int, "max_header_bytes", "largest request line and headers, or 431"),
    ("--max-body-bytes", positive_int, "max_body_bytes", "largest request body, or 400"),
)


def add_parser(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "mock", help="serve the stateful mock of the Tasks API", description=__doc__
    )
    p.add_argument("--host", type=bind_host, default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    p.add_argument("--profile", choices=PROFILES, default="documented")
    p.add_argument("--timing", default="fast", help="phase timings from data/apps.yaml: fast (default) | realistic")
    p.add_argument("--phase-ms", type=_ms, help="make every phase of every app last this long")
    p.add_argument("--max-wait", type=positive_float, default=60.0, help="longest a waiting run blocks (s; default 60)")
    p.add_argument("--task-ttl", type=positive_float, default=3600.0, help="how long tasks are kept (s; default 3600)")
    p.add_argument(
        "--session-timeout", type=positive_float, default=60.0,
        help="idle timeout of a session started without session_timeout (s; default 60, as the Sessions page says)",
    )
    p.add_argument(
        "--webhook-allow", action="append", type=bind_host, default=[], metavar="HOST",
        help="also deliver webhooks to HOST (repeatable); only loopback otherwise",
    )  # fmt: skip
    p.add_argument("--latency-ms", type=_latency, help="added latency, MS or MIN:MAX")
    p.add_argument("--error-rate", type=rate, default=0.0, help="share of requests answered with a 5xx")
    p.add_argument("--error-status", type=whole(500, 599), default=500, help="status of injected errors (default 500)")
    p.add_argument("--rate-limit-rate", type=rate, default=0.0, help="share answered 429 with Retry-After")
    p.add_argument("--retry-after", type=whole(0, 86400), default=1, help="Retry-After seconds of injected 429s")
    p.add_argument("--webhook-drop-rate", type=rate, default=0.0)
    p.add_argument("--webhook-duplicate-rate", type=rate, default=0.0)
    p.add_argument("--webhook-delay-ms", type=_ms, default=0.0)
    p.add_argument(
        "--rate-limit", type=_rate_limit, action="append", default=[], metavar="documented|OPERATION=N",
        help="documented profile: 'documented' limits runTask and getTask to the REST overview's 100 and "
        "1000 requests a minute per key; runTask=N or getTask=N sets one (repeatable). Default: "
        f"{GENEROUS_RATE_SCALE:g} times the overview's, so that load runs are not throttled",
    )  # fmt: skip
    p.add_argument("--seed", type=whole(0, 2**63 - 1), help="seed for ids and injected faults")
    p.add_argument(
        "--cancel-ms",
        type=_ms,
        help="wire profile: how long a cancel stays in flight, status Cancelling (ms; default: data/wire.yaml)",
    )
    p.add_argument(
        "--heartbeat",
        type=positive_float,
        help="seconds between heartbeats on GET /tasks/{id}/stream (default: data/wire.yaml's, 15 documented)",
    )
    defaults_ = ServerLimits()
    for flag, type_, name, what in _LIMITS:
        default = getattr(defaults_, name)
        p.add_argument(flag, type=type_, default=default, help=f"{what} (default {default})")
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace, keys: tuple[str, ...]) -> MockConfig:
    low, high = args.latency_ms or (0.0, 0.0)
    faults = Faults(
        latency_ms_min=low,
        latency_ms_max=high,
        error_rate=args.error_rate,
        error_status=args.error_status,
        rate_limit_rate=args.rate_limit_rate,
        retry_after_s=args.retry_after,
        webhook_drop_rate=args.webhook_drop_rate,
        webhook_duplicate_rate=args.webhook_duplicate_rate,
        webhook_delay_ms=args.webhook_delay_ms,
    )
    rate_limits = getattr(args, "rate_limit", [])
    return MockConfig(
        rate_limit_scale=1.0 if None in rate_limits else GENEROUS_RATE_SCALE,
        rate_limits=dict(limit for limit in rate_limits if limit is not None),
        profile=args.profile,
        keys=keys,
        timing=args.timing,
        phase_ms=args.phase_ms,
        max_wait_s=args.max_wait,
        task_ttl_s=args.task_ttl,
        session_timeout_s=args.session_timeout,
        webhooks=WebhookPolicy(allow_hosts=frozenset(h.lower() for h in args.webhook_allow)),
        faults=faults,
        limits=ServerLimits(**{name: getattr(args, flag[2:].replace("-", "_")) for flag, _, name, _ in _LIMITS}),
        seed=args.seed,
        cancel_ms=args.cancel_ms,
        heartbeat_s=args.heartbeat,
    )


def main(args: argparse.Namespace) -> int:
    from infsh_harness.mock.server import MockServer, bind_socket

    keys = defaults.mock_keys(os.environ)
    try:
        config = config_from_args(args, keys)
        server = MockServer(config, args.host, args.port)
    except (ValueError, OSError) as exc:
        return fail(PROG, exc)
    if config.timing not in server.app.backend.catalog.timings:
        return fail(PROG, f"unknown timing {config.timing[:100]!r}")
    try:  # bind here, so that a bad host or a busy port is one line and exit 2, not uvicorn's exit
        sock = bind_socket(args.host, args.port)
    except (OSError, OverflowError) as exc:
        return fail(PROG, f"cannot listen on {args.host}:{args.port}: {exc}")
    server.on_ready(lambda url: print(f"listening on {url}", flush=True))
    # uvicorn stops gracefully on SIGINT and SIGTERM, then raises the signal again: both end as Ctrl-C (130)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        server.run(sock)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0 if server.url else 2


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
