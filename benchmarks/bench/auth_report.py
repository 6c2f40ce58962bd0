"""The auth rows in the report: per mode, GET /items/<id> with and without a bearer token, and
what checking the token cost; written to auth.{json,md} and, in a full run, into results.md."""

from .database_report import errors_text, ms

# The order of the report's other mode tables: each framework's servers together.
ORDER = (
    "wsgi",
    "wsgi_granian",
    "asgi",
    "asgi_hypercorn",
    "asgi_granian",
    "quart",
    "quart_hypercorn",
    "quart_granian",
)


def cost_cell(cost: dict, key: str) -> str:
    """A cost is only a cost when both runs answered every request with a 2xx."""
    if key not in cost:
        return "-"
    return f"{cost[key]:+d}" + (" (errors!)" if cost["errors"] else "")


def spread(run_: dict) -> str:
    """Every round's rps, lowest to highest: how much the machine moved them."""
    return "-".join(
        f"{r['rps']:.0f}" for r in sorted(run_.get("rounds", []), key=lambda r: r["rps"])
    )


def auth_table(auth: dict) -> list[str]:
    rows = [
        "| mode | processes | rps without auth / with a token | ratio | rounds' rps without; with "
        "| p99 ms without / with | token check, µs per request (from rps) "
        "| server CPU µs per request without / with (difference) "
        "| non-2xx + socket errors without / with | without a token |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in (m for m in ORDER if m in auth["modes"]):
        o = auth["modes"][mode]
        plain, token, cost = o["none"], o["oidc"], o["token_check"]
        ratio = f"{token['rps'] / plain['rps']:.2f}x" if plain["rps"] else "-"
        rows.append(
            f"| {mode} | {o['workers']} | {plain['rps']:.0f} / {token['rps']:.0f} | {ratio} "
            f"| {spread(plain)}; {spread(token)} "
            f"| {ms(plain['p99_ms'])} / {ms(token['p99_ms'])} "
            f"| {cost_cell(cost, 'us_per_request')} "
            f"| {plain['server_cpu_us_per_request']} / {token['server_cpu_us_per_request']} "
            f"({cost_cell(cost, 'server_cpu_us_per_request')}) "
            f"| {errors_text(plain)} + {plain['socket_errors']} / "
            f"{errors_text(token)} + {token['socket_errors']} "
            f"| {token['probe_status']['without_token']} |"
        )
    return rows


def auth_section(auth: dict) -> list[str]:
    cores = auth["cores"]
    rounds = f"{auth['rounds']} round" + ("s" if auth["rounds"] != 1 else "")
    return [
        "## Authenticated requests (auth=oidc)",
        "",
        f"Per mode, the SQLite project baked with auth=none and with auth=oidc (one venv, the "
        f"same versions), each on a fresh database seeded as the database rows are: `GET "
        f"/items/<id>` over random ids, `wrk -t2 -c{auth['connections']} "
        f"-d{auth['duration_s']}s --timeout 10s` after {auth['warm_up_s']} s of unrecorded "
        f"warm-up, a fresh production server per row; {rounds} of auth=none "
        "then auth=oidc, each side's figures from its median round (by rps), its server CPU "
        "the median of its rounds, its errors those of every round. The "
        "token: RS256 (RSA 2048), scope `items:read`, from the project's stand-in provider "
        "(tests/oidc_issuer.py) on 127.0.0.1, whose keys each process fetched once during the "
        "warm-up; one token for every request, sent as `-H 'Authorization: Bearer <token>'`. "
        f"Token check from rps: (1/rps with - 1/rps without) x {cores} cores, in microseconds: "
        "the machine's time per request as one core's, wrk's share included, so it leans high. "
        "Server CPU: user + system time of the server's process tree over the measured window "
        "(/proc), per request answered. Non-2xx are wrk's count, with the statuses the server "
        'logged; "without a token": the oidc server\'s answer to the same request with no '
        "token (401 shows the check is on).",
        "",
        *auth_table(auth),
        "",
    ]


def auth_markdown(auth: dict, machine: dict) -> str:
    """auth.md: the machine, the versions, the section."""
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    return "\n".join(
        [
            "# Benchmark results: authenticated requests",
            "",
            f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
            f"Linux {machine['kernel']}.",
            f"Versions: {versions}.",
            "",
            *auth_section(auth),
        ]
    )
