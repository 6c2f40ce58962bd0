"""Pydantic models of what the API accepts and returns: they validate requests and, through
middleware/openapi.py, document them."""
