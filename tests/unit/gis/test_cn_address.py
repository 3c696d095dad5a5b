"""Chinese address parsing: administrative levels, road and number, building details, crossings."""

from __future__ import annotations

import pytest

from gis.cn_address import CnAddress, cn_numeral_to_int, has_cjk, parse_cn_address


def parsed(text: str) -> CnAddress:
    result = parse_cn_address(text)
    assert result is not None, text
    return result


def test_the_issue_example() -> None:
    a = parsed("山西省长治市潞州区英雄中路123号")
    assert a == CnAddress(
        province="山西省", city="长治市", district="潞州区", road="英雄中路", number="123"
    )
    assert a.street_query == "英雄中路 123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("潞州区英雄中路123号", {"district": "潞州区", "road": "英雄中路", "number": "123"}),
        ("长治市英雄中路123号", {"city": "长治市", "road": "英雄中路", "number": "123"}),
        (
            "北京市朝阳区建国路88号",
            {
                "province": "北京市",
                "city": "北京市",
                "district": "朝阳区",
                "road": "建国路",
                "number": "88",
            },
        ),
        (
            "重庆渝中区解放碑步行街8号",
            {
                "province": "重庆市",
                "city": "重庆市",
                "district": "渝中区",
                "road": "解放碑步行街",
                "number": "8",
            },
        ),
        (
            "广西壮族自治区南宁市青秀区民族大道136号",
            {
                "province": "广西壮族自治区",
                "city": "南宁市",
                "district": "青秀区",
                "road": "民族大道",
                "number": "136",
            },
        ),
        (
            "江苏省苏州市昆山市玉山镇前进中路1号",
            {
                "province": "江苏省",
                "city": "苏州市",
                "district": "昆山市",
                "town": "玉山镇",
                "road": "前进中路",
                "number": "1",
            },
        ),
        (
            "山东省济南市市中区经十路88号",
            {
                "province": "山东省",
                "city": "济南市",
                "district": "市中区",
                "road": "经十路",
                "number": "88",
            },
        ),
        (
            "山西省长治市壶关县龙泉镇太行街12号",
            {
                "province": "山西省",
                "city": "长治市",
                "district": "壶关县",
                "town": "龙泉镇",
                "road": "太行街",
                "number": "12",
            },
        ),
        (
            "山西省长治市潞州区太行街道英雄中路123号",
            {
                "province": "山西省",
                "city": "长治市",
                "district": "潞州区",
                "town": "太行街道",
                "road": "英雄中路",
                "number": "123",
            },
        ),
        (
            "上海市黄浦区南京东路100弄5号",
            {
                "province": "上海市",
                "city": "上海市",
                "district": "黄浦区",
                "road": "南京东路",
                "lane": "100",
                "number": "5",
            },
        ),
        (
            "成都市武侯区人民南路四段12号",
            {"city": "成都市", "district": "武侯区", "road": "人民南路四段", "number": "12"},
        ),
        (
            "北京市东城区南锣鼓巷甲12-3号",
            {
                "province": "北京市",
                "city": "北京市",
                "district": "东城区",
                "road": "南锣鼓巷",
                "number": "甲12-3",
            },
        ),
        ("山西省长治市", {"province": "山西省", "city": "长治市"}),
    ],
)
def test_components(text: str, expected: dict[str, str]) -> None:
    assert parsed(text).components() == expected


def test_building_unit_floor_room() -> None:
    a = parsed("长治市英雄中路123号幸福小区3栋2单元501室")
    assert (a.road, a.number, a.community) == ("英雄中路", "123", "幸福小区")
    assert (a.building, a.unit, a.room) == ("3", "2", "501")
    b = parsed("英雄中路123号A座15层1501室")
    assert (b.building, b.floor, b.room) == ("A", "15", "1501")
    c = parsed("3号楼2单元501")
    assert (c.road, c.number, c.building, c.unit, c.room) == (None, None, "3", "2", "501")
    d = parsed("英雄中路123号二单元")
    assert d.unit == "2"


def test_full_width_digits_and_chinese_numerals() -> None:
    assert parsed("英雄中路１２３号").number == "123"
    assert parsed("英雄中路十二号").number == "12"
    assert parsed("英雄中路一百零五号").number == "105"


@pytest.mark.parametrize(
    ("text", "a", "b", "rest"),
    [
        ("英雄中路与太行东街交叉口", "英雄中路", "太行东街", None),
        ("英雄路和解放路路口", "英雄路", "解放路", None),
        ("英雄中路与太行东街交叉口东北角", "英雄中路", "太行东街", "东北角"),
        ("英雄中路、太行东街十字路口", "英雄中路", "太行东街", None),
        ("英雄中路/太行东街", "英雄中路", "太行东街", None),
        ("英雄中路与太行东街交汇处", "英雄中路", "太行东街", None),
    ],
)
def test_intersections(text: str, a: str, b: str, rest: str | None) -> None:
    result = parsed(text)
    assert result.intersection == (a, b)
    assert result.rest == rest
    assert result.road is None


def test_intersection_keeps_the_administrative_prefix() -> None:
    result = parsed("山西省长治市潞州区英雄路和解放路路口")
    assert (result.province, result.city, result.district) == ("山西省", "长治市", "潞州区")
    assert result.intersection == ("英雄路", "解放路")
    assert result.components()["intersection"] == "英雄路/解放路"


@pytest.mark.parametrize(
    "text", ["", "Landstrasse 12", "47.14, 9.52", "12", "!!!", "x" * 300, "山" * 300]
)
def test_not_a_chinese_address(text: str) -> None:
    assert parse_cn_address(text) is None


def test_unplaced_text_is_kept() -> None:
    a = parsed("英雄中路123号 门口有消防栓")
    assert (a.road, a.number) == ("英雄中路", "123")
    assert a.rest == "门口有消防栓"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("12", 12),
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("一百零五", 105),
        ("两千", 2000),
        ("五零一", 501),
        ("abc", None),
        ("", None),
    ],
)
def test_cn_numerals(text: str, value: int | None) -> None:
    assert cn_numeral_to_int(text) == value


def test_has_cjk() -> None:
    assert has_cjk("英雄中路")
    assert not has_cjk("Städtle 35")
