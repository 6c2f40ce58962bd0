"""Benchmark the generated WSGI and ASGI services against two references, with wrk.

Bakes both interfaces, serves each with its production server configuration, drives keep-alive
load on 127.0.0.1 at several concurrency levels, and writes results/results.{json,md,png}.
Run it through `benchmarks/run`, which installs wrk and the driver's own dependencies.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
VENVS = ROOT / ".cache" / "venvs"
BENCH_BIN = Path(sys.executable).parent
SECRET = "benchmark-only-" + "x" * 40
PORT = 18731

# The generated app, unchanged, plus a CPU-bound view (about 5 ms of pure Python).
BENCH_APP = """
from {slug} import create_app

app = create_app()


@app.get("/cpu")
{async_}def cpu():
    return {{"total": sum(i * i for i in range(60_000))}}
"""
# Flask under ASGI: the generated adapter, and the bare WsgiToAsgi most guides show.
ADAPTER_EXTRA = """
import os

from asgiref.wsgi import WsgiToAsgi

from {slug}.asgi_adapter import ThreadPoolWsgiToAsgi
from {slug}.settings import worker_threads

asgi = ThreadPoolWsgiToAsgi(app, worker_threads(os.environ))
naive = WsgiToAsgi(app)
"""
# The same `/` with the same secret (so both pay for the session machinery) and no middleware:
# what our logging, request ids and error handling cost.
BARE_APP = """
import os

from {framework} import {app_class}

app = {app_class}(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]


@app.get("/")
{async_}def hello():
    return {{"message": "Hello", "interface": "bare"}}
"""
BARE_ADAPTER_EXTRA = """
from {slug}.asgi_adapter import ThreadPoolWsgiToAsgi
from {slug}.settings import worker_threads

asgi = ThreadPoolWsgiToAsgi(app, worker_threads(os.environ))
"""
# Generated modes: the answers that produce them.
MODES = {
    "wsgi": ["interface=wsgi"],
    "asgi": ["interface=asgi", "asgi_framework=flask"],
    "quart": ["interface=asgi", "asgi_framework=quart"],
}


@dataclass
class Scenario:
    name: str
    path: str
    connections: int
    sleep: float | None = None  # seconds each request waits, for % of ideal

    @property
    def ideal_rps(self) -> float | None:
        return self.connections / self.sleep if self.sleep else None


@dataclass
class Setup:
    name: str
    label: str
    command: list[str]
    cwd: Path
    scenarios: list[Scenario] = field(default_factory=list)


def scenarios(quick: bool) -> list[Scenario]:
    levels = (64, 256) if quick else (64, 256, 1024)
    found = [Scenario("hello", "/", 64)]
    for sleep in (0.1, 1.0):
        found += [
            Scenario(f"slow {sleep:g} s", f"/slow?seconds={sleep:g}", n, sleep) for n in levels
        ]
    found.append(Scenario("cpu", "/cpu", 64))
    return found


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def bake_and_install(mode: str, workdir: Path) -> tuple[Path, Path]:
    """Bake one mode, install it into the venv the template's tests also use, add bench apps."""
    run(
        [
            BENCH_BIN / "cookiecutter",
            str(ROOT),
            "--no-input",
            "--output-dir",
            str(workdir),
            *MODES[mode],
            f"project_name=Bench {mode}",
        ]
    )
    project = workdir / f"bench_{mode}"
    venv = VENVS / mode
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    run([venv / "bin" / "pip", "install", "-q", "-e", str(project)])
    slug, quart = project.name, mode == "quart"
    async_ = "async " if quart else ""
    bench_app = BENCH_APP.format(slug=slug, async_=async_)
    bare_app = BARE_APP.format(
        framework="quart" if quart else "flask",
        app_class="Quart" if quart else "Flask",
        async_=async_,
    )
    if mode == "asgi":
        bench_app += ADAPTER_EXTRA.format(slug=slug)
        bare_app += BARE_ADAPTER_EXTRA.format(slug=slug)
    (project / "bench_app.py").write_text(bench_app)
    (project / "bare_app.py").write_text(bare_app)
    return project, venv


def server_env() -> dict:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(PORT),
    }


