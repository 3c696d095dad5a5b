"""Dispatch: units, stations, capabilities, the unit status machine, assignments, timers and
the drive-time recommendation (domain core), with the SQL adapter and the demo fleet."""
