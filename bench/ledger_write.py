"""What the gateway pays per request to have its ledger row on disk before the answer ends.

``Gateway.submit`` writes each row with one SQLite insert (WAL, ``synchronous=NORMAL``) on the event loop,
the WAL copied into the database by a ``Checkpointer`` thread. This times exactly that call
(``Record.finish`` plus the insert) into a fresh ledger set up as the gateway sets it up, and prints
p50/p90/p99/max in microseconds as JSON; ``--autocheckpoint`` shows SQLite's default instead, where the
commit that fills the WAL past 1000 pages does the checkpoint itself.

    python bench/ledger_write.py            # 5000 rows
    python bench/ledger_write.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def run(rows: int = 5000, *, autocheckpoint: bool = False) -> dict[str, Any]:
    """Time ``rows`` calls of ``Gateway.submit``'s write path; microseconds per row."""
    from glmkit.gateway.relay import Record
    from glmkit.gateway.state import LEDGER_BUSY_SECONDS
    from glmkit.ledger import Checkpointer, Ledger

    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "glmkit.db", timeout=LEDGER_BUSY_SECONDS, autocheckpoint=autocheckpoint)
        checkpointer = None if autocheckpoint else Checkpointer(ledger)
        times = []
        for n in range(rows):
            record = Record("/v1/messages", client="127.0.0.1")
            record.row.update(tool="claude-code", model_requested="claude-sonnet-4-5", model_used="glm-5.3")
            record.usage({"prompt_tokens": 1200 + n, "completion_tokens": 300}, anthropic=False)
            start = time.perf_counter()
            ledger.add_request(**record.finish())
            times.append((time.perf_counter() - start) * 1e6)
        if checkpointer is not None:
            checkpointer.close()
        ledger.close()
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 1)  # noqa: E731
    return {
        "autocheckpoint": autocheckpoint,
        "rows": rows,
        "p50_us": pick(0.50),
        "p90_us": pick(0.90),
        "p99_us": pick(0.99),
        "max_us": round(times[-1], 1),
        "mean_us": round(statistics.fmean(times), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--autocheckpoint", action="store_true", help="SQLite's default: checkpoint in the commit")
    args = parser.parse_args()
    print(json.dumps(run(args.rows, autocheckpoint=args.autocheckpoint), indent=2))
