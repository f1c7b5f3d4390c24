"""Reading certificates into ``coa/1`` documents: ``registry.extraction`` and
``manage.py extract_coa``, on the corpus in ``tests/data/coas/`` (built by its
``build_corpus.py``) and on small PDFs made here for single traits."""

import io
import json
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from fpdf import FPDF
from PIL import Image

from registry import extraction
from registry.catalogue import UnknownAnalyte
from registry.extraction import OCR_MISSING, extract, extract_text_pdf, ocr_available
from registry.units import parse_unit

CORPUS = Path(__file__).parent / "data" / "coas"
TEXT_DOCUMENTS = sorted(p.stem for p in CORPUS.glob("*.pdf") if not p.stem.startswith("scan"))
CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
needs_ocr = pytest.mark.skipif(
    not ocr_available(), reason="OCR tests need tesseract: apt-get install tesseract-ocr"
)


@pytest.fixture
def resolve(catalogue):
    def resolve(name):
        try:
            return catalogue.resolve(name).code
        except UnknownAnalyte:
            return None

    return resolve


def fake_resolve(name):
    """A catalogue without a database, for the tests that need no more."""
    names = {
        "lead": "lead",
        "olovo": "lead",
        "cadmium": "cadmium",
        "kadmium": "cadmium",
        "mitragynine": "mitragynine",
        "mitragynin": "mitragynine",
        "totalaflatoxins": "aflatoxins-total",
        "totalaerobiccount": "total-aerobic-count",
        "kvasinky": "yeasts",
        "plisne": "molds",
    }
    decomposed = unicodedata.normalize("NFKD", re.sub(r"\(.*?\)", "", name))
    key = "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))
    return names.get(key.casefold())


def load(name):
    path = next(CORPUS.glob(f"{name}.*[!n]"))  # the document, not its .json truth
    truth = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    return path, truth


def fold(text):
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def canonical(item):
    """(qualifier, number, unit) of a result, with '<' + value read as <LOQ."""
    qualifier = item.get("qualifier", "")
    if item.get("value"):
        qualifier = "<LOQ" if qualifier == "<" else ""
    number = item.get("value") or item.get("loq")
    unit = parse_unit(item["unit"]) if item.get("unit") else None
    if qualifier in ("absent", "present"):
        unit = None
    return (
        qualifier,
        Decimal(number) if number else None,
        (unit.dimension, unit.factor) if unit else None,
    )


def right_results(doc, truth):
    got = {r["analyte"]: r for r in doc["results"]}
    return [
        r
        for r in truth["results"]
        if r["analyte"] in got and canonical(got[r["analyte"]]) == canonical(r)
    ]


