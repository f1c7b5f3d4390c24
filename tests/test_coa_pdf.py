"""Tests for registry.coa_pdf (plain pytest, no Django needed)."""

import copy
import hashlib

import pypdfium2
import pytest

from registry import coa_pdf
from registry.coa_pdf import LAYOUTS, analyte_name, render_coa_pdf, to_latin1

SAMPLE = {
    "format": "coa/1",
    "lab": {
        "name": "Example Analytical",
        "accreditation_body": "A2LA",
        "accreditation_id": "L24-123",
        "accredited_until": "2027-06-30",
    },
    "report_number": "EA-2026-00123",
    "vendor": "example-botanicals",
    "product": "green-maeng-da-powder",
    "lots": ["GMD-0926"],
    "sampled_on": "2026-01-12",
    "tested_on": "2026-01-16",
    "issued_on": "2026-01-22",
    "results": [
        {"analyte": "mitragynine", "value": "1.52", "unit": "%"},
        {"analyte": "7-hydroxymitragynine", "value": "0.021", "unit": "%"},
        {"analyte": "paynantheine", "value": "0.31", "unit": "%"},
        {"analyte": "lead", "value": "0.21", "unit": "ppm"},
        {"analyte": "arsenic", "value": "0.05", "unit": "ppm", "qualifier": "<", "loq": "0.05"},
        {"analyte": "cadmium", "qualifier": "ND", "loq": "0.05", "unit": "ppm"},
        {"analyte": "mercury", "value": "0.012", "unit": "ppm"},
        {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
        {"analyte": "e-coli", "qualifier": "absent", "basis": "1 g"},
        {"analyte": "total-aerobic-count", "value": "9600", "unit": "CFU/g"},
        {"analyte": "total-yeast-mold", "raw": "<100 CFU/g"},
        {"analyte": "aflatoxins", "value": "1.2", "unit": "ppb"},
        {"analyte": "water-activity", "value": "0.41", "unit": "aw"},
    ],
}


def pdf_text(data: bytes) -> tuple[int, str]:
    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return len(pages), "\n".join(pages)
    finally:
        pdf.close()


def expected_names(layout: str, core: bool) -> list[str]:
    lang = "cs" if layout == "eu_czech" else "en"
    names = [analyte_name(r["analyte"], lang) for r in SAMPLE["results"]]
    return [to_latin1(n) for n in names] if core else names


def test_analyte_names() -> None:
    assert analyte_name("lead") == "Lead (Pb)"
    assert analyte_name("total-yeast-mold") == "Total Yeast & Mold"
    assert analyte_name("mercury", "cs") == "rtuť (Hg)"
    assert analyte_name("chlorpyrifos-methyl") == "Chlorpyrifos Methyl"
    assert to_latin1("rtuť, plísně – 9,6·10⁴ µg") == "rtut, plísne - 9,6·104 µg"


@pytest.mark.parametrize("core", [False, True], ids=["auto-font", "core-font"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_render_layout(layout: str, core: bool) -> None:
    data = render_coa_pdf(SAMPLE, layout=layout, seed=3, core_fonts=core)
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    for needle in ["GMD-0926", "EA-2026-00123", "Example Analytical", "Page 1 of 1"]:
        assert needle in text
    assert "Accredited to ISO/IEC 17025:2017 by A2LA, certificate L24-123" in text
    assert "Results relate only to the sample tested" in text
    assert "Example Botanicals" in text
    assert "Green Maeng Da Powder" in text
    for name in expected_names(layout, core):
        assert name in text, name


def test_us_table_content() -> None:
    _, text = pdf_text(render_coa_pdf(SAMPLE, layout="us_table", client_name="Acme Leaf LLC"))
    for needle in ["Acme Leaf LLC", "Pass", "Absent in 25 g", "ND", "<0.05", "9600", "<100"]:
        assert needle in text, needle
    assert "Status" in text and "LOQ" in text and "Limit" in text


def test_us_compact_content() -> None:
    _, text = pdf_text(render_coa_pdf(SAMPLE, layout="us_compact"))
    for needle in ["PASS", "Result (%)", "Result (ppm)", "SAMPLE PHOTO", "Method"]:
        assert needle in text, needle
    failing = copy.deepcopy(SAMPLE)
    failing["results"][3]["value"] = "2.5"  # lead above the 1.0 ppm limit
    _, text = pdf_text(render_coa_pdf(failing, layout="us_compact"))
    assert "FAIL" in text


def test_eu_czech_content() -> None:
    _, text = pdf_text(render_coa_pdf(SAMPLE, layout="eu_czech", core_fonts=False))
    if coa_pdf._find_dejavu() is None:
        pytest.skip("DejaVu fonts not installed")
    for needle in [
        "PROTOKOL O ZKOUŠCE",
        "Zákazník",
        "Šarže",
        "Datum přijetí",
        "Datum zkoušení",
        "16.1.2026",
        "Nejistota",
        "Hodnocení",
        "1,52",
        "% hm.",
        "mg/kg",
        "negativní v 25 g",
        "9,6·10³",
        "V – vyhovuje",
    ]:
        assert needle in text, needle


def test_eu_czech_transliteration_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coa_pdf, "FORCE_CORE_FONTS", True)
    data = render_coa_pdf(SAMPLE, layout="eu_czech")
    assert data == render_coa_pdf(SAMPLE, layout="eu_czech", core_fonts=True)
    assert b"DejaVu" not in data
    _, text = pdf_text(data)
    for needle in ["PROTOKOL O ZKOUSCE", "Sarze", "rtut (Hg)", "negativní v 25 g", "9,6·10", "µ"]:
        assert needle in text, needle
    assert "GMD-0926" in text


@pytest.mark.parametrize("layout", LAYOUTS)
def test_deterministic(layout: str) -> None:
    first = render_coa_pdf(SAMPLE, layout=layout, seed=7)
    second = render_coa_pdf(copy.deepcopy(SAMPLE), layout=layout, seed=7)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert render_coa_pdf(SAMPLE, layout=layout, seed=8) != first
    assert b"20260122" in first  # creation date taken from issued_on


@pytest.mark.parametrize("layout", LAYOUTS)
def test_long_tables_flow_onto_more_pages(layout: str) -> None:
    doc = copy.deepcopy(SAMPLE)
    pesticides = [
        {"analyte": f"pesticide-{i:02d}", "qualifier": "<LOQ", "loq": "0.01", "unit": "ppm"}
        for i in range(70)
    ]
    doc["results"] = doc["results"][:2] + pesticides
    pages, text = pdf_text(render_coa_pdf(doc, layout=layout))
    assert pages >= 2
    assert f"Page 2 of {pages}" in text
    assert "Pesticide 00" in text and "Pesticide 69" in text
    assert text.count("EA-2026-00123") >= pages
    assert text.count("GMD-0926") >= 1


def test_missing_optional_fields() -> None:
    doc = {
        "format": "coa/1",
        "lab": {"name": "Bare Lab"},
        "report_number": "B-1",
        "lots": ["L1", "L2"],
        "tested_on": "2026-03-01",
        "results": [{"analyte": "mystery-compound", "raw": "see attachment"}],
    }
    for layout in LAYOUTS:
        _, text = pdf_text(render_coa_pdf(doc, layout=layout))
        assert "L1, L2" in text and "Mystery Compound" in text and "see attachment" in text


def test_unknown_layout() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        render_coa_pdf(SAMPLE, layout="nope")
