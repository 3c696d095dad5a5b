"""Unit tests of the telephony domain and wire format (no I/O)."""
