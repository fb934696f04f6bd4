"""LoCoMo benchmark as a script; same options as ``memoryos bench locomo`` (see docs/benchmarks.md).

    .venv/bin/python benchmarks/locomo.py --budgets 1000,2000,4000 --out /tmp/locomo-out
"""

from __future__ import annotations

import sys

from memoryos_bench.locomo import main

if __name__ == "__main__":
    sys.exit(main())
