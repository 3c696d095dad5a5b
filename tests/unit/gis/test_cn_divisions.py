"""China's divisions from the shipped national list, and Chinese addresses read against it."""

from __future__ import annotations

import pytest

from gis.cn_address import parse_cn_address
from gis.cn_divisions import Divisions, load_divisions, short_form


@pytest.fixture(scope="module")
def divisions() -> Divisions:
    return load_divisions()


def test_the_list_holds_every_level(divisions: Divisions) -> None:
    levels = {d.level for ds in divisions.by_form.values() for d in ds}
    assert levels == {1, 2, 3}
    assert len({d.code for ds in divisions.by_form.values() for d in ds}) > 3000


def test_short_forms() -> None:
    assert short_form("四川省") == "四川"
    assert short_form("广西壮族自治区") == "广西"
    assert short_form("朝阳区") == "朝阳"
    assert short_form("和县") == "和县"  # one character would be left


@pytest.mark.parametrize(
    ("text", "province", "city", "district", "road", "number"),
    [
        ("四川成都领事馆路4号", "四川省", "成都市", None, "领事馆路", "4"),
        ("中国北京市朝阳区建国路88号", "北京市", "北京市", "朝阳区", "建国路", "88"),
        ("北京朝阳建国路88号", "北京市", "北京市", "朝阳区", "建国路", "88"),
        ("广东深圳南山区科技园路 1 号", "广东省", "深圳市", "南山区", "科技园路", "1"),
        ("吉林市船营区解放路3号", None, "吉林市", "船营区", "解放路", "3"),
    ],
)
def test_divisions_with_and_without_suffix(
    divisions: Divisions,
    text: str,
    province: str | None,
    city: str | None,
    district: str | None,
    road: str,
    number: str,
) -> None:
    a = parse_cn_address(text, divisions)
    assert a is not None
    assert (a.province, a.city, a.district, a.road, a.number) == (
        province,
        city,
        district,
        road,
        number,
    )


def test_postcode_is_no_room(divisions: Divisions) -> None:
    a = parse_cn_address("北京市海淀区中关村大街1号 100080", divisions)
    assert a is not None
    assert (a.number, a.room, a.postcode) == ("1", None, "100080")
    a = parse_cn_address("邮编:610041 四川省成都市武侯区领事馆路4号", divisions)
    assert a is not None
    assert (a.district, a.postcode) == ("武侯区", "610041")


def test_building_floor_room_across_spaces(divisions: Divisions) -> None:
    a = parse_cn_address("北京市朝阳区北四环中路27号盘古大观 A 座 23层", divisions)
    assert a is not None
    assert (a.road, a.number, a.community, a.building, a.floor) == (
        "北四环中路",
        "27",
        "盘古大观",
        "A",
        "23",
    )
    a = parse_cn_address("上海市黄浦区南京东路100号 5号楼 2单元 301室", divisions)
    assert a is not None
    assert (a.building, a.unit, a.room) == ("5", "2", "301")
