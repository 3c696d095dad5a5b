"""Words of addresses that carry no name: street generics, connectors, and kinds of place.

Pure data and functions. A street name is a distinctive part (``Feldkircher``, ``Santa
Catarina``) plus a generic word (``Strasse``, ``Rua``) and connector words (``de``, ``am``);
callers often say the distinctive part alone, so the index also knows each street by it
(:func:`distinctive_words`). Landmark names carry a generic word of a kind of place (Kirche,
igreja, church) that callers say in their own language: :func:`concept` maps all of them to one
key so they match each other.
"""

from __future__ import annotations

from pypinyin import lazy_pinyin

from gis.normalize import fold

GENERIC_STREET_WORDS = frozenset(
    {
        # German
        "strasse", "gasse", "weg", "platz", "allee", "ring", "steig", "gassle", "gassli",
        "damm", "ufer", "chaussee", "pfad", "stiege", "zeile", "markt",
        # Portuguese, Spanish, Catalan, Italian, French
        "rua", "avenida", "travessa", "praca", "largo", "estrada", "calcada", "beco", "alameda",
        "calle", "carrer", "avinguda", "placa", "passeig", "carretera", "camino", "cami",
        "plaza", "paseo", "via", "viale", "piazza", "corso", "vicolo", "strada",
        "rue", "avenue", "boulevard", "place", "chemin", "impasse", "quai", "route",
        # English
        "street", "road", "lane", "drive", "way", "square", "court", "close",
        # Chinese
        "路", "街", "巷", "大道", "大街", "胡同", "弄",
    }
)  # fmt: skip
"""Folded generic words of street names, written apart (``Feldkircher Strasse``)."""

GENERIC_STREET_ENDINGS = ("strasse", "gasse", "weg", "platz", "allee", "gassle", "ring")
"""Generic words closing a compound street name (``Reichenbachstrasse``)."""

MIN_STEM = 4
"""A compound's distinctive part is at least this many letters (``Dorfstrasse`` keeps none...)."""

CONNECTORS = frozenset(
    {
        "de", "do", "da", "dos", "das", "del", "della", "dello", "di", "du", "des", "la", "le",
        "les", "los", "el", "d", "l", "y", "e", "i", "a", "al", "au", "aux",
        "am", "im", "an", "der", "den", "dem", "zum", "zur", "beim", "auf", "in", "bei", "von",
        "vom", "unter", "ob", "the", "of", "at",
    }
)  # fmt: skip
"""Folded connector words and articles of street names, optional in a query."""


def distinctive_words(name: str) -> tuple[str, ...]:
    """The folded words of a street name without its generic word and connectors.

    ``Rua de Santa Catarina`` → ``santa catarina``; ``Feldkircher Strasse`` → ``feldkircher``;
    ``Reichenbachstraße`` → ``reichenbach``; ``Im Rietacker`` → ``rietacker``. Empty when
    nothing distinctive is left (``Dorfstrasse``'s stem is too short to be said alone).
    """
    words = fold(name).split()
    if not words:
        return ()
    kept = [w for w in words if w not in GENERIC_STREET_WORDS and w not in CONNECTORS]
    if len(kept) == len(words) and len(words) >= 1:
        last = words[-1]
        for ending in GENERIC_STREET_ENDINGS:
            if last.endswith(ending) and len(last) - len(ending) >= MIN_STEM:
                kept = [*kept[:-1], last[: -len(ending)]]
                break
        else:
            return ()
    if not kept or all(w.isdigit() for w in kept):
        return ()
    if sum(len(w) for w in kept) < MIN_STEM:
        return ()
    return tuple(kept)


