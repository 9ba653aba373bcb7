"""Protocols the core needs from the outside world, named by role; each docstring is a contract."""
