"""Load runs of the Tasks API: locust scenarios in ``load/``, driven and judged from here.

The scenarios measure what an integrating team asks — submit to result, waiting or polling; how
fast a cancel takes effect; how late webhooks arrive — and :func:`run_load` turns locust's output
into a report and a verdict against service-level objectives. Importing this package does not
import locust: locust runs only in its own processes.
"""

from infsh_harness.load.run import SCENARIOS, LoadOptions, LoadOutcome, run_load

__all__ = ["SCENARIOS", "LoadOptions", "LoadOutcome", "run_load"]
