"""Fleet administration bodies: stations, units as created and changed, unit types, and the run
cards (the configured default of each incident type, or the card changed at run time)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from command.api.schemas.common import Model, PointOut
from command.dispatching.fleet import CardLine
from dispatch.units import Station, UnitType

#: An id of a station or a unit: letters, digits and ``-_.``, as the demo fleet's (FS1-E1).
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Names = dict[Literal["zh-CN", "en"], Annotated[str, Field(min_length=1, max_length=200)]]
Count = Annotated[int, Field(ge=0, le=99)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationIn(In):
    id: Code
    name: str = Field(min_length=1, max_length=200)
    names: Names = Field(default_factory=dict, description="the name per language (zh-CN, en)")
    lon: float = Field(description="WGS84 longitude, inside the region")
    lat: float = Field(description="WGS84 latitude, inside the region")
    region: str | None = Field(
        default=None, max_length=64, description="an imported region; by default this centre's"
    )


class StationChangeIn(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    names: Names | None = None
    lon: float | None = Field(default=None, description="with lat: the new position (WGS84)")
    lat: float | None = None


class StationOut(Model):
    id: str
    name: str
    names: dict[str, str]
    region: str
    position: PointOut

    @classmethod
    def of(cls, s: Station) -> StationOut:
        return cls(
            id=s.id,
            name=s.name,
            names=dict(s.names),
            region=s.region,
            position=PointOut(lon=s.position.lon, lat=s.position.lat),
        )


class StationsOut(Model):
    region: str = Field(description="this centre's region: a new station's by default")
    stations: list[StationOut]


class UnitIn(In):
    id: Code
    callsign: str | None = Field(
        default=None, min_length=1, max_length=64, description="by default the id"
    )
    unit_type: str = Field(min_length=1, max_length=64)
    capabilities: list[str] | None = Field(
        default=None, max_length=20, description="by default the unit type's usual ones"
    )
    crew: Count | None = Field(default=None, description="by default the unit type's usual crew")
    station_id: str | None = Field(default=None, max_length=64)


class UnitChangeIn(In):
    version: int = Field(ge=1, description="the version the change was made on (UnitOut)")
    unit_type: str | None = Field(default=None, min_length=1, max_length=64)
    capabilities: list[str] | None = Field(
        default=None,
        max_length=20,
        description="by default unchanged, or the new unit type's usual ones",
    )
    crew: Count | None = None
    station_id: str | None = Field(
        default=None, max_length=64, description="given as null: the unit has no station"
    )


class ServiceIn(In):
    in_service: bool = Field(description="false: out of service; true: back to available")
    version: int = Field(ge=1)
    reason: str = Field(default="", max_length=2000)


class UnitTypeOut(Model):
    code: str
    names: dict[str, str]
    capabilities: list[str]
    default_crew: int

    @classmethod
    def of(cls, t: UnitType) -> UnitTypeOut:
        return cls(
            code=t.code,
            names=dict(t.names),
            capabilities=sorted(c.value for c in t.capabilities),
            default_crew=t.default_crew,
        )


class UnitTypesOut(Model):
    types: list[UnitTypeOut]
    capabilities: list[str] = Field(description="every capability a unit or run card may name")


class RunCardIn(In):
    requirements: dict[Annotated[str, Field(max_length=64)], Count] = Field(
        max_length=20, description="capability -> count of units"
    )


class RunCardOut(Model):
    type: str
    names: dict[str, str]
    requirements: dict[str, int] = Field(description="the card in effect: capability -> count")
    default: dict[str, int] = Field(description="the configured card")
    overridden: bool = Field(description="changed here: the configured card is not in effect")
    from_type: str | None = Field(
        description="the type whose card applies (itself or its nearest parent); null: none"
    )

    @classmethod
    def of(cls, line: CardLine) -> RunCardOut:
        return cls(
            type=line.type_code,
            names=dict(line.names),
            requirements={c.value: n for c, n in sorted(line.requirements.items())},
            default={c.value: n for c, n in sorted(line.default.items())},
            overridden=line.overridden,
            from_type=line.from_type,
        )


class RunCardsOut(Model):
    cards: list[RunCardOut]
