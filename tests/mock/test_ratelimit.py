"""The rate limiter alone (``mock/ratelimit.py``), on a fake clock: windows, headers, 429, reset."""

from __future__ import annotations

import pytest

from infsh_harness.mock.errors import RateLimited
from infsh_harness.mock.models import FakeClock
from infsh_harness.mock.ratelimit import Headers, RateLimiter
from infsh_harness.spec import load_spec

SPEC = load_spec()
DOCUMENTED = dict(SPEC.rule("rate-limits").params["per-minute"])


def limiter(limits: dict[str, int], start: float = 1_700_000_010.0) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock(start)
    return RateLimiter(limits, clock), clock


def remaining(headers: Headers) -> int:
    return int(dict(headers)[b"x-ratelimit-remaining"])


def reset_at(headers: Headers) -> int:
    return int(dict(headers)[b"x-ratelimit-reset"])


def test_each_request_counts_down_and_the_reset_is_the_windows_end() -> None:
    limits, clock = limiter({"runTask": 3})
    answers = [limits.take("k", "runTask") for _ in range(3)]
    assert [remaining(h) for h in answers] == [2, 1, 0]
    assert {reset_at(h) for h in answers} == {1_700_000_040}  # the minute 1_699_999_980 .. 1_700_000_040
    assert dict(answers[0]) == {b"x-ratelimit-remaining": b"2", b"x-ratelimit-reset": b"1700000040"}


def test_over_the_limit_is_429_with_the_headers_and_retry_after() -> None:
    limits, clock = limiter({"runTask": 2})
    limits.take("k", "runTask")
    limits.take("k", "runTask")
    clock.advance(5.5)
    for _ in range(3):  # refused requests do not count, and remaining never goes below 0
        with pytest.raises(RateLimited) as refused:
            limits.take("k", "runTask")
        headers = dict(refused.value.headers)
        assert (refused.value.status_code, refused.value.code) == (429, "rate_limited")
        assert headers[b"x-ratelimit-remaining"] == b"0" and headers[b"x-ratelimit-reset"] == b"1700000040"
        assert headers[b"retry-after"] == b"25"  # 1_700_000_040 - 1_700_000_015.5, rounded up


def test_the_next_window_starts_afresh() -> None:
    limits, clock = limiter({"runTask": 1})
    limits.take("k", "runTask")
    with pytest.raises(RateLimited):
        limits.take("k", "runTask")
    clock.advance(30)
    headers = limits.take("k", "runTask")
    assert (remaining(headers), reset_at(headers)) == (0, 1_700_000_100)


def test_keys_and_operations_have_windows_of_their_own() -> None:
    limits, _ = limiter({"runTask": 1, "getTask": 1})
    limits.take("a", "runTask")
    assert remaining(limits.take("b", "runTask")) == 0
    assert remaining(limits.take("a", "getTask")) == 0
    assert "cancelTask" not in limits.limits


def test_scaled_limits_come_from_the_pages_and_overrides_win() -> None:
    clock = FakeClock()
    assert RateLimiter.scaled(DOCUMENTED, 1, {}, clock).limits == {"runTask": 100, "getTask": 1000}
    generous = RateLimiter.scaled(DOCUMENTED, 100, {"getTask": 7}, clock)
    assert generous.limits == {"runTask": 10_000, "getTask": 7}


def test_reset_forgets_every_window() -> None:
    limits, _ = limiter({"runTask": 1})
    limits.take("k", "runTask")
    limits.reset()
    assert remaining(limits.take("k", "runTask")) == 0


def test_a_clock_that_goes_back_a_window_counts_in_that_window() -> None:
    limits, clock = limiter({"runTask": 1})
    limits.take("k", "runTask")
    clock.advance(-60)
    assert reset_at(limits.take("k", "runTask")) == 1_699_999_980
