"""The database rows in results.md: a summary line per mode and database, then a table per
database with the bare-driver limit beside each row, then the driver's own table."""

from .database_setups import QUERY_LABELS, SEED_ITEMS, SLOW_QUERY_SECONDS

DATABASE_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Where the rows' databases live, for reading their write figures.
DATABASE_NOTES = {
    "sqlite": "a file on the local disk with the generated engine's settings (WAL, "
    "synchronous=NORMAL, busy_timeout 5 s)",
    "postgresql": "one throwaway cluster on the same cores (tests/postgres_cluster.py: fsync "
    "and synchronous_commit off, so writes cost less than on a durable server)",
}


def find_run(outcome: dict, scenario: str, connections: int) -> dict | None:
    for run_ in outcome["runs"]:
        if run_["scenario"] == scenario and run_["connections"] == connections:
            return run_
    return None


def driver_run(drivers: dict, database: str, query: str, threads: int) -> dict | None:
    for run_ in drivers.get(database, {}).get("runs", []):
        if run_["query"] == query and run_["threads"] == threads:
            return run_
    return None


def ms(value) -> str:
    return "-" if value is None else f"{value:g}"


def errors_text(run_: dict) -> str:
    """Non-2xx from wrk, with the statuses the server logged for them."""
    failed = {s: n for s, n in run_.get("statuses", {}).items() if not s.startswith("2")}
    detail = ", ".join(f"{s}: {n}" for s, n in failed.items())
    return f"{run_['non_2xx']}" + (f" ({detail})" if detail and run_["non_2xx"] else "")


def summary_rows(databases: dict, drivers: dict) -> list[str]:
    """One row per mode and database: the figures the README quotes."""
    rows = [
        "| mode | database | processes x pool | `GET /items/<id>` rps at 64 (bare driver) "
        "| `POST /items` rps at 64 | list rps at 64 "
        "| slow query % of ideal at 64 / 256 / 1024 | slow query pool wait p99 at most connections "
        "| non-2xx + socket errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for database, outcomes in databases.items():
        for mode, outcome in outcomes.items():
            levels = sorted({r["connections"] for r in outcome["runs"]})
            rps = {
                r["scenario"]: f"{r['rps']:.0f}" for r in outcome["runs"] if r["connections"] == 64
            }
            slow = " / ".join(
                f"{r['pct_ideal']:.0f}%" if (r := find_run(outcome, "slow_query", n)) else "-"
                for n in (64, 256, 1024)
            )
            top = find_run(outcome, "slow_query", levels[-1]) or {}
            total = outcome["workers"] * outcome["pool_size"]
            driver = driver_run(drivers, database, "get_item", total)
            errors = sum(r["non_2xx"] + r["socket_errors"] for r in outcome["runs"])
            rows.append(
                f"| {mode} | {database} | {outcome['workers']} x {outcome['pool_size']} "
                f"| {rps.get('get_item', '-')}"
                + (f" ({driver['ops_per_s']:.0f})" if driver else "")
                + f" | {rps.get('create_item', '-')} | {rps.get('list_items', '-')} | {slow} "
                f"| {ms(top.get('pool_wait_p99_ms'))} ms at {levels[-1]} | {errors} |"
            )
    return rows


def database_table(database: str, outcomes: dict, drivers: dict) -> list[str]:
    rows = [
        "| mode | request | connections | rps | % of ideal | p50 ms | p99 ms | non-2xx "
        "| socket errors | pool wait mean / p99 ms | bare driver ops/s (threads) "
        "| bare driver p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, outcome in outcomes.items():
        total = outcome["workers"] * outcome["pool_size"]
        for r in outcome["runs"]:
            driver = driver_run(drivers, database, r["scenario"], total)
            rows.append(
                f"| {mode} | `{r['request']}` | {r['connections']} | {r['rps']:.0f} "
                f"| {r.get('pct_ideal', '')} | {ms(r['p50_ms'])} | {ms(r['p99_ms'])} "
                f"| {errors_text(r)} | {r['socket_errors']} "
                f"| {ms(r['pool_wait_mean_ms'])} / {ms(r['pool_wait_p99_ms'])} "
                + (
                    f"| {driver['ops_per_s']:.0f} ({total}) | {ms(driver['p99_ms'])} |"
                    if driver
                    else "| - | - |"
                )
            )
    return rows


def driver_table(database: str, drivers: dict) -> list[str]:
    rows = [
        "| query, as the request sends it | threads | ops/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for r in drivers.get(database, {}).get("runs", []):
        rows.append(
            f"| `{QUERY_LABELS[r['query']]}` | {r['threads']} | {r['ops_per_s']:.0f} "
            f"| {ms(r['p50_ms'])} | {ms(r['p99_ms'])} | {r['errors']} |"
        )
    return rows


def logged_errors(outcomes: dict) -> list[str]:
    """What the servers logged as errors during the measured windows, one line per run."""
    return [
        f"- {mode} `{r['request']}` at {r['connections']}: {r['logged_errors']} error lines, "
        f"first: {r['first_logged_error']}"
        for mode, outcome in outcomes.items()
        for r in outcome["runs"]
        if r["logged_errors"]
    ]


def database_sections(databases: dict, drivers: dict, duration: int, warm_up_s: int) -> list[str]:
    lines = [
        "## Database rows",
        "",
        f"Each mode's production server on a fresh database, migrated and seeded with "
        f"{SEED_ITEMS:,} items: `wrk -t2 -cN -d{duration}s --timeout 10s` after {warm_up_s} s "
        "of unrecorded warm-up, a fresh server per row. `GET /items/<id>` reads random seeded "
        "ids, `POST /items` writes a new unique name per request, the list reads the first page "
        f"of 20, the slow query holds a pooled connection for {SLOW_QUERY_SECONDS:g} s; its "
        "ideal = min(connections, processes x pool size) / "
        f"{SLOW_QUERY_SECONDS:g} s. Pool wait: `db_wait_ms` from the server's access log "
        "(getting a pooled connection, pre-ping included), over the lines logged while wrk "
        "measured; on two shared cores it also holds time spent runnable but not scheduled. "
        "Bare driver: the same SQL from a plain loop with no web framework, threads "
        "each holding their own connection, as many as the mode's processes x pool size.",
        "",
    ]
    for database, outcomes in databases.items():
        title = DATABASE_TITLES.get(database, database)
        driver = drivers.get(database, {}).get("driver", "-")
        errors = logged_errors(outcomes)
        lines += [
            f"### {title}",
            "",
            f"{title}: {DATABASE_NOTES.get(database, database)}.",
            "",
            *(
                f"- `{mode}`: {o['label']}; cold start {o['cold_start_s']} s, idle PSS "
                f"{o['idle_pss_mb']} MB"
                for mode, o in outcomes.items()
            ),
            "",
            *database_table(database, outcomes, drivers),
            "",
            *([*errors, ""] if errors else []),
            f"Bare driver on {title}: {driver}.",
            "",
            *driver_table(database, drivers),
            "",
        ]
    return lines
