"""Shipped test support: in-memory fakes of the ports and the adapter conformance suite."""