# Generic words of kinds of place in the languages callers use, each list one concept.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "church": ("church", "kirche", "igreja", "esglesia", "iglesia", "eglise", "chiesa", "kerk",
               "munster", "dom", "cathedral", "kathedrale", "catedral", "basilika", "basilica",
               "教堂", "天主堂", "礼拜堂"),
    "chapel": ("chapel", "kapelle", "capela", "capella", "capilla", "chapelle", "cappella"),
    "hospital": ("hospital", "spital", "krankenhaus", "klinikum", "hopital", "ospedale",
                 "hospitais", "医院"),
    "clinic": ("clinic", "klinik", "clinica", "clinique", "诊所"),
    "school": ("school", "schule", "escola", "escuela", "ecole", "scuola", "gymnasium",
               "学校", "小学", "中学"),
    "station": ("station", "bahnhof", "bhf", "estacao", "estacion", "estacio", "gare",
                "stazione", "站", "车站", "火车站"),
    "museum": ("museum", "museo", "museu", "musee", "博物馆"),
    "castle": ("castle", "schloss", "burg", "castelo", "castillo", "castell", "chateau",
               "castello", "城堡"),
    "hostel": ("hostel", "jugendherberge", "herberge", "albergue", "alberg", "auberge",
               "youthhostel", "青年旅舍"),
    "hotel": ("hotel", "hostal", "hotell", "酒店", "宾馆"),
    "library": ("library", "bibliothek", "bucherei", "biblioteca", "bibliotheque", "图书馆"),
    "townhall": ("townhall", "rathaus", "gemeindehaus", "gemeindeverwaltung", "ayuntamiento",
                 "ajuntament", "mairie", "municipio", "camara", "市政府"),
    "cemetery": ("cemetery", "friedhof", "cemiterio", "cementerio", "cimetiere", "cimitero",
                 "墓地", "公墓"),
    "fountain": ("fountain", "brunnen", "fonte", "fuente", "font", "fontaine", "喷泉"),
    "bridge": ("bridge", "brucke", "ponte", "puente", "pont", "桥"),
    "market": ("market", "markt", "mercado", "mercat", "marche", "mercato", "市场"),
    "theatre": ("theatre", "theater", "teatro", "teatre", "剧院"),
    "park": ("park", "parque", "parc", "parco", "公园"),
    "pharmacy": ("pharmacy", "apotheke", "farmacia", "pharmacie", "药店"),
    "police": ("police", "polizei", "policia", "polizia", "派出所", "公安局"),
    "firestation": ("firestation", "feuerwehr", "feuerwache", "bombeiros", "bomberos",
                    "pompiers", "消防站"),
    "postoffice": ("postoffice", "post", "postamt", "correios", "correos", "poste", "邮局"),
    "university": ("university", "universitat", "universidade", "universidad", "universite",
                   "universita", "大学"),
    "stadium": ("stadium", "stadion", "estadio", "estadi", "stade", "体育场"),
}  # fmt: skip

CONCEPT_PHRASES: dict[tuple[str, ...], str] = {
    ("town", "hall"): "townhall",
    ("city", "hall"): "townhall",
    ("youth", "hostel"): "hostel",
    ("albergue", "juvenil"): "hostel",
    ("auberge", "de", "jeunesse"): "hostel",
    ("fire", "station"): "firestation",
    ("post", "office"): "postoffice",
    ("train", "station"): "station",
    ("railway", "station"): "station",
}
"""Several words naming one kind of place, read as one."""

_CONCEPT_OF: dict[str, str] = {w: c for c, ws in _CONCEPTS.items() for w in ws}

MIN_COMPOUND_HEAD = 3
"""``Pfarrkirche`` is a church: a generic word closes a compound after this many letters."""


def concept(word: str) -> str | None:
    """The kind of place a folded word names (``iglesia`` → ``church``), None for a name word.

    German compounds count by their last part (``Pfarrkirche``, ``Primarschule``).
    """
    found = _CONCEPT_OF.get(word)
    if found is not None:
        return found
    if len(word) >= 8 and word.isascii():
        for generic, c in _CONCEPT_OF.items():
            if (
                len(generic) >= 5
                and word.endswith(generic)
                and (len(word) - len(generic) >= MIN_COMPOUND_HEAD)
            ):
                return c
    return None


def pinyin_key(text: str) -> str:
    """Chinese characters as toneless pinyin, squeezed (``中山路`` → ``zhongshanlu``): how a
    name typed in pinyin, or with a homophone character (同音字), meets the name."""
    return "".join(lazy_pinyin(text, errors="ignore")).lower()


def is_generic_place_word(word: str) -> bool:
    """The folded word is itself a generic word of a kind of place (not a compound)."""
    return word in _CONCEPT_OF or word in _CONCEPTS


def concept_key(c: str) -> str:
    """The index key of a concept (cannot clash with a word)."""
    return f"~{c}"


def join_phrases(words: list[str]) -> list[str]:
    """Words with multi-word kinds of place (``town hall``) joined into their concept word."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, c in CONCEPT_PHRASES.items():
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(c)
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out
