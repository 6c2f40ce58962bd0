"""CPU time of a whole server process tree, for a cost per request that wrk's share of the two
cores (and another job's) does not blur."""

import os
from pathlib import Path

from .processes import process_tree

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> float:
    """User + system time the tree's live processes (all their threads) have used so far."""
    ticks = 0
    for pid in process_tree(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14 and 15)
    return ticks / TICKS
