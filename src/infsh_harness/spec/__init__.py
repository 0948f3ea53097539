"""The documented contract: the spec (:mod:`~infsh_harness.spec.loader`), where each of its rules and
constraints comes from (:mod:`~infsh_harness.spec.sources`), and the documentation's own tables it
is checked against (:mod:`~infsh_harness.spec.documented`)."""

from infsh_harness.spec.loader import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    DEFAULT_SPEC_PATH,
    ConstraintError,
    Operation,
    Rule,
    Spec,
    SpecError,
    StatusInfo,
    load_spec,
)
from infsh_harness.spec.sources import Source

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "DEFAULT_SPEC_PATH",
    "ConstraintError",
    "Operation",
    "Rule",
    "Source",
    "Spec",
    "SpecError",
    "StatusInfo",
    "load_spec",
]