def pdf_with(rows, *, size=9, title=""):
    """A one-page PDF with text at (x mm, text) positions, one list per line."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", size=size)
    y = 20
    if title:
        pdf.text(20, y, title)
        y += 10
    for row in rows:
        for x, text in row:
            pdf.text(x, y, text)
        y += 6
    return bytes(pdf.output())


def columns(xs, *rows):
    return [[(x, text) for x, text in zip(xs, row, strict=True) if text] for row in rows]


# --------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("name", TEXT_DOCUMENTS)
def test_corpus_text_layer(name, resolve):
    path, truth = load(name)
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=resolve)
    assert doc["method"] == "text"
    assert doc["format"] == "coa/1"
    assert doc["report_number"] == truth["report_number"]
    assert doc["lots"] == truth["lots"]
    for key in ("sampled_on", "tested_on", "issued_on"):
        assert doc.get(key) == truth.get(key), key
    assert fold(doc["lab"]["name"]) == fold(truth["lab"]["name"])
    assert sorted(r["analyte"] for r in doc["results"]) == sorted(
        r["analyte"] for r in truth["results"]
    )
    assert len(right_results(doc, truth)) == len(truth["results"])
    for result in doc["results"]:
        assert 0 < result["confidence"] <= 1
        assert result["snippet"] and isinstance(result["snippet"], str)
    assert 0 < doc["confidence"] <= 1


def test_repaired_values_are_not_marked_confident(resolve):
    path, _ = load("cz_micro_a")
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=resolve)
    counts = {r["analyte"]: r for r in doc["results"]}
    assert counts["total-aerobic-count"]["raw"].startswith("9,1.104")
    assert counts["total-aerobic-count"]["value"] == "91000"
    assert counts["total-aerobic-count"]["confidence"] < 0.9
    assert counts["salmonella"] == counts["salmonella"] | {"qualifier": "absent", "basis": "25 g"}
    assert counts["salmonella"]["confidence"] >= 0.9
    assert any("superscript lost" in w for w in doc["warnings"])


def test_multi_page_report_with_unknown_analytes(resolve):
    path, truth = load("us_verdict_pest")
    pages = extract_text_pdf(path.read_bytes())
    assert len(pages) == 3
    assert "CERTIFICATE OF ANALYSIS" in pages[0]  # letter-spaced in the PDF
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=resolve)
    assert len(doc["results"]) == len(truth["results"])
    warning = next(w for w in doc["warnings"] if "not in the catalogue" in w)
    assert "Abamectin" in warning and "more" in warning


def test_table_continued_on_next_page_without_header(resolve):
    path, _ = load("cz_micro_long")
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=resolve)
    btgn = next(r for r in doc["results"] if r["analyte"] == "bile-tolerant-gram-negative")
    assert btgn["value"] == "1200"


def test_fake_resolver_needs_no_database():
    path, truth = load("eu_czech_a")
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=fake_resolve)
    known = {"lead", "cadmium", "mitragynine", "yeasts", "molds"}
    assert {r["analyte"] for r in doc["results"]} == known
    assert len(right_results(doc, truth)) == len(known)
    assert any("not in the catalogue" in w and "arsen (As)" in w for w in doc["warnings"])


# --------------------------------------------------------------------------- single traits


def test_columns_in_any_order_with_unit_in_header():
    xs = [20, 60, 105, 150]
    data = pdf_with(
        columns(
            xs,
            ["Result (mg/kg)", "Analyte", "Method", "LOQ"],
            ["0.42", "Lead", "ICP-MS", "0.05"],
            ["ND", "Cadmium", "ICP-MS", "0.02"],
            ["2.1 %", "Mitragynine", "HPLC", "0.01"],
        ),
        title="Report No.: T-100",
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    got = {r["analyte"]: r for r in doc["results"]}
    assert got["lead"] | {"value": "0.42", "unit": "mg/kg"} == got["lead"]
    assert got["cadmium"] | {"qualifier": "ND", "loq": "0.02", "unit": "mg/kg"} == got["cadmium"]
    assert got["mitragynine"] | {"value": "2.1", "unit": "%"} == got["mitragynine"]
    assert doc["report_number"] == "T-100"


def test_czech_table_decimal_commas_and_qualifiers():
    xs = [20, 70, 100, 130]
    data = pdf_with(
        columns(
            xs,
            ["Ukazatel", "Výsledek", "Nejistota", "Jednotky"],
            ["olovo", "0,21", "0,05", "mg/kg"],
            ["kadmium", "<2,0", "", "µg/kg"],
            ["kvasinky", "negativní v 25 g", "", ""],
            ["plísne", "9,6.104", "1,2.104", "KTJ/g"],
        ),
        title="Protokol c. 2026/77",
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    got = {r["analyte"]: r for r in doc["results"]}
    assert got["lead"] | {"value": "0.21", "unit": "mg/kg"} == got["lead"]
    assert got["cadmium"] | {"qualifier": "<LOQ", "loq": "2.0", "unit": "µg/kg"} == got["cadmium"]
    assert got["yeasts"] | {"qualifier": "absent", "basis": "25 g"} == got["yeasts"]
    assert got["molds"] | {"value": "96000", "unit": "CFU/g"} == got["molds"]
    assert got["molds"]["confidence"] < 0.9 <= got["lead"]["confidence"]


def test_lost_exponent_is_only_trusted_for_counts():
    xs = [20, 70, 110]
    data = pdf_with(
        columns(xs, ["Analyte", "Result", "Unit"], ["Lead", "9,6.104", "mg/kg"]),
        title="Report No.: T-101",
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    assert doc["results"] == []
    assert any("lead" in w and "9,6.104" in w for w in doc["warnings"])


def test_thousands_separator_in_counts():
    xs = [20, 70, 110]
    rows = [["Analyte", "Result", "Unit"], ["Total Aerobic Count", "2,400", "CFU/g"]]
    english = rows + [["Lead", "0.21", "ppm"], ["Cadmium", "0.05", "ppm"]]
    doc = extract(
        pdf_with(columns(xs, *english)), content_type="application/pdf", resolve=fake_resolve
    )
    count = next(r for r in doc["results"] if r["analyte"] == "total-aerobic-count")
    assert count["value"] == "2400" and count["confidence"] < 0.9
    czech = rows + [["Lead", "0,21", "mg/kg"], ["Cadmium", "0,05", "mg/kg"]]
    doc = extract(
        pdf_with(columns(xs, *czech)), content_type="application/pdf", resolve=fake_resolve
    )
    count = next(r for r in doc["results"] if r["analyte"] == "total-aerobic-count")
    assert count["value"] == "2.400" and count["confidence"] <= 0.5  # flagged, not trusted


def test_ligatures_lost_from_the_text_layer():
    xs = [20, 80, 120]
    data = pdf_with(
        columns(xs, ["Analyte", "Result", "Unit"], ["Total a atoxins", "1.2", "ppb"]),
        title="Certi cate No.: AF-7",
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    assert doc["report_number"] == "AF-7"
    (result,) = doc["results"]
    assert result["analyte"] == "aflatoxins-total" and result["value"] == "1.2"
    assert result["confidence"] < 0.9


def test_rows_that_cannot_be_tied_to_an_analyte_or_unit_are_left_out():
    xs = [20, 80, 120]
    data = pdf_with(
        columns(
            xs,
            ["Analyte", "Result", "Unit"],
            ["Bifenthrin", "0.02", "ppm"],
            ["Lead", "0.30", ""],
            ["Cadmium", "0.04", "ppm"],
        )
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    assert [r["analyte"] for r in doc["results"]] == ["cadmium"]
    assert any("Bifenthrin" in w for w in doc["warnings"])
    assert any("lead: no unit" in w for w in doc["warnings"])


def test_conflicting_results_for_one_analyte_are_flagged():
    xs = [20, 80, 120]
    data = pdf_with(
        columns(xs, ["Analyte", "Result", "Unit"], ["Lead", "0.30", "ppm"], ["Lead", "0.90", "ppm"])
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    (lead,) = doc["results"]
    assert lead["confidence"] <= 0.4
    assert any("different results" in w for w in doc["warnings"])


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-01-16", False, "2026-01-16"),
        ("16.1.2026 – 21.1.2026", True, "2026-01-16"),
        ("13. 1. 2026", True, "2026-01-13"),
        ("01/02/2026", False, "2026-01-02"),
        ("01/02/2026", True, "2026-02-01"),
        ("25/02/2026", False, "2026-02-25"),
        ("March 2, 2026", False, "2026-03-02"),
        ("11-Mar-2026", False, "2026-03-11"),
        ("4. března 2026", True, "2026-03-04"),
    ],
)
def test_dates(text, day_first, expected):
    value, confidence = extraction._parse_date(text, day_first=day_first)
    assert value.isoformat() == expected
    assert 0 < confidence <= 1


def test_header_fields_from_labels():
    data = pdf_with(
        [
            [(20, "Example Testing Laboratory")],
            [(20, "Accredited to ISO/IEC 17025:2017 by A2LA, certificate 1234.01")],
            [(20, "Report No.:"), (60, "EX-2026-0042")],
            [(20, "Sample:"), (60, "Green Malay powder, Lot GM-0426, GM-0427")],
            [(20, "Date Sampled:"), (60, "2026-04-01")],
            [(20, "Date Tested:"), (60, "04/03/2026")],
            [(20, "Date Reported:"), (60, "April 9, 2026")],
            [(20, "Analyte"), (80, "Result"), (120, "Unit")],
            [(20, "Lead"), (80, "0.21"), (120, "ppm")],
        ]
    )
    doc = extract(data, content_type="application/pdf", resolve=fake_resolve)
    assert doc["lab"] == {
        "name": "Example Testing Laboratory",
        "accreditation_body": "A2LA",
        "accreditation_id": "1234.01",
    }
    assert doc["report_number"] == "EX-2026-0042"
    assert doc["lots"] == ["GM-0426", "GM-0427"]
    assert (doc["sampled_on"], doc["tested_on"], doc["issued_on"]) == (
        "2026-04-01",
        "2026-04-03",
        "2026-04-09",
    )


def test_encrypted_pdf_with_empty_user_password():
    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.set_font("helvetica", size=9)
    for i, (x, text) in enumerate([(20, "Analyte"), (80, "Result"), (120, "Unit")]):
        pdf.text(x, 20, text)
        pdf.text(x, 26, ["Lead", "0.21", "ppm"][i])
    pdf.set_encryption(owner_password="owner-only")
    doc = extract(bytes(pdf.output()), content_type="application/pdf", resolve=fake_resolve)
    assert [(r["analyte"], r["value"]) for r in doc["results"]] == [("lead", "0.21")]


def test_unreadable_files():
    doc = extract(b"%PDF-1.4 broken", content_type="application/pdf", resolve=fake_resolve)
    assert doc["method"] == "none" and doc["results"] == [] and doc["warnings"]
    doc = extract(b"GIF89a", content_type="image/gif", resolve=fake_resolve)
    assert doc["method"] == "none" and doc["results"] == []


# --------------------------------------------------------------------------- OCR


def test_without_tesseract_images_give_nothing(monkeypatch):
    monkeypatch.setattr(extraction.shutil, "which", lambda name: None)
    assert not ocr_available()
    image = io.BytesIO()
    Image.new("L", (200, 100), 255).save(image, format="PNG")
    doc = extract(image.getvalue(), content_type="image/png", resolve=fake_resolve)
    assert doc["method"] == "none" and doc["results"] == [] and doc["warnings"] == [OCR_MISSING]
    path, _ = load("scan_only_us_table")  # a PDF holding only a scan
    doc = extract(path.read_bytes(), content_type="application/pdf", resolve=fake_resolve)
    assert doc["method"] == "none" and doc["results"] == [] and OCR_MISSING in doc["warnings"]


@needs_ocr
@pytest.mark.parametrize("name", ["scan_us_compact", "scan_only_us_table"])
def test_ocr(name, resolve):
    path, truth = load(name)
    doc = extract(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix], resolve=resolve)
    assert doc["method"] == "ocr"
    assert doc["report_number"] == truth["report_number"]
    assert len(right_results(doc, truth)) >= 0.8 * len(truth["results"])
    assert all(r["confidence"] < 0.9 for r in doc["results"])  # OCR is never "sure"


# --------------------------------------------------------------------------- command


@pytest.mark.django_db
def test_extract_coa_command():
    path, truth = load("eu_chem_a")
    out, err = io.StringIO(), io.StringIO()
    call_command("extract_coa", str(path), stdout=out, stderr=err)
    doc = json.loads(out.getvalue())
    assert doc["report_number"] == truth["report_number"]
    assert len(doc["results"]) == len(truth["results"])
    assert all("confidence" in r and "snippet" in r for r in doc["results"])


@pytest.mark.django_db
def test_extract_coa_command_without_tesseract(monkeypatch, tmp_path):
    monkeypatch.setattr(extraction.shutil, "which", lambda name: None)
    image = tmp_path / "scan.png"
    Image.new("L", (200, 100), 255).save(image)
    out, err = io.StringIO(), io.StringIO()
    call_command("extract_coa", str(image), stdout=out, stderr=err)
    assert "tesseract is not installed" in err.getvalue()
    assert json.loads(out.getvalue())["results"] == []


@pytest.mark.django_db
def test_extract_coa_command_refuses_other_files(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(CommandError, match="Only PDF"):
        call_command("extract_coa", str(other))
