"""Automatic vehicle location (AVL): units' positions, checked, ordered and fenced.

Pure: a position as a terminal or tracker sends it and the checks it must pass (``fixes``), the
rule of a unit's latest position, impossible jumps, geofences evaluated in device-time order
whatever the arrival order (``geofence``), and tracks simplified for playback (``tracks``).
The adapters are ``dispatch.avl.store`` (partitioned breadcrumbs) and the protocol parsers.
"""
