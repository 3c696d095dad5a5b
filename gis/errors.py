"""Errors of the GIS package; ``command.errors.status_for`` maps their ``kind`` to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class GisError(Exception):
    """Something wrong with a place, a coordinate, a geometry or map data, said plainly."""

    kind: ClassVar[str] = "invalid"
    #: stable, for consoles to word the error in their language (docs/errors.md)
    code: str = "gis.invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidInput(GisError):
    """Input a person or device sent that cannot be used (latitude 95, a self-crossing polygon)."""

    kind = "invalid"
    code = "gis.invalid"


class NotFound(GisError):
    """A region, zone or place that does not exist."""

    kind = "not_found"
    code = "gis.not_found"


class ImportFailed(GisError):
    """An OSM import that could not be completed; the old region is left untouched."""

    kind = "invalid"
    code = "gis.import_failed"


class InvalidQueryError(InvalidInput):
    """A geocoding query that cannot be searched (empty, too long, not text)."""

    code = "geocode.query_invalid"


class RegionNotFoundError(NotFound):
    """The named region has not been imported."""

    code = "gis.region_unknown"


class InvalidCoordinates(InvalidInput):
    """Coordinates that are not numbers or lie outside their range (latitude 95)."""

    code = "gis.coordinates_invalid"


class InvalidGeometry(InvalidInput):
    """A geometry that cannot be used (a polygon that crosses itself, too few points)."""

    code = "gis.geometry_invalid"


class SnapshotMismatch(GisError):
    """A region's mapped address table does not fit the name groups built from its streets
    (the loader then builds the index from the database instead; never shown to a person)."""

    code = "geocode.snapshot_mismatch"
