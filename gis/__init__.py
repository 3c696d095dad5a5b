"""Map data: projections, OSM import, geocoding and reverse geocoding, jurisdictions and zones,
drive-time routing, vector tiles."""
