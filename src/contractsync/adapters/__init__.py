"""Implementations of the ports: persistence, messaging and one package per vendor."""
