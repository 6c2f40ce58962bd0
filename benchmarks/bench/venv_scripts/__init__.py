"""Scripts run by a generated project's own interpreter (its venv), not by the benchmark's.

Each is started by path with `<venv>/bin/python SCRIPT ...`, imports only the standard library,
the project and its dependencies, and prints one JSON object on stdout.
"""
