"""Make the geocoding query sets of ``tests/data/geocode/`` from the shared OSM extracts.

    .venv/bin/python tests/data/geocode/make_queries.py ../shared/data/osm/liechtenstein.osm.pbf \
        liechtenstein tests/data/geocode/liechtenstein.jsonl

One JSON object per line (``id``, ``kind``, ``query``, true ``lat``/``lon``), the format of
``cad bench geocode --queries``. The true position is the address point or landmark as the
importer reads it (:func:`gis.osm_import_parse.read_extract`), so a query counts as found when
the geocoder's first candidate lies within 50 m of it. Kinds:

* the tidy kinds: ``clean``, ``no_city``, ``typo``, ``abbrev``, ``lower_ascii``;
* ``partial_street``: the street without its generic word (``Feldkircher 55`` for Feldkircher
  Strasse, ``Reichenbach 16`` for Reichenbachstraße) or its leading article (``Rietacker 3`` for
  Im Rietacker);
* ``number_form``: a local house-number form (``Nr. 12``, ``Hausnr. 12``, ``nº 12``, ``#12``)
  with, often, a floor, flat or entrance after it (``2. Stock``, ``Top 4``, ``2º esq.``);
* ``number_first``: ``12 Feldkircher Strasse, Schaan``;
* ``sentence``: the address inside what a caller says, in German, English, French, Portuguese,
  Catalan, Spanish, Italian and Chinese;
* ``landmark``: a named place by its name, with its town, or with the generic word of the name in
  another language (``Kirche`` → ``church``, ``iglesia``).

Only queries a person could answer are kept: a partial street name that names several streets
with that number in the same town, or a landmark name that several places far apart share, is
left out. Written by this script alone, deterministically (a fixed seed).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import shapely
from shapely import STRtree

from gis.osm_import_parse import AddressPoint, PlacePoint, read_extract

PER_KIND = 200
SEED = 20261202

# Generic words of German street names, written apart or at the end of a compound.
GENERIC_APART = ("strasse", "straße", "gasse", "weg", "platz", "allee", "ring", "steig", "gässle")
GENERIC_SUFFIX = ("strasse", "straße", "gasse", "weg", "platz", "allee", "gässle")
ARTICLES = ("im", "am", "an der", "auf der", "in der", "zum", "zur", "beim", "bei der", "auf")

NUMBER_FORMS = (
    "Nr. {n}",
    "Hausnr. {n}",
    "Hausnummer {n}",
    "nº {n}",
    "n.º {n}",
    "núm. {n}",
    "no. {n}",
    "#{n}",
    "Nr.{n}",
    "{n}号",
)
DETAILS = (
    "",
    "",
    ", 2. Stock",
    ", 3. OG",
    ", Top 4",
    ", Wohnung 12",
    ", 2º esq.",
    ", segundo andar",
    ", Stiege 2",
    ", apt 5",
    ", 3rd floor",
    " 3楼",
    ", Eingang B",
    " 2单元",
    ", 1er étage",
    ", zweiter Stock",
)

SENTENCES = (
    "Hilfe, wir wohnen in der {street} {n}, zweiter Stock",
    "bitte schnell kommen, {street} {n} in {city}, mein Vater ist gestürzt",
    "Hallo, hier ist ein Notfall bei {street} {n}",
    "es brennt in der {street} {n} {city}, bitte beeilen Sie sich",
    "please hurry, we are at {street} {n}, {city}, my husband collapsed",
    "there is a fire at {n} {street}, send help",
    "venez vite, nous sommes au {street} {n} à {city}",
    "socorro, moramos na {street} {n}, segundo andar",
    "ajuda, estem a {street} {n}, {city}, si us plau",
    "ayuda por favor, estamos en {street} {n}, hay fuego",
    "aiuto, siamo in {street} {n} a {city}",
    "快来,地址是 {street} {n},{city},3楼",
    # said in one breath, no commas
    "wir brauchen einen Krankenwagen in der {street} {n} in {city} mein Mann atmet nicht",
    "my wife fell down the stairs at {street} {n} please come quickly",
    "aqui na {street} {n} há um incêndio venham depressa",
    "il y a un feu au {n} {street} à {city} venez vite",
    "hola estamos en la {street} número {n} piso 3 ayuda",
    "bitte kommen Sie zur {street} Hausnummer {n} es brennt im Keller",
)

# Generic words of landmark names, and what a caller of another language may say instead.
LANDMARK_WORDS = {
    "kirche": ("church", "iglesia", "igreja", "église", "església"),
    "pfarrkirche": ("church", "iglesia"),
    "kapelle": ("chapel", "capilla"),
    "schule": ("school", "escuela", "escola"),
    "primarschule": ("school", "escuela"),
    "museum": ("museo", "musée", "museu"),
    "schloss": ("castle", "château", "castillo"),
    "hotel": ("hôtel",),
    "bahnhof": ("station", "gare", "estación"),
    "spital": ("hospital", "hôpital"),
    "krankenhaus": ("hospital",),
    "klinik": ("clinic", "clínica"),
    "apotheke": ("pharmacy", "farmacia", "pharmacie"),
    "friedhof": ("cemetery", "cementerio"),
    "brunnen": ("fountain", "fuente"),
    "brücke": ("bridge", "puente"),
    "rathaus": ("town hall", "ayuntamiento"),
    "markt": ("market", "mercado"),
    "bibliothek": ("library", "biblioteca"),
    "jugendherberge": ("youth hostel", "albergue juvenil"),
    "theater": ("theatre", "teatro"),
    "park": ("parque", "parc"),
    "polizei": ("police", "policía"),
    "feuerwehr": ("fire station", "bomberos"),
    "post": ("post office", "correos"),
}

LANDMARK_SKIP = (
    "public_transport=",
    "natural=",
    "amenity=parking",
    "amenity=atm",
    "amenity=bench",
    "amenity=waste",
    "amenity=vending",
    "amenity=bicycle",
    "amenity=toilets",
    "railway=subway_entrance",
    "amenity=telephone",
    "amenity=recycling",
    "amenity=post_box",
    "tourism=information",
)


def fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()


def distinctive(street: str) -> str | None:
    """The street name without its generic word or leading article; None when it has neither."""
    words = street.split()
    if len(words) >= 2 and fold(words[-1]) in {fold(g) for g in GENERIC_APART}:
        return " ".join(words[:-1])
    for g in GENERIC_SUFFIX:
        last = words[-1]
        if last.lower().endswith(g) and len(last) - len(g) >= 5:
            stem = last[: len(last) - len(g)].rstrip("-")
            return " ".join([*words[:-1], stem])
    low = street.casefold()
    for article in ARTICLES:
        if low.startswith(article + " ") and len(street) > len(article) + 4:
            return street[len(article) + 1 :]
    return None


def typo(name: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()][1:]
    if len(letters) < 5:
        return name
    i = rng.choice(letters[:-1])
    move = rng.choice(("swap", "drop", "double"))
    if move == "swap" and name[i + 1].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if move == "drop":
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def abbreviate(name: str) -> str | None:
    out = re.sub(r"(?i)stra(ss|ß)e\b", "str.", name)
    out = re.sub(r"(?i)\bplatz\b", "Pl.", out)
    return out if out != name else None


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(math.hypot((a[0] - b[0]) * 75.0, (a[1] - b[1]) * 111.0))


class Region:
    def __init__(self, path: Path) -> None:
        data = read_extract(path)
        self.addresses = [a for a in data.addresses if a.street and a.housenumber]
        self.places = data.places
        towns = [a for a in data.admin if a.level == max((x.level for x in data.admin), default=8)]
        self.town_names = [t.name for t in towns]
        cities: dict[str, int] = defaultdict(int)
        for a in self.addresses:
            if a.city:
                cities[a.city] += 1
        # districts (admin level 9+) are no town a caller names: the addresses' city instead
        self.main_city = max(cities, key=lambda c: cities[c]) if cities else None
        self.districts = bool(towns) and towns[0].level > 8
        self.tree = STRtree([t.geom for t in towns]) if towns else None
        self.by_key: dict[tuple[str, str], list[AddressPoint]] = defaultdict(list)
        for a in self.addresses:
            self.by_key[(fold(a.street or ""), a.housenumber.casefold())].append(a)
        self.partial: dict[tuple[str, str], set[tuple[str, str | None]]] = defaultdict(set)
        for a in self.addresses:
            d = distinctive(a.street or "")
            if d:
                where = (a.street or "", self.city(a))
                self.partial[(fold(d), a.housenumber.casefold())].add(where)

    def city(self, a: AddressPoint | PlacePoint) -> str | None:
        if isinstance(a, AddressPoint) and a.city:
            return a.city
        if self.tree is None or (self.districts and self.main_city):
            return self.main_city
        hits = self.tree.query(shapely.Point(a.lon, a.lat), predicate="intersects")
        return self.town_names[int(hits[0])] if len(hits) else None

    def unique(self, a: AddressPoint) -> bool:
        """No other point of the same street and number lies far from this one."""
        twins = self.by_key[(fold(a.street or ""), a.housenumber.casefold())]
        return all(_km((t.lon, t.lat), (a.lon, a.lat)) < 0.05 for t in twins)


def make(region: Region, name: str, rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    pool = [a for a in region.addresses if region.unique(a)]
    rng.shuffle(pool)
    counts: dict[str, int] = defaultdict(int)

    def add(kind: str, query: str, lat: float, lon: float) -> None:
        if counts[kind] >= PER_KIND or len(" ".join(query.split())) > 300:
            return
        counts[kind] += 1
        out.append(
            {
                "id": f"{name}-{kind}-{counts[kind]}",
                "kind": kind,
                "query": " ".join(query.split()),
                "lat": lat,
                "lon": lon,
            }
        )

    for a in pool:
        street, n = a.street or "", a.housenumber
        city = region.city(a)
        tail = f", {city}" if city else ""
        add("clean", f"{street} {n}{tail}", a.lat, a.lon)
        add("no_city", f"{street} {n}", a.lat, a.lon)
        wrong = typo(street, rng)
        if wrong != street:
            add("typo", f"{wrong} {n}{tail}", a.lat, a.lon)
        short = abbreviate(street)
        if short:
            add("abbrev", f"{short} {n}{tail}", a.lat, a.lon)
        add("lower_ascii", fold(f"{street} {n}{tail}"), a.lat, a.lon)
        d = distinctive(street)
        if d and len(region.partial[(fold(d), n.casefold())]) == 1:
            add("partial_street", f"{d} {n}{tail}", a.lat, a.lon)
        form = rng.choice(NUMBER_FORMS).format(n=n)
        detail = rng.choice(DETAILS)
        add("number_form", f"{street}, {form}{detail}{tail}", a.lat, a.lon)
        first = f"{n} {street}{tail}" if rng.random() < 0.6 else f"{n}, {street}{tail}"
        add("number_first", first, a.lat, a.lon)
        template = rng.choice(SENTENCES)
        if "{city}" in template and not city:
            template = template.replace(" in {city}", "").replace(" à {city}", "")
            template = template.replace(" a {city}", "").replace(", {city}", "")
            template = template.replace(" {city}", "").replace(",{city}", "")
        add("sentence", template.format(street=street, n=n, city=city or ""), a.lat, a.lon)

    by_name: dict[str, list[PlacePoint]] = defaultdict(list)
    for p in region.places:
        by_name[fold(p.name)].append(p)
    places = [
        p
        for p in region.places
        if not p.kind.startswith(LANDMARK_SKIP)
        and len(p.name) >= 4
        and all(_km((o.lon, o.lat), (p.lon, p.lat)) < 0.05 for o in by_name[fold(p.name)])
    ]
    rng.shuffle(places)
    shops = [p for p in places if p.kind.startswith("shop=")]
    places = [p for p in places if not p.kind.startswith("shop=")] + shops
    for i, p in enumerate(places):
        city = region.city(p)
        translated = None
        words = p.name.split()
        for j, w in enumerate(words):
            other = LANDMARK_WORDS.get(w.casefold())
            if other:
                translated = " ".join([*words[:j], rng.choice(other), *words[j + 1 :]])
                break
        if translated is not None:
            add("landmark", translated, p.lat, p.lon)
        elif i % 2 and city and fold(city) not in fold(p.name):
            add("landmark", f"{p.name}, {city}", p.lat, p.lon)
        else:
            add("landmark", p.name, p.lat, p.lon)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extract", type=Path)
    parser.add_argument("region")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    rng = random.Random(f"{SEED}-{args.region}")
    rows = make(Region(args.extract), args.region, rng)
    with args.out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = defaultdict(int)
    for row in rows:
        kinds[str(row["kind"])] += 1
    print(
        f"{args.out}: {len(rows)} queries " + ", ".join(f"{k} {v}" for k, v in kinds.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
