"""Durable flows; the only package that imports the workflow engine."""
