"""Load with wrk (keep-alive connections on 127.0.0.1), and what its report says."""

import re
import subprocess
import time
from pathlib import Path

from .config import PORT
from .memory import pss_mb


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


def wrk_command(
    connections: int,
    seconds: float,
    path: str,
    *,
    latency: bool = False,
    script: Path | None = None,
    script_args: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
) -> list[str]:
    """wrk with two threads (the machine has two cores) and a 10 s timeout per request."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    if latency:
        command.append("--latency")
    for header in headers:  # a Lua script's wrk.format() sends them too (wrk.headers)
        command += ["-H", header]
    if script:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{PORT}{path}")
    if script_args:
        command += ["--", *script_args]
    return command


def warm_up(scenario, seconds: int = 3, script_args: tuple[str, ...] = ()) -> None:
    """Unrecorded load first: worker threads, pools and connections exist before we measure."""
    subprocess.run(
        wrk_command(
            scenario.connections,
            seconds,
            scenario.path,
            script=scenario.script,
            script_args=script_args,
            headers=scenario.headers,
        ),
        capture_output=True,
        check=False,
        timeout=seconds + 30,
    )
    time.sleep(1)  # let the warm-up's slow requests finish


def load(scenario, duration: int, server_pid: int, script_args: tuple[str, ...] = ()) -> dict:
    """One measured wrk run; the server's memory is sampled half-way through."""
    # A 1 s request completes at most duration - 1 times per connection in the window; 20 periods
    # keep that edge effect at 5%.
    if scenario.sleep:
        duration = max(duration, round(20 * scenario.sleep))
    wrk = subprocess.Popen(
        wrk_command(
            scenario.connections,
            duration,
            scenario.path,
            latency=True,
            script=scenario.script,
            script_args=script_args,
            headers=scenario.headers,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(duration / 2)
        memory = pss_mb(server_pid)
        output, _ = wrk.communicate(timeout=duration + 60)
    finally:
        if wrk.poll() is None:  # interrupted: wrk is ours to stop
            wrk.kill()
            wrk.wait()
    result = parse_wrk(output)
    result["pss_mb"] = memory
    if scenario.ideal_rps:
        result["pct_ideal"] = round(100 * result["rps"] / scenario.ideal_rps, 1)
    return result
