"""Incidents (the heart), the web API and websockets, the consoles, auth and audit, the `cad`
command line, and the one place that wires the parts together."""
