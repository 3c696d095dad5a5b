"""Errors of the ``gis`` package: one root; subclasses carry the ``kind`` mapped to HTTP."""

from __future__ import annotations

from typing import ClassVar


class GisError(Exception):
    """A GIS problem a person can understand and act on (bad input, missing region, bad file)."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidQueryError(GisError):
    """A geocoding query that cannot be searched (empty, too long, not text)."""

    kind = "invalid"


class InvalidCoordinatesError(GisError):
    """Coordinates outside their valid range or unreadable."""

    kind = "invalid"


class InvalidGeometryError(GisError):
    """A geometry that is not valid (self-intersecting polygon, too few points, ...)."""

    kind = "invalid"


class OsmImportError(GisError):
    """An OSM extract could not be read or loaded; the previous region data is untouched."""

    kind = "invalid"


class RegionNotFoundError(GisError):
    """The named region has not been imported."""

    kind = "not_found"


class GisUnavailableError(GisError):
    """A GIS resource (database, file) is not reachable right now."""

    kind = "unavailable"
