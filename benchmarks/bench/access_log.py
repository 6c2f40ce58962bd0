"""What the server's own JSON access log says about a measured window: time spent waiting for a
pooled connection (db_wait_ms), statuses, and the errors it logged."""

import json
from collections import Counter
from pathlib import Path


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def read_window(path: Path, start: int, end: int) -> list[dict]:
    """The JSON lines written between two sizes of the log (other output is skipped)."""
    with path.open("rb") as log:
        log.seek(start)
        chunk = log.read(end - start)
    entries = []
    for line in chunk.splitlines():
        if line.startswith(b"{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a line cut by the end of the window
    return entries


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of values (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarise(entries: list[dict]) -> dict:
    waits = [e["db_wait_ms"] for e in entries if "db_wait_ms" in e]
    statuses = Counter(e["status"] for e in entries if "status" in e)
    errors = [e for e in entries if e.get("level") in ("ERROR", "CRITICAL")]
    first_error = None
    if errors:
        # The exception's last line names the cause ("database is locked", a pool timeout...).
        detail = errors[0].get("exception", "").strip().splitlines()
        first_error = errors[0].get("message", "") + (f": {detail[-1]}" if detail else "")
    return {
        "logged_requests": sum(statuses.values()),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "pool_wait_mean_ms": round(sum(waits) / len(waits), 2) if waits else None,
        "pool_wait_p99_ms": percentile(waits, 0.99),
        "pool_wait_max_ms": max(waits) if waits else None,
        "logged_errors": len(errors),
        "first_logged_error": first_error,
    }
