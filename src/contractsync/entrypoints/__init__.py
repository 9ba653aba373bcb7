"""Ways in: the command line, the HTTP API and the worker process."""
