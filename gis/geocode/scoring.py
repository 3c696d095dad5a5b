"""Scoring geocoding candidates (pure): name similarity, house number fit, place words.

A candidate's score is a weighted sum, between 0 and 1:

* how well the street (or landmark) name matches, squared so that one wrong letter in a long name
  costs little and one wrong letter in a four-letter name costs a lot;
* how well the house number fits (found as typed > found without its suffix > interpolated
  between neighbours > only the street);
* whether the place words of the query (city, district, postcode) agree with the candidate:
  agreeing words add, disagreeing words subtract, no place words is neutral.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from rapidfuzz.distance import OSA

from gis.geocode.words import CONNECTORS

W_NAME = 0.55
W_NUMBER = 0.30
W_CONTEXT = 0.15

NUMBER_EXACT = 1.0
NUMBER_WITHOUT_SUFFIX = 0.8
NUMBER_RANGE_PART = 0.9
NUMBER_INTERPOLATED = 0.6
NUMBER_NEIGHBOUR = 0.5
NUMBER_STREET_ONLY = 0.35
NO_NUMBER_ASKED = 1.0

CONTEXT_NEUTRAL = 0.6
"""The context part of the score when the query names no place we know."""

READING_PENALTY = 0.004
"""Per rank step of a less likely reading of the query (breaks ties towards the plain one)."""


def max_edits(length: int) -> int:
    """How many typing errors a name of this many letters may carry and still match."""
    if length <= 2:
        return 0
    if length <= 5:
        return 1
    if length <= 11:
        return 2
    return 3


def name_similarity(query_key: str, name_key: str) -> float:
    """1 for equal keys, falling with edit distance (swaps count as one edit)."""
    if query_key == name_key:
        return 1.0
    longest = max(len(query_key), len(name_key))
    if longest == 0:
        return 0.0
    return max(0.0, 1.0 - OSA.distance(query_key, name_key) / longest)


UNKNOWN_WORD = 1.3
"""Context part lost per query word that names no place of the region (-2 at most in all)."""


def context_score(
    query_words: Collection[str],
    candidate_words: Collection[str],
    known_words: Collection[str],
) -> float:
    """Agreement of the query's place words with a candidate's (-2..1; neutral when none apply).

    Words the region knows as place words (``known_words``) count for or against; a word that
    names no place at all (often a street word read as a place) costs a little.
    """
    relevant = [w for w in query_words if w in known_words]
    # a connector word (``in``, ``am``, ``à``) between street and town names no place
    unknown = sum(1 for w in query_words if w not in known_words and w not in CONNECTORS)
    if not relevant:
        base = CONTEXT_NEUTRAL
    else:
        base = sum(1 for w in relevant if w in candidate_words) / len(relevant)
    return max(-2.0, base - UNKNOWN_WORD * unknown)


UNUSED_NUMBER = 0.15
"""Score lost per number of the query that a reading leaves unexplained."""


def combine(
    name_sim: float, number_fit: float, context: float, rank: int = 0, unused: int = 0
) -> float:
    """The candidate's score (0..1)."""
    score = W_NAME * name_sim * name_sim + W_NUMBER * number_fit + W_CONTEXT * context
    score -= READING_PENALTY * rank + UNUSED_NUMBER * unused
    return max(0.0, min(1.0, score))


def best_of(values: Iterable[float]) -> float:
    return max(values, default=0.0)
