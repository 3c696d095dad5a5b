"""The names of recorded tracks say whose they are and which publishing they belong to."""

from __future__ import annotations

from pathlib import Path

from video.recording_names import base_of, track_of, tracks_in


def test_a_track_name_is_read_back(tmp_path: Path) -> None:
    base = base_of("unit:CMD-1 车", 1_796_318_940_738)
    for name in (f"{base}-video-0.mjr", f"{base}-audio-1.mjr",
                 f"{base_of('user:lead1', 5)}-audio-0.mjr",
                 "videoroom-77-user-1-2-video-0.mjr", "m-zz-1-video-0.mjr", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = tracks_in(tmp_path)
    assert sorted(found) == [("unit:CMD-1 车", 1_796_318_940_738), ("user:lead1", 5)]
    assert sorted(t.kind for t in found[("unit:CMD-1 车", 1_796_318_940_738)]) == [
        "audio", "video"
    ]
    # Janus's own names and names that are no member's are not ours.
    assert track_of(tmp_path / "videoroom-77-user-1-2-video-0.mjr") is None
    assert track_of(tmp_path / "m-zz-1-video-0.mjr") is None
