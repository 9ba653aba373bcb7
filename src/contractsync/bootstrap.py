"""The composition root: the only place that reads settings and builds adapters and services."""
