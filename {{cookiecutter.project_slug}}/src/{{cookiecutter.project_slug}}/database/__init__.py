"""The data layer: the engine and a session per request (session.py), the models (models.py),
and the schema's history (migrations/, applied by `migrate`)."""
