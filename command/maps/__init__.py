"""Maps: what the consoles ask of ``gis`` (addresses, places, zones, routes, basemap tiles)."""
