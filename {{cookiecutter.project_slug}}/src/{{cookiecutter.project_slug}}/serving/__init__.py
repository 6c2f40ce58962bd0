"""Running the service as a process: the WSGI or ASGI entry points, the server's launcher and
what it prepares before the workers start. Only this layer imports the factory."""
