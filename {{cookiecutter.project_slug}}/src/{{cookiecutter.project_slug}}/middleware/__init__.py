"""What every request passes through: errors, request ids, logs, strict JSON, body limits,
validation, OpenAPI, metrics, tracing and readiness. Nothing here imports the service's own
code (views, schemas, queries, database): the factory in __init__.py wires the two together."""
