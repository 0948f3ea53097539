"""One measure of one scenario run, as the history keeps it and a baseline comparison reads it.

Per measure (a custom metric, a request entry as ``METHOD name``, or ``requests``): its counts,
its percentiles as the summary shows them, an HDR histogram of its successful samples, and its
samples second by second (each second's count, p50 and p95) for the statistical test of
``baseline.py``. The histogram is an `HdrHistogram <https://hdrhistogram.github.io/HdrHistogram/>`_
(PyPI ``hdrhistogram``: 3 significant digits, values in thousandths of the measure's unit, encoded
in the standard compressed base64 form), so runs can be merged and compared exactly later, or read
by any other HdrHistogram implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from infsh_harness.load.metrics import percentile
from infsh_harness.load.results import ScenarioResult

__all__ = ["QUANTILES", "MeasureRecord", "decode_histogram", "encode_histogram", "records_of"]

QUANTILES: Mapping[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "max": 1.0}
HDR_SCALE = 1000  # thousandths of the unit: microseconds for milliseconds
HDR_HIGHEST = 24 * 3600 * 1000 * HDR_SCALE  # a day, in thousandths of a millisecond
HDR_DIGITS = 3


@dataclass(frozen=True)
class MeasureRecord:
    scenario: str
    measure: str
    unit: str
    count: int
    failures: int
    quantiles: Mapping[str, float | None]
    mean: float | None
    histogram: str | None  # encoded HdrHistogram of the successful samples, None when there were none
    seconds: Sequence[tuple[int, int, float, float]]  # (second, samples, p50, p95)

    def per_second(self, quantile: str, min_samples: int = 1) -> list[float]:
        """The quantile (``p50`` or ``p95``) of each second that has at least ``min_samples``."""
        index = {"p50": 2, "p95": 3}[quantile]
        return [float(row[index]) for row in self.seconds if row[1] >= min_samples]

    def seconds_json(self) -> list[list[Any]]:
        return [list(row) for row in self.seconds]


def encode_histogram(histogram: Mapping[float, int]) -> str | None:
    if not histogram:
        return None
    hdr = HdrHistogram(1, HDR_HIGHEST, HDR_DIGITS)
    for value, n in histogram.items():
        hdr.record_value(min(max(int(round(value * HDR_SCALE)), 0), HDR_HIGHEST), n)
    encoded: bytes = hdr.encode()
    return encoded.decode("ascii")


def decode_histogram(encoded: str) -> HdrHistogram:
    """The HdrHistogram of an encoded record (values in thousandths of the unit)."""
    return HdrHistogram.decode(encoded.encode("ascii"))


def records_of(result: ScenarioResult) -> list[MeasureRecord]:
    """A record per measure of a scenario run: every entry, and every HTTP request together."""
    records = []
    for key, entry in result.targets().items():
        seconds = []
        for second, histogram in result.seconds_by_second(key):
            p50, p95 = percentile(histogram, 0.5), percentile(histogram, 0.95)
            if p50 is not None and p95 is not None:
                seconds.append((second, sum(histogram.values()), p50, p95))
        records.append(MeasureRecord(
            result.scenario, key, entry.unit, entry.count, entry.failures,
            {name: entry.quantile(q) for name, q in QUANTILES.items()}, entry.mean,
            encode_histogram(entry.histogram), seconds,
        ))  # fmt: skip
    return records
