"""Blueprints: one module per area of the service."""
