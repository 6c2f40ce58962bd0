"""What is measured: setups (a server command) and scenarios (a path at a concurrency)."""

from dataclasses import dataclass, field
from pathlib import Path

from .baking import bake_and_install, serve_command, served_app
from .config import MODES, PORT, is_other_server


@dataclass
class Scenario:
    name: str
    path: str
    connections: int
    sleep: float | None = None  # seconds each request waits, for % of ideal
    capacity: int | None = None  # most requests the server can have waiting at once, if capped
    script: Path | None = None  # a wrk Lua script that writes the requests
    headers: tuple[str, ...] = ()  # sent with every request ("Name: value"), as wrk -H sends them

    @property
    def ideal_rps(self) -> float | None:
        if not self.sleep:
            return None
        return min(self.connections, self.capacity or self.connections) / self.sleep


@dataclass
class Setup:
    name: str
    label: str
    command: list[str]
    cwd: Path
    scenarios: list[Scenario] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # on top of server_env()


# ASGI with Flask under overload (1,024 connections), measured beside the generated adapter: the
# previous default shape (2 processes x 1,024 threads), a smaller pool whose queue holds the rest,
# and a longer interpreter switch interval.
OVERLOAD_ALTERNATIVES = ("asgi-2x1024", "asgi-threads-128", "asgi-switch-20ms")
# The HTTP rows' setups, in the order they run: each mode, its bare app, and after asgi the naive
# reference.
HTTP_SETUPS = [
    name
    for mode in MODES
    for name in (
        (mode,)  # Hypercorn, Granian: the generated service beside the default's, every scenario
        if is_other_server(mode)
        else (
            mode,
            f"{mode}-metrics-off",
            *([f"{mode}-stock-parser"] if mode != "wsgi" else []),
            f"{mode}-bare",
            *(["naive", *OVERLOAD_ALTERNATIVES] if mode == "asgi" else []),
        )
    )
]


def scenarios(quick: bool) -> list[Scenario]:
    hello = Scenario("hello", "/", 64)
    if quick:  # a smoke run: each setup starts, serves and is measured once, briefly
        return [hello]
    found = [hello]
    for sleep in (0.1, 1.0):
        found += [
            Scenario(f"slow {sleep:g} s", f"/slow?seconds={sleep:g}", n, sleep)
            for n in (64, 256, 1024)
        ]
    found.append(Scenario("cpu", "/cpu", 64))
    return found


def setups(workdir: Path, quick: bool) -> list[Setup]:
    """Each mode, generated and bare, and the naive reference; bakes and installs each mode."""
    every = scenarios(quick)
    hello_only = [s for s in every if s.name == "hello"]
    found = []
    for mode in MODES:
        project, venv = bake_and_install(mode, workdir)
        found.append(
            Setup(
                mode,
                f"{mode}: generated, production server config",
                serve_command(mode, project, venv, served_app(mode)),
                project,
                every,
            )
        )
        if is_other_server(mode):
            continue  # measured beside the default server's mode; its costs are that mode's
        found += [
            # What /metrics costs: the same app and server with METRICS_ENABLED=false.
            Setup(
                f"{mode}-metrics-off",
                f"{mode}: generated, METRICS_ENABLED=false, same server config",
                serve_command(mode, project, venv, served_app(mode)),
                project,
                hello_only,
                env={"METRICS_ENABLED": "false"},
            ),
            *(
                [
                    # What the header limits cost: uvicorn's own httptools protocol instead.
                    Setup(
                        f"{mode}-stock-parser",
                        f"{mode}: generated, uvicorn's stock parser (no header limits)",
                        serve_command(mode, project, venv, served_app(mode), http="httptools"),
                        project,
                        hello_only,
                    )
                ]
                if mode != "wsgi"
                else []
            ),
            Setup(
                f"{mode}-bare",
                f"{mode}: bare app, no middleware, same server config",
                serve_command(mode, project, venv, served_app(mode, bare=True)),
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
            found += [
                Setup(
                    "asgi-2x1024",
                    "asgi: generated, WEB_CONCURRENCY=2 ASGI_THREADS=1024 (the previous default)",
                    serve_command(mode, project, venv, served_app(mode)),
                    project,
                    every,
                    env={"WEB_CONCURRENCY": "2", "ASGI_THREADS": "1024"},
                ),
                Setup(
                    "asgi-threads-128",
                    "asgi: generated, ASGI_THREADS=128 (the pool's queue holds the rest)",
                    serve_command(mode, project, venv, served_app(mode)),
                    project,
                    every,
                    env={"ASGI_THREADS": "128"},
                ),
                Setup(
                    "asgi-switch-20ms",
                    "asgi: generated, sys.setswitchinterval(0.02) in each worker",
                    serve_command(mode, project, venv, "switched_app:asgi"),
                    project,
                    every,
                ),
            ]
    return found
