"""Contract tests, a stateful mock, load scenarios and a drift report for the inference.sh Tasks API."""

from infsh_harness.spec import Spec, load_spec

__all__ = ["Spec", "load_spec", "__version__"]

__version__ = "0.1.0"
