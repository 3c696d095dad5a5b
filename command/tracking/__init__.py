"""Tracking: live unit positions from terminals and trackers to the dispatchers' map.

``service.Tracking`` takes positions in (checked, ordered, jump-flagged), keeps each unit's
latest, hands them to the writer (breadcrumbs, in batches) and to the relay (consoles, every
process), and follows each unit against its geofences (``fences``), turning crossings into
events and, by setting, into on-scene reports.
"""
