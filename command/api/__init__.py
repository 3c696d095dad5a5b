"""The HTTP and websocket API under /api/v1."""
