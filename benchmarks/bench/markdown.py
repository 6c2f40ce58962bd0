"""results.md: the summary the README quotes, the targets, and every run."""

from .auth_report import auth_section
from .database_report import database_sections, summary_rows
from .targets import find, verdicts


def p99(run_) -> str:
    """A run's p99 latency, or "-" where it did not run (a --quick run has no /cpu row)."""
    return f"{run_['p99_ms']:.0f} ms" if run_ else "-"


def summary(results) -> list[str]:
    """One row per mode: the figures the README publishes."""

    def pct(name, scenario, connections):
        run_ = find(results, name, scenario, connections)
        return f"{run_['pct_ideal']:.0f}%" if run_ else "-"

    rows = [
        "| mode | `/` rps (metrics off; bare app) | /slow 0.1 s at 64 / 256 / 1024 "
        "| /slow 1 s at 64 / 256 / 1024 | /cpu p99 | non-2xx | idle PSS | cold start |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = (
        "wsgi",
        "wsgi_granian",
        "asgi",
        "asgi_hypercorn",
        "asgi_granian",
        "quart",
        "quart_hypercorn",
        "quart_granian",
        "naive",
    )
    for name in (n for n in order if n in results):
        outcome = results[name]
        hello = find(results, name, "hello", 64)
        bare = find(results, f"{name}-bare", "hello", 64)
        no_metrics = find(results, f"{name}-metrics-off", "hello", 64)
        cpu = find(results, name, "cpu", 64)
        errors = sum(r["non_2xx"] + r["socket_errors"] for r in outcome["runs"])
        slow = [
            " / ".join(pct(name, scenario, c) for c in (64, 256, 1024))
            for scenario in ("slow 0.1 s", "slow 1 s")
        ]
        rows.append(
            f"| {name} | {hello['rps']:.0f}"
            + (f" ({no_metrics['rps']:.0f}; {bare['rps']:.0f})" if bare and no_metrics else "")
            + (f" ({bare['rps']:.0f})" if bare and not no_metrics else "")
            + f" | {slow[0]} | {slow[1]} | {p99(cpu)} | {errors} "
            f"| {outcome['idle_pss_mb']:.0f} MB | {outcome['cold_start_s']} s |"
        )
    return rows


def servers_side_by_side(results) -> list[str]:
    """Each framework's servers, same run: requests per second per scenario."""
    scenarios = [("hello", 64)] + [
        (scenario, connections)
        for scenario in ("slow 0.1 s", "slow 1 s")
        for connections in (64, 256, 1024)
    ]
    rows = [
        "| framework | server | "
        + " | ".join(f"`{'/' if s == 'hello' else s}` at {c}" for s, c in scenarios)
        + " | /cpu p99 | idle PSS | cold start |",
        "|---|---|" + "---|" * (len(scenarios) + 3),
    ]
    servers = {
        "Flask (WSGI)": (("gunicorn", "wsgi"), ("Granian", "wsgi_granian")),
        "Flask": (
            ("uvicorn", "asgi"),
            ("Hypercorn", "asgi_hypercorn"),
            ("Granian", "asgi_granian"),
        ),
        "Quart": (
            ("uvicorn", "quart"),
            ("Hypercorn", "quart_hypercorn"),
            ("Granian", "quart_granian"),
        ),
    }
    for framework, modes in servers.items():
        for server, name in modes:
            if name not in results:
                continue
            cells = []
            for scenario, connections in scenarios:
                run_ = find(results, name, scenario, connections)
                errors = run_ and run_["non_2xx"] + run_["socket_errors"]
                cells.append(
                    f"{run_['rps']:.0f}" + (f" ({errors} err)" if errors else "") if run_ else "-"
                )
            cpu = find(results, name, "cpu", 64)
            rows.append(
                f"| {framework} | {server} | "
                + " | ".join(cells)
                + f" | {p99(cpu)} | {results[name]['idle_pss_mb']:.0f} MB "
                f"| {results[name]['cold_start_s']} s |"
            )
    return rows if len(rows) > 2 else []


def all_runs(results) -> list[str]:
    columns = "setup scenario connections rps %_of_ideal p50_ms p99_ms non-2xx socket_errors PSS_MB"
    rows = [
        "| " + " | ".join(c.replace("_", " ") for c in columns.split()) + " |",
        "|---" * len(columns.split()) + "|",
    ]
    for name, outcome in results.items():
        for r in outcome["runs"]:
            rows.append(
                f"| {name} | {r['scenario']} | {r['connections']} | {r['rps']:.0f} | "
                f"{r.get('pct_ideal', '')} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} | "
                f"{r['socket_errors']} | {r['pss_mb']} |"
            )
    return rows


def markdown(results, machine, sockets, databases=None, drivers=None, auth=None) -> str:
    """The report; the HTTP sections are left out when only database rows ran."""
    setups_ = "\n".join(
        f"- `{name}`: {o['label']}; cold start {o['cold_start_s']} s, "
        f"idle PSS {o['idle_pss_mb']} MB"
        for name, o in results.items()
    )
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"Linux {machine['kernel']}.",
        f"Versions: {versions}.",
    ]
    if results:
        lines += [
            f"Load: `wrk -t2 -cN -d{machine['duration_s']}s --timeout 10s` over keep-alive "
            "connections on 127.0.0.1; ideal = connections / sleep seconds; PSS of the whole "
            "server process tree sampled mid-run.",
            "",
            setups_,
            "",
            "## Summary",
            "",
            *summary(results),
            "",
        ]
    else:
        lines += ["", "## Summary", ""]
    if databases:
        lines += [
            "Database rows (details below); the bare driver's ops/s with as many threads as "
            "the server has pooled connections in brackets:",
            "",
            *summary_rows(databases, drivers or {}),
            "",
        ]
    side_by_side = servers_side_by_side(results)
    if side_by_side:
        lines += [
            "## Each framework's servers, side by side (requests per second)",
            "",
            *side_by_side,
            "",
        ]
    if results:
        lines += [
            "## Targets",
            "",
            *verdicts(results),
            "",
            "## All runs",
            "",
            *all_runs(results),
            "",
        ]
    if databases:
        lines += database_sections(
            databases, drivers or {}, machine["database_duration_s"], machine["warm_up_s"]
        )
    if auth:
        lines += auth_section(auth)
    if results:
        lines += [
            "## WebSocket connections held by one quart server (2 uvicorn workers)",
            "",
            *(f"- {entry}" for entry in sockets),
            "",
        ]
    return "\n".join(lines)
