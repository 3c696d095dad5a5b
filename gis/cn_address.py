"""Chinese addresses split into their components, and street intersections.

A Chinese address runs from the largest unit to the smallest with no separators, each unit
closed by its suffix: ``山西省 长治市 潞州区 英雄中路 123号``, then building details
``3栋 2单元 501室``. :func:`parse_cn_address` walks the text in that order, taking each unit if
present (any may be missing: ``潞州区英雄中路123号`` has no province or city), and recognises
intersections such as ``英雄中路与太行东街交叉口`` or ``英雄路和解放路路口``.

Full-width digits and letters are folded (NFKC) and small Chinese numerals in numbers
(``二单元``, ``十二号``) are read as digits. The result keeps whatever could not be placed in
``rest`` so nothing the caller said is silently dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from gis.cn_divisions import Divisions

MAX_TEXT_LENGTH = 200

MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
"""Province-level cities: the province and the city are the same."""

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMERAL = "零〇一二三四五六七八九两十百千"

# Characters a place name may hold: no digits, no separators, no street or number suffixes.
_NAME = r"[^\s\d,，。;；/、与和及号路街巷弄栋幢单元室]"
_NUM = rf"(?:\d+|[{_CN_NUMERAL}]+)"

_PROVINCE = re.compile(
    rf"^(?P<v>{_NAME}{{2,10}}?(?:省|自治区|特别行政区)|(?:{'|'.join(MUNICIPALITIES)})市?)"
)
_CITY = re.compile(rf"^(?P<v>{_NAME}{{1,10}}?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(rf"^(?P<v>{_NAME}{{1,10}}?(?:新区|区|自治县|县|自治旗|旗|市))")
_TOWN = re.compile(rf"^(?P<v>{_NAME}{{1,10}}?(?:街道办事处|街道|镇|乡))")
_ROAD_SUFFIX = r"(?:大道|大街|胡同|路|街|巷|道)"
_ROAD = re.compile(
    rf"^(?P<v>[^\s\d,，。;；/、与和及号]{{1,15}}?{_ROAD_SUFFIX}"
    rf"(?:[东西南北中]?(?:\d+|[{_CN_NUMERAL}]+)?段)?)"
)
_LANE = re.compile(rf"^(?P<v>{_NUM})(?:弄|巷)")
_NUMBER = re.compile(rf"^(?P<v>[甲乙丙丁]?{_NUM}(?:[-－之]{_NUM})?)号(?!楼)(?:院)?")
_COMMUNITY = re.compile(
    rf"^(?P<v>{_NAME}{{2,15}}?(?:小区|花园|家园|公寓|大厦|社区|新村|村|苑|广场|中心|园))"
)
_COMMUNITY_BEFORE_BUILDING = re.compile(
    rf"^(?P<v>{_NAME}{{2,15}}?)(?=(?:{_NUM}|[A-Z])(?:栋|幢|座|号楼|号院楼))"
)
"""A building complex without a generic word (``盘古大观A座``): the name before a building."""
_BUILDING = re.compile(rf"^(?P<v>{_NUM}|[A-Z])(?:栋|幢|座|号楼|号院楼)")
_UNIT = re.compile(rf"^(?P<v>{_NUM})单元")
_FLOOR = re.compile(rf"^(?P<v>{_NUM})(?:层|楼)")
_ROOM = re.compile(r"^(?P<v>\d+)(?:室|房|号房|号)?$")

_INTERSECTION = re.compile(
    r"^(?P<a>.+?)\s*(?:与|和|及|跟|、|/|&|＆)\s*(?P<b>.+?)"
    r"\s*(?P<mark>交叉路口|交叉口|十字路口|丁字路口|交汇处|交汇口|交界处|交口|路口)"
    r"(?P<rest>.*)$"
)
_INTERSECTION_BARE = re.compile(
    rf"^(?P<a>.+?{_ROAD_SUFFIX})\s*(?:与|和|及|、|/|&|＆)\s*(?P<b>.+?{_ROAD_SUFFIX})(?P<rest>)$"
)


@dataclass(frozen=True, slots=True)
class CnAddress:
    """The parts of a Chinese address; ``None`` for parts the text does not give."""

    province: str | None = None
    city: str | None = None
    district: str | None = None
    town: str | None = None
    road: str | None = None
    lane: str | None = None
    number: str | None = None
    community: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    intersection: tuple[str, str] | None = None
    rest: str | None = None
    postcode: str | None = None

    def components(self) -> dict[str, str]:
        """The parts present, by name (the intersection as ``"A/B"``)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            out[key] = "/".join(value) if isinstance(value, tuple) else value
        return out

    @property
    def street_query(self) -> str | None:
        """Road and house number as one might look them up: ``英雄中路 123``."""
        if self.road is None:
            return None
        return f"{self.road} {self.number}" if self.number else self.road


