"""End-to-end tests: the demo and the console in a real browser."""
