"""Benchmark the generated WSGI and ASGI services against two references, on SQLite and
PostgreSQL against the bare driver, and with bearer tokens against without, with wrk.

Bakes every mode, serves each with its production server configuration, drives keep-alive
load on 127.0.0.1 at several concurrency levels, and writes results/results.{json,md,png}.
Run it through `benchmarks/run`, which installs wrk and the driver's own dependencies.

Modules, in the order a run uses them:
    options              the command line
    baking, setups       bake and install each mode; what the HTTP rows serve and request
    processes, memory    start and stop servers (by PID), their memory (PSS)
    load                 wrk: warm-up, measured run, its report parsed
    measure              the HTTP rows
    database_setups      per mode and database: bake, fresh database, migrate, seed
    postgres             one throwaway PostgreSQL cluster for the run (tests/postgres_cluster.py)
    database_rows        the database rows, with the pool wait from access_log
    driver_limit         the same queries on the bare driver (venv_scripts/driver_loop.py)
    auth_setups          per mode: the SQLite project with auth=none and auth=oidc, seeded, and
                         the stand-in OpenID provider (venv_scripts/oidc_issuer.py)
    auth_rows, cpu_time  GET /items/<id> with a bearer token against the same without, with the
                         server's CPU time per request
    websocket_capacity   idle WebSockets one Quart server holds
    machine, targets     the report's header and verdicts
    markdown, database_report, auth_report, chart    results.md, auth.md and results.png
    main                 the whole run
    compare              --compare REF: the `/` and database rows, before and after, in one run
venv_scripts/ run inside a generated project's venv; lua/ holds wrk's request scripts.
"""
