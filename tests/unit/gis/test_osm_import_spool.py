"""Features spooled as COPY text: values escaped as COPY reads them, the file read back whole."""

from __future__ import annotations

from gis.osm_import_spool import CHUNK_BYTES, FeatureSpool


def test_values_are_escaped_and_a_missing_name_is_null() -> None:
    spool = FeatureSpool()
    try:
        spool.add("road", "residential", "A\tB\\C\nD", "0102")
        spool.add("building", "yes", None, "ABCD")
        data = b"".join(spool.chunks()).decode("utf-8")
    finally:
        spool.close()
    assert data == "road\tresidential\tA\\tB\\\\C\\nD\t\\\\x0102\nbuilding\tyes\t\\N\t\\\\xABCD\n"
    assert len(spool) == 2
    assert spool.nbytes == len(data.encode("utf-8"))


def test_a_large_spool_comes_back_in_chunks() -> None:
    spool = FeatureSpool()
    try:
        for i in range(40_000):
            spool.add("landuse", "grass", f"Wiese {i}", "00" * 40)
        chunks = list(spool.chunks())
        again = b"".join(spool.chunks())
    finally:
        spool.close()
    assert len(chunks) > 2
    assert all(len(c) <= CHUNK_BYTES for c in chunks)
    assert b"".join(chunks) == again
    assert again.count(b"\n") == 40_000
