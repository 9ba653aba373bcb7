"""Adapter tests against real or simulated systems."""
