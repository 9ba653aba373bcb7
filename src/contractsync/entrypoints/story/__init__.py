"""The demo story: Tryton, the vendor simulators and the hub on loopback, and 26 contracts through them.

``stack`` starts the parts (a real trytond, each simulator as a real HTTP server, the hub's
API, engine, pollers and relay as ``contractsync serve`` runs them, from a settings file
written by ``hub_config``); ``cast`` is who signs what; ``script`` plays the story through
the simulators' operator APIs and the hub's process API, as the firm's people would;
``census`` reads every system back; ``report`` prints the summary. ``command`` is
``contractsync demo``.
"""
