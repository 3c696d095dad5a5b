"""The flat address table of a region's index: group slices, number lookups, entries."""

from __future__ import annotations

from gis.geocode.addresses import AddressTableBuilder, NumberLookup


def _table() -> AddressTableBuilder:
    b = AddressTableBuilder()
    rows = [
        # (id, group, street, number, keys, base)
        (10, 1, "Bahnweg", "7b", {"7b", "7"}, 7),
        (11, 0, "Au", "3", {"3"}, 3),
        (12, 1, "Bahnweg", "2", {"2"}, 2),
        (13, 1, "Bahnweg", "7", {"7"}, 7),
        (14, 1, "Bahnweg", "Ost", {"ost"}, None),
        (15, 1, "Bahnweg", "7a", {"7a", "7"}, 7),
    ]
    for rid, group, street, number, keys, base in rows:
        b.add(
            id=rid,
            group=group,
            street=street,
            housenumber=number,
            keys=frozenset(keys),
            base=base,
            postcode="9490" if rid % 2 else None,
            city="Vaduz",
            jurisdiction=None,
            context=frozenset({"vaduz"}),
            lon=9.5 + rid / 1000,
            lat=47.1,
        )
    return b


def test_a_number_key_finds_the_groups_points_in_load_order() -> None:
    table = _table().build(groups=2)
    found = NumberLookup(table, 1).get("7")
    assert found is not None
    assert [e.id for e in found] == [10, 13, 15]
    assert NumberLookup(table, 0).get("7") is None
    assert NumberLookup(table, 1).get("99") is None


def test_numbered_points_are_sorted_by_base_then_number_and_unnumbered_left_out() -> None:
    table = _table().build(groups=2)
    rows = table.numbered_rows(1)
    assert [table.entry(int(r)).housenumber for r in rows] == ["2", "7", "7a", "7b"]
    assert table.numbered_count(0) == 1


def test_an_entry_reads_back_every_column() -> None:
    table = _table().build(groups=2)
    (e,) = NumberLookup(table, 1).get("ost") or []
    assert (e.id, e.street, e.housenumber, e.base) == (14, "Bahnweg", "Ost", None)
    assert (e.postcode, e.city, e.jurisdiction, e.context) == (
        None,
        "Vaduz",
        None,
        frozenset({"vaduz"}),
    )
    assert (e.lon, e.lat) == (9.5 + 14 / 1000, 47.1)
