"""The API's routers: webhook ingress and health (process API routers join here)."""
