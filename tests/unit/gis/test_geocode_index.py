"""The edit-distance candidate search: the letter-histogram filter used in big regions loses
nothing that a full scan finds."""

from __future__ import annotations

import random

import pytest

from gis.geocode import index as index_module
from gis.geocode.index import _FuzzyKeys


def _keys(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    letters = "aeiourstnlmkbdghz"
    endings = ["strasse", "weg", "platz", "gasse", ""]
    return sorted(
        {
            "".join(rnd.choice(letters) for _ in range(rnd.randint(5, 14))) + rnd.choice(endings)
            for _ in range(n)
        }
    )


def _typos(keys: list[str], seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for k in rnd.sample(keys, 150):
        i = rnd.randrange(len(k) - 1)
        out += [k[:i] + k[i + 1] + k[i] + k[i + 2 :], k[:i] + k[i + 1 :], k[:i] + k[i] + k[i:]]
    return out


def test_histogram_filter_finds_what_a_full_scan_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = _keys(6000, 1)
    monkeypatch.setattr(index_module._Bucket, "FILTER_FROM", 100)
    filtered = _FuzzyKeys(keys)
    assert any(b.histograms is not None for b in filtered.buckets.values())
    monkeypatch.setattr(index_module._Bucket, "FILTER_FROM", 10**9)
    plain = _FuzzyKeys(keys)
    assert all(b.histograms is None for b in plain.buckets.values())
    for query in _typos(keys, 2):
        assert sorted(filtered.near(query, limit=100)) == sorted(plain.near(query, limit=100))


def test_every_typo_finds_its_name() -> None:
    keys = _keys(3000, 3)
    fuzzy = _FuzzyKeys(keys)
    rnd = random.Random(4)
    for original in rnd.sample(keys, 100):
        i = rnd.randrange(len(original) - 1)
        swapped = original[:i] + original[i + 1] + original[i] + original[i + 2 :]
        assert original in [k for k, _ in fuzzy.near(swapped, limit=50)], swapped


def test_the_histograms_of_many_keys_at_once_are_those_of_each_key() -> None:
    import numpy as np

    from gis.geocode.index import _histogram, _histograms

    keys = ["abcz09", "ßößxy1", "aaaaaa", "路街巷号1a", "zz99zz"]
    assert (_histograms(keys) == np.stack([_histogram(k) for k in keys])).all()
