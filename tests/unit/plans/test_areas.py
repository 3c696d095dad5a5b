"""An evacuation circle is measured in metres of the metric projection, not in degrees."""

from __future__ import annotations

import math

from gis.coords import distance_m, metric_crs_for
from plans.areas import circle_around


def test_the_circle_is_the_distance_all_round() -> None:
    lon, lat = 9.5209, 47.1410
    area = circle_around(lon, lat, 300.0, metric_crs_for(lon, lat))
    assert area.is_valid
    radii = [distance_m(lon, lat, x, y) for x, y in area.exterior.coords]
    assert min(radii) > 299.0
    assert max(radii) < 301.0
    assert math.isclose(area.centroid.x, lon, abs_tol=1e-6)
