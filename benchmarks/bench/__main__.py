"""`python -m bench` (what benchmarks/run starts)."""

from .main import main

main()
