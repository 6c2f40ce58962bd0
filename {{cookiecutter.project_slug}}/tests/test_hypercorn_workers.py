"""hypercorn_workers.py on the real server: a shutdown that drains every worker, a dead worker
replaced, and a worker that cannot boot stopping the server rather than dying for ever."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from real_server import refused, start_server, wait_for


def test_sigterm_drains_every_worker_and_refuses_new_connections(tmp_path):
    server = start_server(tmp_path, WEB_CONCURRENCY="2")
    try:
        statuses = []
        requests = [
            threading.Thread(target=lambda: statuses.append(server.get("/slow?seconds=4")))
            for _ in range(8)  # over the two workers
        ]
        for request in requests:
            request.start()
        assert wait_for(lambda: server.in_flight() == 9), "the 8 (and the scrape) never ran"
        server.process.send_signal(signal.SIGTERM)
        assert wait_for(lambda: refused(server.port), timeout=5), "still accepting connections"
        for request in requests:
            request.join(10)
        assert statuses == [200] * 8
        assert server.process.wait(10) == 0
    finally:
        server.stop()


def test_a_killed_worker_is_replaced(tmp_path):
    server = start_server(tmp_path, WEB_CONCURRENCY="2")
    try:
        workers = wait_for(lambda: len(server.workers()) == 2 and server.workers())
        assert workers, "two workers did not start"
        os.kill(workers[0], signal.SIGKILL)
        replaced = wait_for(lambda: len(now := server.workers()) == 2 and workers[0] not in now)
        assert replaced, f"no replacement:\n{server.log.read_text()}"
        assert all(server.get("/healthz") == 200 for _ in range(10))
        lines = [json.loads(line) for line in server.log.read_text().splitlines()]  # all JSON
        assert any("starting another" in line["message"] for line in lines)
    finally:
        assert server.stop() == 0


def test_a_worker_that_cannot_boot_stops_the_server_with_status_3():
    program = (
        "from hypercorn.config import Config\n"
        "from {{ cookiecutter.project_slug }}.serving.hypercorn_workers import supervise\n"
        "config = Config()\n"
        "config.application_path = 'asgi:no_such_module:app'\n"
        "config.bind = ['127.0.0.1:0']\n"
        "raise SystemExit(supervise(config, 2))\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert "failed to boot" in result.stdout + result.stderr
    assert time.monotonic() - started < 30  # no endless respawning