def cn_numeral_to_int(text: str) -> int | None:
    """A small Chinese numeral (``十二``, ``一百零五``, ``两千``) or digits as an int."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text) and len(text) > 1:
        # Digit by digit, as in room numbers: 五零一 = 501.
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = 0
    current = 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            total += (current or 1) * unit
            current = 0
    return total + current


def _digits(value: str) -> str:
    """Chinese numerals inside ``value`` replaced by digits (``十二`` -> ``12``)."""

    def replace(match: re.Match[str]) -> str:
        number = cn_numeral_to_int(match.group(0))
        return match.group(0) if number is None else str(number)

    return re.sub(rf"[{_CN_NUMERAL}]+", replace, value)


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains CJK ideographs."""
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def _take(pattern: re.Pattern[str], text: str) -> tuple[str | None, str]:
    match = pattern.match(text)
    if match is None:
        return None, text
    return match["v"], text[match.end() :].lstrip(" ,，")


def _admin(text: str) -> tuple[dict[str, str | None], str]:
    parts: dict[str, str | None] = {}
    province, text = _take(_PROVINCE, text)
    parts["province"] = province
    if province is not None and province.rstrip("市") in MUNICIPALITIES:
        name = province.rstrip("市") + "市"
        parts["province"] = name
        parts["city"] = name
    else:
        parts["city"], text = _take(_CITY, text)
    parts["district"], text = _take(_DISTRICT, text)
    parts["town"], text = _take(_TOWN, text)
    return parts, text


def _admin_of(divisions: Divisions, text: str) -> tuple[dict[str, str | None], str]:
    """Province, city, district by the national list (short forms too), then the town."""
    m = divisions.match(text)
    parts: dict[str, str | None] = {
        "province": m.province.name if m.province else None,
        "city": m.city.name if m.city else None,
        "district": m.district.name if m.district else None,
    }
    if m.province is not None and m.province.name.rstrip("市") in MUNICIPALITIES:
        parts["city"] = m.province.name
    text = text[m.consumed :].lstrip(" ,，")
    parts["town"], text = _take(_TOWN, text)
    return parts, text


_COUNTRY = re.compile(r"^(?:中华人民共和国|中国|china|prc|p\.r\.c\.?)\s*[,，]?\s*", re.IGNORECASE)
_POSTCODE = re.compile(r"(?:邮编|邮政编码)?\s*[:：]?\s*(?<!\d)(\d{6})(?!\d)")


def _postcode(text: str) -> tuple[str | None, str]:
    """A six-digit postcode at the start or the end (not a room number), taken out."""
    for m in _POSTCODE.finditer(text):
        if m.start() == 0 or m.end() == len(text) or "邮" in m.group(0):
            return m.group(1), (text[: m.start()] + text[m.end() :]).strip(" ,，")
    return None, text


def _road_name(text: str) -> str:
    return text.strip(" ,，")


def parse_cn_address(text: str, divisions: Divisions | None = None) -> CnAddress | None:
    """The components of a Chinese address, or ``None`` when ``text`` is not one.

    A leading country (``中国``) and a six-digit postcode are taken out; spaces do not matter
    (``盘古大观 A 座 23层``). With ``divisions`` (the national list) the province, city and
    district are read by their names and short forms (``四川成都`` → 四川省, 成都市).

    >>> a = parse_cn_address("山西省长治市潞州区英雄中路123号")
    >>> (a.province, a.city, a.district, a.road, a.number)
    ('山西省', '长治市', '潞州区', '英雄中路', '123')
    """
    if not text or len(text) > MAX_TEXT_LENGTH:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    if not has_cjk(text):
        return None
    text = _COUNTRY.sub("", text)
    postcode, text = _postcode(text)
    text = "".join(text.split())
    parts, text = _admin(text) if divisions is None else _admin_of(divisions, text)

    crossing = _INTERSECTION.match(text) or _INTERSECTION_BARE.match(text)
    if crossing is not None:
        a, b = _road_name(crossing["a"]), _road_name(crossing["b"])
        if a and b and has_cjk(a) and has_cjk(b):
            rest = crossing["rest"].strip(" ,，") or None
            return CnAddress(**parts, intersection=(a, b), rest=rest, postcode=postcode)

    fields: dict[str, Any] = dict(parts)
    fields["road"], text = _take(_ROAD, text)
    lane, text = _take(_LANE, text)
    fields["lane"] = _digits(lane) if lane else None
    number, text = _take(_NUMBER, text)
    fields["number"] = _digits(number) if number else None
    fields["community"], text = _take(_COMMUNITY, text)
    if fields["community"] is None:
        fields["community"], text = _take(_COMMUNITY_BEFORE_BUILDING, text)
    for key, pattern in (("building", _BUILDING), ("unit", _UNIT), ("floor", _FLOOR)):
        value, text = _take(pattern, text)
        fields[key] = _digits(value) if value else None
    room, text = _take(_ROOM, text)
    fields["room"] = room
    fields["rest"] = text or None
    fields["postcode"] = postcode
    result = CnAddress(**fields)
    if not any(v for k, v in fields.items() if k != "rest"):
        return None
    return result
