"""Map bodies: geocoding candidates and type-ahead, what is at a point, regions, zones as
GeoJSON, and routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from command.api.schemas.common import Model
from gis.zones import Zone


class CandidateOut(Model):
    lat: float
    lon: float
    label: str
    score: float = Field(description="0..1")
    kind: str
    jurisdiction: str | None
    explanation: str = Field(description="why, in English")
    reason: str = Field(description="why, as a code for translated consoles")
    street: str | None
    housenumber: str | None
    postcode: str | None
    city: str | None
    extra: dict[str, Any]


class GeocodeOut(Model):
    query: str
    region: str
    candidates: list[CandidateOut]


class SuggestionOut(Model):
    text: str
    kind: Literal["street", "address", "landmark"]
    lat: float
    lon: float
    jurisdiction: str | None
    detail: str


class TypeaheadOut(Model):
    query: str
    region: str
    suggestions: list[SuggestionOut]


class RegionOut(Model):
    name: str
    bbox: list[float] = Field(description="west, south, east, north (WGS84)")
    srid_metric: int
    imported_at: datetime


class RegionList(Model):
    regions: list[RegionOut]


class JurisdictionOut(Model):
    id: int
    name: str
    admin_level: int
    names: dict[str, str]


class NearbyAddressOut(Model):
    street: str | None
    housenumber: str
    lon: float
    lat: float
    distance_m: float


class ReverseOut(Model):
    kind: str = Field(description="address, intersection, street or none")
    label: str
    lon: float
    lat: float
    distance_m: float | None
    street: str | None
    housenumber: str | None
    estimated: bool
    side: str | None
    cross_street: str | None
    jurisdiction: JurisdictionOut | None
    nearest_address: NearbyAddressOut | None


class ZoneIn(BaseModel):
    """A zone to store: a GeoJSON Polygon or MultiPolygon (or one Feature of either)."""

    region: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40, description="e.g. industrial_park, tunnel")
    geometry: dict[str, Any]


class ZoneProperties(Model):
    name: str
    kind: str
    region: str


class ZoneFeature(Model):
    type: Literal["Feature"] = "Feature"
    id: int
    properties: ZoneProperties
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon, WGS84")

    @classmethod
    def of(cls, zone: Zone) -> ZoneFeature:
        return cls(
            id=zone.id,
            properties=ZoneProperties(name=zone.name, kind=zone.kind, region=zone.region),
            geometry=zone.geometry,
        )


class ZoneCollection(Model):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ZoneFeature]


class RouteOut(Model):
    seconds: float
    metres: float
    geometry: dict[str, Any] = Field(description="GeoJSON LineString")
