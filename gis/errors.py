"""Errors of the GIS package; ``command.errors.status_for`` maps their ``kind`` to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class GisError(Exception):
    """Something wrong with a place, a coordinate, a geometry or map data, said plainly."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(GisError):
    """Input a person or device sent that cannot be used (latitude 95, a self-crossing polygon)."""

    kind = "invalid"


class NotFound(GisError):
    """A region, zone or place that does not exist."""

    kind = "not_found"


class ImportFailed(GisError):
    """An OSM import that could not be completed; the old region is left untouched."""

    kind = "invalid"


class InvalidQueryError(InvalidInput):
    """A geocoding query that cannot be searched (empty, too long, not text)."""


class RegionNotFoundError(NotFound):
    """The named region has not been imported."""


class InvalidCoordinates(InvalidInput):
    """Coordinates that are not numbers or lie outside their range (latitude 95)."""


class InvalidGeometry(InvalidInput):
    """A geometry that cannot be used (a polygon that crosses itself, too few points)."""
