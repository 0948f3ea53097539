"""``python -m infsh_harness.cli``: the same as the ``infsh-harness`` console script."""

import sys

from infsh_harness.cli import main

sys.exit(main())