def setups(workdir: Path, quick: bool) -> list[Setup]:
    every = scenarios(quick)
    hello_only = [s for s in every if s.name == "hello"]
    found = []
    for mode in MODES:
        project, venv = bake_and_install(mode, workdir)
        if mode == "wsgi":

            def serve(app, venv=venv):
                return [str(venv / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", app]
        else:

            def serve(app, venv=venv, slug=project.name):
                return [
                    str(venv / "bin" / "python"),
                    "-c",
                    f"from {slug}.asgi_server import main; main({app!r})",
                ]

        served = "bench_app:asgi" if mode == "asgi" else "bench_app:app"
        bare = "bare_app:asgi" if mode == "asgi" else "bare_app:app"
        found += [
            Setup(
                mode, f"{mode}: generated, production server config", serve(served), project, every
            ),
            Setup(
                f"{mode}-bare",
                f"{mode}: bare app, no middleware, same server config",
                serve(bare),
                project,
                hello_only,
            ),
        ]
        if mode == "asgi":
            naive = [
                str(venv / "bin" / "uvicorn"),
                "bench_app:naive",
                "--host",
                "127.0.0.1",
                "--port",
                str(PORT),
                "--workers",
                "2",
                "--log-level",
                "warning",
            ]
            found.append(
                Setup(
                    "naive",
                    "reference: uvicorn + bare asgiref WsgiToAsgi, 2 workers",
                    naive,
                    project,
                    every,
                )
            )
    return found


def process_tree(root_pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = [root_pid], [root_pid]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += children
        frontier = children
    return tree


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


def first_200(timeout=30) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not answer")


def parse_wrk(output: str) -> dict:
    def number(pattern, default=0.0):
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def latency_ms(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\b", output, re.M)
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return round(value * {"us": 0.001, "ms": 1, "s": 1000}[unit], 1)

    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
    }


def warm_up(scenario: Scenario, seconds: int = 3) -> None:
    """Unrecorded load first: worker threads, pools and connections exist before we measure."""
    subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{scenario.connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            f"http://127.0.0.1:{PORT}{scenario.path}",
        ],
        capture_output=True,
        check=False,
        timeout=seconds + 30,
    )
    time.sleep(1)  # let the warm-up's slow requests finish


def load(scenario: Scenario, duration: int, server_pid: int) -> dict:
    # A 1 s request completes at most duration - 1 times per connection in the window; 20 periods
    # keep that edge effect at 5%.
    if scenario.sleep:
        duration = max(duration, round(20 * scenario.sleep))
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t2",
            f"-c{scenario.connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "--latency",
            f"http://127.0.0.1:{PORT}{scenario.path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(duration / 2)
    memory = pss_mb(server_pid)
    output, _ = wrk.communicate(timeout=duration + 60)
    result = parse_wrk(output)
    result["pss_mb"] = memory
    if scenario.ideal_rps:
        result["pct_ideal"] = round(100 * result["rps"] / scenario.ideal_rps, 1)
    return result


def stop_tree(server: subprocess.Popen) -> None:
    """SIGTERM the server; whatever of its tree is still alive after 15 s is killed by PID."""
    tree = process_tree(server.pid)
    server.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(15)
    for pid in reversed(tree):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.wait()


@contextlib.contextmanager
def running(setup: Setup):
    """The setup's server, answering; yields (process, seconds from start to first 200)."""
    server = subprocess.Popen(
        setup.command,
        cwd=setup.cwd,
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        cold_start = first_200()
        time.sleep(0.5)
        yield server, cold_start
    finally:
        stop_tree(server)


def measure(setup: Setup, duration: int) -> dict:
    """Each scenario on a freshly started server, so one run's backlog cannot spoil the next."""
    print(f"== {setup.label}", flush=True)
    outcome = {"label": setup.label, "runs": []}
    for scenario in setup.scenarios:
        with running(setup) as (server, cold_start):
            outcome.setdefault("cold_start_s", round(cold_start, 2))
            outcome.setdefault("idle_pss_mb", pss_mb(server.pid))
            warm_up(scenario)
            result = {
                "scenario": scenario.name,
                "connections": scenario.connections,
                **load(scenario, duration, server.pid),
            }
        outcome["runs"].append(result)
        print(f"   {scenario.name:>10} c={scenario.connections:<5} {result}", flush=True)
    return outcome


async def open_websockets(count: int, into: list) -> int:
    """Open websockets up to `count` in all, then check each echoes; return how many did."""
    import websockets

    while len(into) < count:
        into.append(
            await websockets.connect(
                f"ws://127.0.0.1:{PORT}/ws/echo", open_timeout=10, ping_interval=None
            )
        )

    async def echoes(ws) -> bool:
        await ws.send("ping")
        return await ws.recv() == "ping"

    return sum(await asyncio.gather(*(echoes(ws) for ws in into)))


def websocket_capacity(setup: Setup, steps=(1000, 4000, 8000)) -> list[dict]:
    """Hold many idle WebSocket connections open on one server; memory per connection."""
    print(f"== WebSockets held by {setup.label}", flush=True)
    loop = asyncio.new_event_loop()
    held, found = [], []
    with running(setup) as (server, _):
        idle = pss_mb(server.pid)
        for step in steps:
            try:
                alive = loop.run_until_complete(open_websockets(step, held))
            except OSError as error:
                found.append({"connections": step, "error": repr(error)})
                break
            memory = pss_mb(server.pid)
            found.append(
                {
                    "connections": step,
                    "echoing": alive,
                    "pss_mb": memory,
                    "idle_pss_mb": idle,
                    "kb_per_connection": round((memory - idle) * 1024 / step, 1),
                }
            )
            print(f"   {found[-1]}", flush=True)
        for ws in held:
            loop.run_until_complete(ws.close())
    loop.close()
    return found


def find(results, setup, scenario, connections):
    for run_ in results.get(setup, {}).get("runs", []):
        if run_["scenario"] == scenario and run_["connections"] == connections:
            return run_
    return None


# (setup, scenario, connections, minimum % of ideal): the targets the servers issue set.
TARGETS = [
    ("wsgi", 64, 90),
    ("wsgi", 256, 80),
    ("asgi", 256, 90),
    ("asgi", 1024, 70),
    ("quart", 256, 90),
    ("quart", 1024, 85),
]


def verdicts(results) -> list[str]:
    lines = []
    for setup, connections, minimum in TARGETS:
        for scenario in ("slow 0.1 s", "slow 1 s"):
            run_ = find(results, setup, scenario, connections)
            if run_ is None:
                continue
            ok = run_["pct_ideal"] >= minimum and run_["non_2xx"] == 0 and not run_["socket_errors"]
            lines.append(
                f"- {'met' if ok else 'MISSED'}: {setup} {scenario} at {connections} connections "
                f">= {minimum}% of ideal: {run_['pct_ideal']}%, p99 {run_['p99_ms']} ms, "
                f"{run_['non_2xx']} non-2xx, {run_['socket_errors']} socket errors"
            )
    for interface in MODES:
        ours, bare = (
            find(results, interface, "hello", 64),
            find(results, f"{interface}-bare", "hello", 64),
        )
        if ours and bare:
            ratio = ours["rps"] / bare["rps"]
            lines.append(
                f"- {'met' if ratio >= 0.8 else 'MISSED'}: {interface} `/` at 0.8x bare Flask or "
                f"better: {ours['rps']:.0f} vs {bare['rps']:.0f} rps = {ratio:.2f}x"
            )
    for setup in (name for name in MODES if name in results):
        cold = results[setup]["cold_start_s"]
        verdict = "met" if cold < 2 else "MISSED"
        lines.append(f"- {verdict}: {setup} cold start to first 200 under 2 s: {cold} s")
    return lines


def summary(results) -> list[str]:
    """One row per mode: the figures the README publishes."""

    def pct(name, scenario, connections):
        run_ = find(results, name, scenario, connections)
        return f"{run_['pct_ideal']:.0f}%" if run_ else "-"

    rows = [
        "| mode | `/` rps (bare app) | /slow 0.1 s at 64 / 256 / 1024 "
        "| /slow 1 s at 64 / 256 / 1024 | /cpu p99 | non-2xx | idle PSS | cold start |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in (n for n in ("wsgi", "asgi", "quart", "naive") if n in results):
        outcome = results[name]
        hello = find(results, name, "hello", 64)
        bare = find(results, f"{name}-bare", "hello", 64)
        cpu = find(results, name, "cpu", 64)
        errors = sum(r["non_2xx"] + r["socket_errors"] for r in outcome["runs"])
        slow = [
            " / ".join(pct(name, scenario, c) for c in (64, 256, 1024))
            for scenario in ("slow 0.1 s", "slow 1 s")
        ]
        rows.append(
            f"| {name} | {hello['rps']:.0f}"
            + (f" ({bare['rps']:.0f})" if bare else "")
            + f" | {slow[0]} | {slow[1]} | {cpu['p99_ms']:.0f} ms | {errors} "
            f"| {outcome['idle_pss_mb']:.0f} MB | {outcome['cold_start_s']} s |"
        )
    return rows


def markdown(results, machine, sockets) -> str:
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
    setups_ = "\n".join(
        f"- `{name}`: {o['label']}; cold start {o['cold_start_s']} s, "
        f"idle PSS {o['idle_pss_mb']} MB"
        for name, o in results.items()
    )
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
            f"Linux {machine['kernel']}.",
            f"Versions: {versions}.",
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
            "## Targets",
            "",
            *verdicts(results),
            "",
            "## All runs",
            "",
            *rows,
            "",
            "## WebSocket connections held by one quart server (2 uvicorn workers)",
            "",
            *(f"- {entry}" for entry in sockets),
            "",
        ]
    )


def chart(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ("wsgi", "asgi", "naive", "quart") if n in results]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, scenario in zip(axes[:2], ("slow 0.1 s", "slow 1 s"), strict=True):
        levels = sorted(
            {
                r["connections"]
                for n in names
                for r in results[n]["runs"]
                if r["scenario"] == scenario
            }
        )
        width = 0.8 / len(names)
        for index, name in enumerate(names):
            values = [(find(results, name, scenario, c) or {}).get("pct_ideal", 0) for c in levels]
            axis.bar([x + index * width for x in range(len(levels))], values, width, label=name)
        axis.set_xticks([x + 0.4 - width / 2 for x in range(len(levels))], [str(c) for c in levels])
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel("% of ideal throughput")
        axis.set_ylim(0, 105)
        axis.set_title(f"/slow, {scenario} per request")
        axis.legend(fontsize=8)
    hello = [n for n in results if find(results, n, "hello", 64)]
    axes[2].bar(hello, [find(results, n, "hello", 64)["rps"] for n in hello])
    axes[2].set_title("/ at 64 connections")
    axes[2].set_ylabel("requests per second")
    axes[2].tick_params(axis="x", rotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine_info(duration, venvs) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {}
    for venv in venvs:
        freeze = run([venv / "bin" / "pip", "freeze"]).stdout
        for line in freeze.splitlines():
            name, _, version = line.partition("==")
            if name.lower() in {
                "flask",
                "werkzeug",
                "gunicorn",
                "uvicorn",
                "asgiref",
                "quart",
                "uvloop",
                "httptools",
            }:
                versions[name] = version
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    versions["wrk"] = wrk.stdout.split()[1]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "versions": versions,
        "duration_s": duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s runs, up to 256 connections")
    parser.add_argument("--only", nargs="*", help="run only these setups (wsgi, asgi, naive, ...)")
    options = parser.parse_args()
    duration = 5 if options.quick else 10
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        chosen = [
            s
            for s in setups(Path(workdir), options.quick)
            if not options.only or s.name in options.only
        ]
        results = {setup.name: measure(setup, duration) for setup in chosen}
        quart = [setup for setup in chosen if setup.name == "quart"]
        sockets = websocket_capacity(quart[0]) if quart and not options.quick else []
        machine = machine_info(duration, [VENVS / mode for mode in MODES])
    (RESULTS / "results.json").write_text(
        json.dumps({"machine": machine, "results": results, "websockets": sockets}, indent=2)
    )
    (RESULTS / "results.md").write_text(markdown(results, machine, sockets))
    chart(results, RESULTS / "results.png")
    print("\n".join(verdicts(results)))
    print(f"wrote {RESULTS}/results.{{json,md,png}}")


if __name__ == "__main__":
    main()
