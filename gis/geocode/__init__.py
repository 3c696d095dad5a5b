"""Forward geocoding: address, landmark, intersection or coordinate text to ranked candidates.

What to call is :class:`gis.geocode.service.Geocoder` (``geocode``, ``typeahead``, ``index``);
the reading of queries (:mod:`~gis.geocode.query`), the scoring
(:mod:`~gis.geocode.scoring`) and the search (:mod:`~gis.geocode.search`,
:mod:`~gis.geocode.index`) are pure; :mod:`~gis.geocode.store` loads a region from PostGIS.
"""

from __future__ import annotations

from gis.geocode.model import Candidate, MatchKind, Suggestion
from gis.geocode.service import Geocoder, geocode_in, suggest_in

__all__ = [
    "Candidate",
    "Geocoder",
    "MatchKind",
    "Suggestion",
    "geocode_in",
    "suggest_in",
]
