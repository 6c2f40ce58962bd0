"""--compare REF: before and after in one run. The `/` row of each mode and the database rows,
for the template at commit REF (extracted with git archive) and for the working tree. Each row
runs for both sides back to back, the side that goes first alternating, so a busier minute on a
shared machine touches both alike. Writes compare.{json,md}; results.* stay as measured."""

import contextlib
import dataclasses
import json
import os
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from .baking import WORKING_TREE, Template, bake_and_install, serve_command, served_app
from .config import MODES, ROOT
from .database_rows import measure_database
from .database_setups import QUERY_LABELS, DatabaseSetup, database_setup
from .machine import machine_info
from .measure import measure
from .postgres import postgres_cluster
from .processes import run
from .setups import Scenario, Setup

HELLO = Scenario("hello", "/", 64)


def seconds(quick: bool) -> dict:
    """wrk's measured seconds and the database rows' warm-up, as the full run has them."""
    return (
        {"http": 5, "database": 3, "warm_up": 1}
        if quick
        else {"http": 10, "database": 8, "warm_up": 2}
    )


def template_at(ref: str, workdir: Path) -> Template:
    """The template as committed at `ref`, extracted into workdir (the repository is untouched)."""
    commit = run(["git", "-C", str(ROOT), "rev-parse", "--short", f"{ref}^{{commit}}"]).stdout
    template = Template(workdir / "template", commit.strip())
    template.root.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", template.commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(template.root)], input=archive, check=True)
    return template


def http_setup(mode: str, workdir: Path, template: Template) -> Setup:
    project, venv = bake_and_install(mode, workdir, template=template)
    return Setup(
        mode,
        f"{mode}: generated, production server config",
        serve_command(mode, project, venv, served_app(mode)),
        project,
        [HELLO],
    )


def measure_row(setup: Setup, scenario: Scenario, quick: bool) -> dict:
    """One scenario on a fresh server, as the full run measures it."""
    alone, duration = dataclasses.replace(setup, scenarios=[scenario]), seconds(quick)
    if isinstance(setup, DatabaseSetup):
        logs = setup.cwd.parent / "server-logs"  # one directory per side
        logs.mkdir(exist_ok=True)
        outcome = measure_database(alone, duration["database"], duration["warm_up"], logs)
    else:
        outcome = measure(alone, duration["http"])
    return outcome["runs"][0]


def measure_rows(rows: list, quick: bool) -> list[dict]:
    """rows: (name, scenario, {side: setup}); each measured for both sides, alternating order."""
    found = []
    for number, (name, scenario, sides) in enumerate(rows):
        order = list(sides) if number % 2 == 0 else list(sides)[::-1]
        measured = {}
        for side in order:
            started = time.monotonic()
            measured[side] = measure_row(sides[side], scenario, quick)
            measured[side]["wall_s"] = round(time.monotonic() - started, 1)  # server start to stop
        found.append({"row": name, **{side: measured[side] for side in sides}})
    return found


def errors(run_: dict) -> int:
    return run_["non_2xx"] + run_["socket_errors"]


def report(ref: str, commit: str, rows: list[dict], machine: dict) -> str:
    lines = [
        f"# Before and after: {ref}{f' ({commit})' if ref != commit else ''} and the working tree",
        "",
        f"One run on {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}; "
        f"load average {machine['load_before']} at the start, {machine['load_after']} at the "
        f"end; {machine['minutes']} minutes. Each row ran for both templates back to back, "
        "each on a fresh server (and, for the database rows, its own fresh database, seeded "
        "alike), which one first alternating from row to row; load and warm-up as in "
        f"results.md (wrk measures `/` for {machine['seconds']['http']} s, a database row for "
        f"{machine['seconds']['database']} s). Change: working tree / {commit} - 1; errors: "
        "non-2xx and socket errors.",
        "",
        f"| row | rps {commit} | rps working tree | change | p99 ms {commit} "
        f"| p99 ms working tree | errors {commit} / working tree |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        before, after = row["before"], row["after"]
        change = f"{after['rps'] / before['rps'] - 1:+.1%}" if before["rps"] else "-"
        lines.append(
            f"| {row['row']} | {before['rps']:.0f} | {after['rps']:.0f} | {change} "
            f"| {before['p99_ms']} | {after['p99_ms']} | {errors(before)} / {errors(after)} |"
        )
    return "\n".join(lines) + "\n"


def side_by_side(templates: dict, make) -> dict:
    """{side: setup} from make(template), each labelled with its side's template."""
    return {
        side: dataclasses.replace(setup, label=f"[{template.name}] {setup.label}")
        for side, template in templates.items()
        for setup in [make(template)]
    }


def compare(options, modes: list[str], database_rows: list, output: Path) -> None:
    started, load_before = time.monotonic(), os.getloadavg()
    quick, rows = options.quick, []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        before = template_at(options.compare, workdir)
        templates = {"before": before, "after": WORKING_TREE}
        # A mode the older template cannot bake (it lacks the question) has no "before".
        asked = json.loads((before.root / "cookiecutter.json").read_text())
        skipped = [
            mode
            for mode in modes
            if not all(answer.split("=")[0] in asked for answer in MODES[mode])
        ]
        for mode in skipped:
            print(f"compare: {mode} left out, {before.name} cannot generate it", flush=True)
        modes = [mode for mode in modes if mode not in skipped]
        # Both sides of a row are baked and installed before either is measured.
        http = [
            (
                f"{mode} `/` at 64",
                HELLO,
                side_by_side(templates, partial(http_setup, mode, workdir)),
            )
            for mode in modes
        ]
        rows += measure_rows(http, quick)
        needs_postgres = any(database == "postgresql" for _, database in database_rows)
        with postgres_cluster() if needs_postgres else contextlib.nullcontext() as cluster:
            if cluster is None:  # postgres_cluster() said why
                database_rows = [row for row in database_rows if row[1] != "postgresql"]
            prepared = [
                side_by_side(
                    templates,
                    partial(database_setup, mode, database, workdir, cluster, quick),
                )
                for mode, database in database_rows
            ]
            queries = [
                (f"{sides['after'].name}: `{QUERY_LABELS[s.name]}` at {s.connections}", s, sides)
                for sides in prepared
                for s in sides["after"].scenarios
            ]
            rows += measure_rows(queries, quick)
    machine = machine_info(seconds(quick)["http"], [])
    machine.update(
        seconds=seconds(quick),
        load_before=" ".join(f"{n:.1f}" for n in load_before),
        load_after=" ".join(f"{n:.1f}" for n in os.getloadavg()),
        minutes=round((time.monotonic() - started) / 60),
    )
    found = {"ref": options.compare, "commit": before.commit, "machine": machine, "rows": rows}
    (output / "compare.json").write_text(json.dumps(found, indent=2))
    table = report(options.compare, before.commit, rows, machine)
    (output / "compare.md").write_text(table)
    print(table + f"wrote {output}/compare.{{json,md}}")
