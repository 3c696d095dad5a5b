"""Forward geocoding: address, landmark, intersection or coordinate text to ranked candidates.

The functions to call are in :mod:`gis.geocode.service` (``geocode``, ``typeahead``,
``region_index``); the reading of queries (:mod:`~gis.geocode.query`), the scoring
(:mod:`~gis.geocode.scoring`) and the search (:mod:`~gis.geocode.search`,
:mod:`~gis.geocode.index`) are pure; :mod:`~gis.geocode.store` loads a region from PostGIS.
"""

from __future__ import annotations

from gis.geocode.model import Candidate, MatchKind, Suggestion
from gis.geocode.service import geocode, geocode_in, region_index, suggest_in, typeahead

__all__ = [
    "Candidate",
    "MatchKind",
    "Suggestion",
    "geocode",
    "geocode_in",
    "region_index",
    "suggest_in",
    "typeahead",
]
