"""``coa/1`` documents in: ``manage.py import_certificates`` and the reader
behind it. A refused document imports nothing; the others in the run still do."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from registry import coa_pdf
from registry.importing import DocumentError, read_document
from registry.models import Certificate, Lab, Result, ReviewEvent
from vendors.models import Batch, Product, Vendor

from .factories import stored_bytes

TODAY = dt.date.today()


def doc(**changes):
    base = {
        "format": "coa/1",
        "lab": {
            "name": "Example Analytical",
            "accreditation_body": "A2LA",
            "accreditation_id": "L24-123",
            "accredited_until": "2030-06-30",
        },
        "report_number": "EA-2026-00123",
        "vendor": "example-botanicals",
        "product": "green-maeng-da-powder",
        "lots": ["GMD-0926"],
        "sampled_on": (TODAY - dt.timedelta(days=10)).isoformat(),
        "tested_on": (TODAY - dt.timedelta(days=7)).isoformat(),
        "issued_on": (TODAY - dt.timedelta(days=6)).isoformat(),
        "results": [
            {"analyte": "mitragynine", "value": "1.52", "unit": "%"},
            {"analyte": "7-hydroxymitragynine", "value": "0.021", "unit": "%"},
            {"analyte": "lead", "value": "0.21", "unit": "ppm"},
            {"analyte": "cadmium", "qualifier": "ND", "loq": "0.05", "unit": "ppm"},
            {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
            {"analyte": "total-yeast-mold", "raw": "<100 CFU/g"},
        ],
    }
    base.update(changes)
    return base


def write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_import_creates_what_the_document_names(db, tmp_path, capsys):
    call_command("import_certificates", str(write(tmp_path, "a.json", doc())))
    certificate = Certificate.objects.get()
    assert certificate.state == "pending"
    assert certificate.vendor == Vendor.objects.get(slug="example-botanicals")
    assert Product.objects.get().slug == "green-maeng-da-powder"
    assert [b.lot_code for b in certificate.batches.all()] == ["GMD-0926"]
    lab = Lab.objects.get()
    assert lab.accredited_until == dt.date(2030, 6, 30)  # taken from the document
    assert stored_bytes(certificate).startswith(b"%PDF-")  # a transcript: no row without a file
    assert "imported" in capsys.readouterr().out


def test_results_are_exact_decimals_in_canonical_units(db, tmp_path):
    call_command("import_certificates", str(write(tmp_path, "a.json", doc())))
    by_code = {r.analyte.code: r for r in Result.objects.select_related("analyte")}
    assert by_code["mitragynine"].value == Decimal("1.52")
    assert by_code["mitragynine"].unit == "%"
    assert by_code["lead"].value_canonical == Decimal("0.21")
    assert by_code["cadmium"].qualifier == "ND"
    assert by_code["cadmium"].loq == Decimal("0.05")
    assert by_code["salmonella"].qualifier == "absent"
    assert by_code["salmonella"].basis == "25 g"
    tymc = by_code["total-yeast-mold"]
    assert (tymc.qualifier, tymc.loq, tymc.unit) == ("<LOQ", Decimal("100"), "CFU/g")
    assert tymc.raw == "<100 CFU/g"


def test_synonyms_are_accepted(db, tmp_path):
    document = doc(
        results=[
            {"analyte": "7-OH", "value": "0.02", "unit": "%"},
            {"analyte": "Pb", "value": "210", "unit": "ppb"},
            {"analyte": "TYMC", "value": "120", "unit": "CFU/g"},
        ]
    )
    call_command("import_certificates", str(write(tmp_path, "a.json", document)))
    codes = set(Result.objects.values_list("analyte__code", flat=True))
    assert codes == {"7-hydroxymitragynine", "lead", "total-yeast-mold"}
    assert Result.objects.get(analyte__code="lead").value_canonical == Decimal("0.21")


def test_approve_records_an_approved_certificate_and_its_verdict(db, tmp_path):
    call_command("import_certificates", str(write(tmp_path, "a.json", doc())), "--approve")
    certificate = Certificate.objects.get()
    assert certificate.state == "approved"
    assert ReviewEvent.objects.get().to_state == "approved"
    batch = Batch.objects.get()
    # Metals lack arsenic and mercury, microbials lack E. coli: incomplete.
    assert batch.verdicts.get(standard__code="baseline").status == "incomplete"


def test_original_file_beside_the_document_is_stored(db, tmp_path):
    original = coa_pdf.render_coa_pdf(doc(), core_fonts=True)
    (tmp_path / "a.pdf").write_bytes(original)
    call_command("import_certificates", str(write(tmp_path, "a.json", doc())))
    certificate = Certificate.objects.get()
    assert stored_bytes(certificate) == original
    assert certificate.original_filename == "a.pdf"


REFUSALS = [
    (
        "unknown analyte",
        {"results": [{"analyte": "unobtainium", "value": "1", "unit": "ppm"}]},
        "results[0].analyte: Unknown analyte 'unobtainium'",
    ),
    (
        "unit that does not fit",
        {"results": [{"analyte": "lead", "value": "10", "unit": "CFU/g"}]},
        "results[0].unit: Unit 'CFU/g' does not fit lead",
    ),
    (
        "unknown unit",
        {"results": [{"analyte": "lead", "value": "10", "unit": "furlongs"}]},
        "results[0].unit: Unknown unit 'furlongs'",
    ),
    (
        "tested in the future",
        {"tested_on": (TODAY + dt.timedelta(days=3)).isoformat(), "issued_on": None},
        f"tested_on: {(TODAY + dt.timedelta(days=3)).isoformat()} is in the future",
    ),
    (
        "tested after issued",
        {"tested_on": "2026-09-10", "issued_on": "2026-09-05", "sampled_on": "2026-09-01"},
        "tested_on: 2026-09-10 is after issued_on 2026-09-05",
    ),
    (
        "sampled after tested",
        {"sampled_on": "2026-09-10", "tested_on": "2026-09-05", "issued_on": "2026-09-06"},
        "sampled_on: 2026-09-10 is after tested_on 2026-09-05",
    ),
    ("no lots", {"lots": []}, "lots: must be a non-empty list of lot codes"),
    ("wrong format", {"format": "coa/2"}, "format: must be 'coa/1'"),
    ("bad date", {"tested_on": "04/09/2026"}, "tested_on: '04/09/2026' is not an ISO date"),
    (
        "float number",
        {"results": [{"analyte": "lead", "value": 0.21, "unit": "ppm"}]},
        "results[0].value: numbers are written as strings",
    ),
    (
        "unreadable raw text",
        {"results": [{"analyte": "lead", "raw": "see attached"}]},
        "results[0].raw: Cannot read result 'see attached'",
    ),
    (
        "same analyte twice",
        {
            "results": [
                {"analyte": "lead", "value": "0.2", "unit": "ppm"},
                {"analyte": "Pb", "value": "0.3", "unit": "ppm"},
            ]
        },
        "results[1].analyte: lead is already given in results[0]",
    ),
    (
        "number for a qualitative analyte",
        {"results": [{"analyte": "salmonella", "value": "3", "unit": "ppm"}]},
        "results[0].unit: 'ppm' does not fit salmonella",
    ),
    ("missing report number", {"report_number": ""}, "report_number: is required"),
]


@pytest.mark.parametrize(("case", "changes", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_documents_name_the_field(db, catalogue, case, changes, message):
    with pytest.raises(DocumentError) as raised:
        read_document(doc(**changes), catalogue=catalogue)
    assert str(raised.value).startswith(message)


def test_a_refused_document_imports_nothing_and_the_others_still_do(db, tmp_path, capsys):
    good = write(tmp_path, "good.json", doc())
    bad = write(
        tmp_path,
        "bad.json",
        doc(report_number="X-1", results=[{"analyte": "lead", "value": "1", "unit": "CFU/g"}]),
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError) as raised:
        call_command("import_certificates", str(bad), str(good), str(broken))
    assert raised.value.returncode == 1
    err = capsys.readouterr().err
    assert f"rejected {bad}: results[0].unit: Unit 'CFU/g' does not fit lead" in err
    assert f"rejected {broken}: document: is not valid JSON" in err
    assert Certificate.objects.get().report_number == "EA-2026-00123"
    assert Result.objects.count() == 6
    stored = [p for p in (tmp_path / "media" / "certificates").rglob("*") if p.is_file()]
    assert len(stored) == 1  # nothing left behind by the refused documents
    assert len(list((tmp_path / "media" / "previews").rglob("*.png"))) == 1


def test_the_same_report_twice_is_refused(db, tmp_path, capsys):
    path = write(tmp_path, "a.json", doc())
    call_command("import_certificates", str(path))
    with pytest.raises(CommandError):
        call_command("import_certificates", str(path))
    assert "is already in the registry" in capsys.readouterr().err
    assert Certificate.objects.count() == 1
    assert len([p for p in (tmp_path / "media").rglob("*") if p.is_file()]) == 2  # file, preview


def test_exit_status_is_one_from_the_command_line(db, tmp_path):
    bad = write(tmp_path, "bad.json", doc(format="nope"))
    with pytest.raises(CommandError) as raised:
        call_command("import_certificates", str(bad))
    assert raised.value.returncode == 1
