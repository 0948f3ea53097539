"""The drift report: where the live API differs from its documentation.

Observations (from the probe or HAR files) go into the pure :func:`diff`, which returns one
:class:`Finding` per distinct drift; a baseline of accepted finding ids decides which are new, and
the writers render the :class:`DriftReport` as Markdown, JSON or JUnit XML.
"""

from infsh_harness.drift.diff import diff
from infsh_harness.drift.model import DriftReport, Finding, Kind, Location, Severity

__all__ = ["DriftReport", "Finding", "Kind", "Location", "Severity", "diff"]
