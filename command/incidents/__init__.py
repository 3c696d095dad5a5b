"""Incidents: the lifecycle of an emergency from the first call to closing."""
