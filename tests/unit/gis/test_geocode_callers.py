"""Caller text made ready for reading: floors/flats kept as detail, number words, lone numbers."""

from __future__ import annotations

import pytest

from gis.geocode.callers import address_spans, prepare


@pytest.mark.parametrize(
    ("text", "address", "detail"),
    [
        ("Rua do Bonjardim, nº 727, 2º esq.", "Rua do Bonjardim 727", ("2º esq.",)),
        ("Avinguda Carlemany, núm. 70", "Avinguda Carlemany 70", ()),
        ("Landstrasse, Hausnr. 48", "Landstrasse 48", ()),
        ("Feldkircher Strasse Nr. 55, 2. Stock, Schaan", "Feldkircher Strasse 55, Schaan",
         ("2. Stock",)),
        ("Dorfstrasse, #15, Wohnung 12, Planken", "Dorfstrasse 15, Planken", ("Wohnung 12",)),
        ("Bodastrasse, n.º 8, zweiter Stock", "Bodastrasse 8", ("zweiter Stock",)),
        ("Rua do Loureiro 80, segundo andar", "Rua do Loureiro 80", ("segundo andar",)),
        ("Im Rösle, Nr.8a 3楼, Schaan", "Im Rösle 8a, Schaan", ("3楼",)),
        ("Gapetschstrasse, #30 2单元", "Gapetschstrasse 30", ("2单元",)),
        ("Main Street no. 12, apt 5", "Main Street 12", ("apt 5",)),
        ("1er étage, 12 rue de la Paix", "12 rue de la Paix", ("1er étage",)),
        ("Brunnenweg 6, Eingang B", "Brunnenweg 6", ("Eingang B",)),
    ],
)  # fmt: skip
def test_number_forms_and_details(text: str, address: str, detail: tuple[str, ...]) -> None:
    prepared = prepare(text)
    assert prepared.text == address
    assert prepared.detail == detail


def test_a_lone_number_joins_its_street() -> None:
    assert prepare("11, Maximilianstraße, München").text == "11 Maximilianstraße, München"
    assert prepare("Landstrasse, 48, Schaan").text == "Landstrasse 48, Schaan"
    # a street that has its number keeps it; the lone number (a postcode) goes with the town
    assert prepare("Landstrasse 48, 9494, Schaan").text == "Landstrasse 48, 9494 Schaan"


def test_numbers_of_the_name_are_kept() -> None:
    assert prepare("Strasse des 17. Juni 5").text == "Strasse des 17. Juni 5"
    assert prepare("Feldstrasse 34").detail == ()


def test_spans_of_a_sentence_skip_words_no_name_has() -> None:
    known = frozenset({"am", "brunnenweg", "in", "schaan"})
    text = "Hilfe bitte wir wohnen am Brunnenweg 6 in Schaan kommen Sie schnell"
    spans = [s.text for s in address_spans(text, known)]
    assert "am Brunnenweg 6 in Schaan" in spans
    assert "am Brunnenweg 6" in spans
    assert all(text[s.start : s.end] == s.text for s in address_spans(text, known))


def test_short_text_is_no_sentence() -> None:
    assert address_spans("Brunnenweg 6, Schaan") == []
