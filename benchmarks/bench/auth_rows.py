"""The auth rows: per mode, `GET /items/<id>` with a bearer token on the auth=oidc project, and
the same request on the auth=none project right before it, each on a fresh server, for a few
rounds; the server's CPU time over the measured window, and the statuses it logged."""

import os
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from .access_log import log_size, read_window, summarise
from .auth_setups import AUDIENCE, AUTHS, auth_pair, get_item, stand_in_issuer
from .config import PORT
from .cpu_time import cpu_seconds
from .database_report import errors_text
from .database_setups import DatabaseSetup
from .load import load, warm_up
from .processes import running, server_env


def status(path: str, headers: tuple[str, ...] = ()) -> int:
    """One request's status: does the server ask for a token, and take ours?"""
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}",
        headers=dict(header.split(": ", 1) for header in headers),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def measure_get(setup: DatabaseSetup, headers: tuple[str, ...], duration, warm_up_s, log) -> dict:
    """One fresh server, one warm-up, one measured wrk run of GET /items/<id>."""
    scenario = get_item(headers)
    ids = (str(setup.first_id), str(setup.last_id))
    path = f"/items/{setup.first_id}"
    with running(setup.command, setup.cwd, server_env(**setup.env), log=log) as (server, cold):
        probes = {"without_token": status(path), "as_measured": status(path, headers)}
        # The warm-up also has every process fetch the provider's keys once.
        warm_up(scenario, warm_up_s, ids)
        start, cpu_before = log_size(log), cpu_seconds(server.pid)
        measured = load(scenario, duration, server.pid, ids)
        cpu_used, end = cpu_seconds(server.pid) - cpu_before, log_size(log)
    logged = summarise(read_window(log, start, end))
    return {
        "cold_start_s": round(cold, 2),
        "probe_status": probes,
        **measured,
        "server_cpu_us_per_request": (
            round(cpu_used / measured["requests"] * 1e6) if measured["requests"] else None
        ),
        "statuses": logged["statuses"],
        "logged_errors": logged["logged_errors"],
        "first_logged_error": logged["first_logged_error"],
    }


def token_cost(runs: dict) -> dict:
    """What checking the token added to each request, two ways:
    - from throughput: (1/rps with a token - 1/rps without) x cores, the core-microseconds each
      request took of the whole machine (wrk's share included, so it leans high);
    - from the server's own CPU time per request (/proc), with and without."""
    plain, token = runs["none"], runs["oidc"]
    cost = {"errors": sum(r["non_2xx"] + r["socket_errors"] for r in (plain, token))}
    if plain["rps"] and token["rps"]:
        cores = os.cpu_count() or 1
        cost["us_per_request"] = round((1 / token["rps"] - 1 / plain["rps"]) * cores * 1e6)
    cpu = [runs[auth]["server_cpu_us_per_request"] for auth in AUTHS]
    if None not in cpu:
        cost["server_cpu_us_per_request"] = cpu[1] - cpu[0]
    return cost


def median_run(rounds: list[dict]) -> dict:
    """The round with the median rps, as measured, but with the median server CPU per request of
    all rounds, and every round's errors and statuses: a shared machine moves single rounds."""
    chosen = dict(sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2])
    cpu = sorted(r["server_cpu_us_per_request"] or 0 for r in rounds)
    chosen["server_cpu_us_per_request"] = cpu[len(cpu) // 2]
    for count in ("non_2xx", "socket_errors", "logged_errors"):
        chosen[count] = sum(r[count] for r in rounds)
    statuses = sum((Counter(r["statuses"]) for r in rounds), Counter())
    chosen["statuses"] = dict(sorted(statuses.items()))
    chosen["rounds"] = [
        {key: r[key] for key in ("rps", "p99_ms", "server_cpu_us_per_request", "non_2xx")}
        for r in rounds
    ]
    return chosen


@dataclass
class AuthRun:
    modes: dict = field(default_factory=dict)  # mode -> {"none": run, "oidc": run, ...}
    venvs: list = field(default_factory=list)
    duration_s: int = 0
    warm_up_s: int = 0
    rounds: int = 1

    def as_json(self) -> dict:
        return {
            "request": "GET /items/<id>",
            "connections": get_item().connections,
            "audience": AUDIENCE,
            "duration_s": self.duration_s,
            "warm_up_s": self.warm_up_s,
            "rounds": self.rounds,
            "cores": os.cpu_count(),
            "modes": self.modes,
        }


def measure_mode(mode: str, pair: dict, found: AuthRun, logs: Path) -> dict:
    """The provider up; rounds of auth=none, then auth=oidc with its token; the median rounds."""
    print(f"== {mode}: GET /items/<id> at 64, {found.rounds} x auth=none, auth=oidc", flush=True)
    rounds = {auth: [] for auth in AUTHS}
    with stand_in_issuer(pair["oidc"]) as (issuer_url, token):
        provider = {"OIDC_ISSUER": issuer_url, "OIDC_AUDIENCE": AUDIENCE}
        setups = {
            "none": (pair["none"], ()),
            "oidc": (
                replace(pair["oidc"], env={**pair["oidc"].env, **provider}),
                (f"Authorization: Bearer {token}",),
            ),
        }
        for number in range(found.rounds):
            for auth, (setup, headers) in setups.items():
                log = logs / f"{mode}-{auth}-{number}.log"
                r = measure_get(setup, headers, found.duration_s, found.warm_up_s, log)
                rounds[auth].append(r)
                print(
                    f"   auth={auth:<4} rps {r['rps']:.0f} p99 {r['p99_ms']} ms, non-2xx "
                    f"{errors_text(r)}, socket errors {r['socket_errors']}, server CPU "
                    f"{r['server_cpu_us_per_request']} us/request, probes {r['probe_status']}",
                    flush=True,
                )
    runs = {auth: median_run(rounds[auth]) for auth in AUTHS}
    outcome = {
        "workers": pair["none"].workers,
        "seeded_items": pair["none"].last_id - pair["none"].first_id + 1,
        **runs,
        "token_check": token_cost(runs),
    }
    print(f"   token check: {outcome['token_check']}", flush=True)
    return outcome


def run_auth_rows(modes, workdir: Path, quick: bool) -> AuthRun:
    """Bake and seed every pair first (no pip install runs beside a measurement), then measure
    each mode."""
    found = AuthRun(
        duration_s=2 if quick else 8, warm_up_s=1 if quick else 2, rounds=1 if quick else 3
    )
    logs = workdir / "auth-logs"
    logs.mkdir(exist_ok=True)
    pairs = {mode: auth_pair(mode, workdir) for mode in modes}
    found.venvs = [pair["none"].venv for pair in pairs.values()]
    for mode, pair in pairs.items():
        found.modes[mode] = measure_mode(mode, pair, found, logs)
    return found
