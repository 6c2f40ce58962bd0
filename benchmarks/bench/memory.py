"""Memory of a whole server process tree."""

import re
from pathlib import Path

from .processes import process_tree


def pss_mb(root_pid: int) -> float:
    """Proportional set size of the whole tree: forked workers' shared pages count once."""
    total_kb = 0
    for pid in process_tree(root_pid):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
    return round(total_kb / 1024, 1)
