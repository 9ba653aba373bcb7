"""The HTTP API (FastAPI): ``create_app(container)`` over what ``bootstrap.build_api`` builds."""

from contractsync.entrypoints.api.app import create_app

__all__ = ["create_app"]
