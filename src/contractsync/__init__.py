"""contractsync: a contract-to-cash sync hub built around one canonical contract model."""

__version__ = "0.1.0"

__all__ = ["__version__"]
