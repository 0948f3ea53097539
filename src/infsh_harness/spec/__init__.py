"""The documented contract: the spec (:mod:`~infsh_harness.spec.loader`) and the documentation's
own tables it is checked against (:mod:`~infsh_harness.spec.documented`)."""

from infsh_harness.spec.loader import (
    DEFAULT_API_VERSION,
    DEFAULT_SPEC_PATH,
    Operation,
    Rule,
    Spec,
    SpecError,
    StatusInfo,
    load_spec,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_SPEC_PATH",
    "Operation",
    "Rule",
    "Spec",
    "SpecError",
    "StatusInfo",
    "load_spec",
]
