"""The HTTP rows: each setup's scenarios, one wrk run each."""

from .load import load, warm_up
from .memory import pss_mb
from .processes import running, server_env
from .setups import Setup


def measure(setup: Setup, duration: int, warm_up_s: int = 3) -> dict:
    """Each scenario on a freshly started server, so one run's backlog cannot spoil the next."""
    print(f"== {setup.label}", flush=True)
    outcome = {"label": setup.label, "runs": []}
    for scenario in setup.scenarios:
        with running(setup.command, setup.cwd, server_env(**setup.env)) as (server, cold_start):
            outcome.setdefault("cold_start_s", round(cold_start, 2))
            outcome.setdefault("idle_pss_mb", pss_mb(server.pid))
            warm_up(scenario, warm_up_s)
            result = {
                "scenario": scenario.name,
                "connections": scenario.connections,
                **load(scenario, duration, server.pid),
            }
        outcome["runs"].append(result)
        print(f"   {scenario.name:>10} c={scenario.connections:<5} {result}", flush=True)
    return outcome
