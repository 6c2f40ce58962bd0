"""Benchmark the generated WSGI and ASGI services against two references, with wrk.

Bakes both interfaces, serves each with its production server configuration, drives keep-alive
load on 127.0.0.1 at several concurrency levels, and writes results/results.{json,md,png}.
Run it through `benchmarks/run`, which installs wrk and the driver's own dependencies.
"""
