"""The reference data shipped by migration 0002: the analyte catalogue, its
synonyms and the standards of ``reference/standards.md`` with their numbers."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registry.catalogue import Catalogue, synonym_key
from registry.models import Analyte, AnalyteSynonym, Requirement, Standard

LEAF = ["powder", "capsule", "tablet"]

# Standard code → number of requirements, in display order.
STANDARD_REQUIREMENTS = {
    "baseline": 12,
    "us-ut": 12,
    "us-ok": 13,
    "us-ga": 3,
    "us-kcpa": 4,
    "cz-448-2025": 6,
    "usp-botanical": 10,
}

EXPECTED_ANALYTES = {
    "alkaloids": [
        "mitragynine",
        "7-hydroxymitragynine",
        "paynantheine",
        "speciogynine",
        "speciociliatine",
        "mitraphylline",
        "corynantheidine",
        "total-alkaloids",
    ],
    "heavy_metals": ["lead", "arsenic", "cadmium", "mercury", "nickel"],
    "microbials": [
        "salmonella",
        "e-coli",
        "total-aerobic-count",
        "total-yeast-mold",
        "yeasts",
        "molds",
        "bile-tolerant-gram-negative",
        "coliforms",
        "staphylococcus-aureus",
    ],
    "mycotoxins": [
        "aflatoxin-b1",
        "aflatoxin-b2",
        "aflatoxin-g1",
        "aflatoxin-g2",
        "aflatoxins-total",
        "ochratoxin-a",
    ],
    "residual_solvents": [
        "benzene",
        "methanol",
        "hexane",
        "toluene",
        "ethanol",
        "acetone",
        "ethyl-acetate",
        "isopropanol",
    ],
    "adulterants": ["synthetic-alkaloids"],
}
CANONICAL_UNITS = {
    "alkaloids": "%",
    "heavy_metals": "ppm",
    "mycotoxins": "ppb",
    "residual_solvents": "ppm",
}
QUALITATIVE = {"salmonella", "e-coli", "synthetic-alkaloids"}


def get_requirement(standard, analyte, basis="concentration", forms=None):
    found = Requirement.objects.filter(standard__code=standard, analyte__code=analyte, basis=basis)
    if forms is not None:
        found = [r for r in found if r.forms == forms]
    [requirement] = found
    return requirement


def as_row(requirement):
    return (
        requirement.analyte.code,
        requirement.basis,
        requirement.limit,
        requirement.comparison,
        requirement.unit,
        requirement.required,
        requirement.forms,
    )


# --- standards ---------------------------------------------------------------


def test_every_standard_ships_with_its_requirements(db):
    standards = list(Standard.objects.order_by("position"))
    assert [s.code for s in standards] == list(STANDARD_REQUIREMENTS)
    assert [s.position for s in standards] == list(range(len(STANDARD_REQUIREMENTS)))
    for standard in standards:
        assert standard.requirements.count() == STANDARD_REQUIREMENTS[standard.code], standard.code
        assert standard.max_age_days == 365
        assert standard.requires_accreditation
        assert standard.name and standard.source and standard.description


def test_baseline_is_the_only_default(db):
    assert list(Standard.objects.filter(is_default=True).values_list("code", flat=True)) == [
        "baseline"
    ]
    assert Standard.objects.get(code="baseline").name == "Registry baseline"


def test_effective_dates(db):
    dates = dict(Standard.objects.values_list("code", "effective_on"))
    assert dates.pop("us-ga") == datetime.date(2025, 1, 1)
    assert set(dates.values()) == {None}


def test_utah_has_the_baseline_numbers(db):
    def rows(code):
        return sorted(as_row(r) for r in Requirement.objects.filter(standard__code=code))

    assert rows("us-ut") == rows("baseline")


@pytest.mark.parametrize(
    ("standard", "analyte", "basis", "limit", "comparison", "unit", "required", "forms"),
    [
        # baseline: Utah R70-580-5 Table 2 metals are strict "<".
        ("baseline", "lead", "concentration", "1.2", "lt", "ppm", True, []),
        ("baseline", "arsenic", "concentration", "2", "lt", "ppm", True, []),
        ("baseline", "cadmium", "concentration", "0.82", "lt", "ppm", True, []),
        ("baseline", "mercury", "concentration", "0.4", "lt", "ppm", True, []),
        ("baseline", "7-hydroxymitragynine", "alkaloid_share", "2", "le", "%", True, []),
        ("baseline", "total-aerobic-count", "concentration", "10000000", "le", "CFU/g", False, []),
        ("baseline", "total-yeast-mold", "concentration", "100000", "le", "CFU/g", False, []),
        (
            "baseline",
            "bile-tolerant-gram-negative",
            "concentration",
            "10000",
            "lt",
            "CFU/g",
            False,
            [],
        ),
        ("us-ut", "lead", "concentration", "1.2", "lt", "ppm", True, []),
        ("us-ok", "7-hydroxymitragynine", "alkaloid_share", "1", "le", "%", True, []),
        ("us-ok", "benzene", "concentration", "2", "le", "ppm", False, ["extract"]),
        ("us-ok", "methanol", "concentration", "3000", "le", "ppm", False, ["extract"]),
        ("us-ok", "hexane", "concentration", "290", "le", "ppm", False, ["extract"]),
        ("us-ok", "toluene", "concentration", "890", "le", "ppm", False, ["extract"]),
        ("us-ok", "ethyl-acetate", "concentration", "5000", "le", "ppm", False, ["extract"]),
        ("us-ok", "isopropanol", "concentration", "5000", "le", "ppm", False, ["extract"]),
        ("us-ok", "total-alkaloids", "alkaloid_total", "3.5", "le", "%", False, LEAF),
        ("us-ga", "mitragynine", "per_serving", "150", "le", "mg", True, []),
        ("us-ga", "7-hydroxymitragynine", "per_serving", "1", "le", "mg", True, []),
        ("us-ga", "7-hydroxymitragynine", "concentration", "0.05", "le", "%", True, []),
        ("us-kcpa", "7-hydroxymitragynine", "alkaloid_share", "2", "le", "%", True, []),
        ("cz-448-2025", "mitragynine", "concentration", "2.5", "le", "%", True, []),
        ("cz-448-2025", "7-hydroxymitragynine", "concentration", "0.1", "le", "%", True, []),
        ("cz-448-2025", "mercury", "concentration", "0.10", "le", "mg/kg", True, []),
        ("cz-448-2025", "lead", "concentration", "3", "le", "mg/kg", True, []),
        ("cz-448-2025", "cadmium", "concentration", "1", "le", "mg/kg", True, []),
        ("cz-448-2025", "arsenic", "concentration", "0.50", "le", "mg/kg", True, []),
        ("usp-botanical", "lead", "per_day", "5", "le", "µg", True, []),
        ("usp-botanical", "cadmium", "per_day", "5", "le", "µg", True, []),
        ("usp-botanical", "arsenic", "per_day", "15", "le", "µg", True, []),
        ("usp-botanical", "mercury", "per_day", "15", "le", "µg", True, []),
        (
            "usp-botanical",
            "total-aerobic-count",
            "concentration",
            "100000",
            "le",
            "CFU/g",
            True,
            ["powder", "capsule", "tablet", "liquid", "gummy"],
        ),
        ("usp-botanical", "total-yeast-mold", "concentration", "1000", "le", "CFU/g", True, []),
        (
            "usp-botanical",
            "total-aerobic-count",
            "concentration",
            "10000",
            "le",
            "CFU/g",
            True,
            ["extract"],
        ),
        (
            "usp-botanical",
            "bile-tolerant-gram-negative",
            "concentration",
            "1000",
            "le",
            "CFU/g",
            True,
            [],
        ),
    ],
)
def test_limits_match_the_standards(
    db, standard, analyte, basis, limit, comparison, unit, required, forms
):
    found = get_requirement(standard, analyte, basis, forms)
    assert found.limit == Decimal(limit)
    assert found.comparison == comparison
    assert found.unit == unit
    assert found.required is required
    assert found.forms == forms


@pytest.mark.parametrize(
    ("standard", "analyte", "basis", "required"),
    [
        ("baseline", "mitragynine", "concentration", True),
        ("baseline", "7-hydroxymitragynine", "concentration", True),
        ("baseline", "salmonella", "qualitative", True),
        ("baseline", "e-coli", "qualitative", True),
        ("us-ok", "mitragynine", "concentration", True),
        ("us-ok", "7-hydroxymitragynine", "concentration", True),
        ("us-ok", "synthetic-alkaloids", "qualitative", False),
        ("us-kcpa", "mitragynine", "concentration", True),
        ("us-kcpa", "7-hydroxymitragynine", "concentration", True),
        ("us-kcpa", "synthetic-alkaloids", "qualitative", False),
        ("usp-botanical", "salmonella", "qualitative", True),
        ("usp-botanical", "e-coli", "qualitative", True),
    ],
)
def test_reported_and_qualitative_rows_have_no_limit(db, standard, analyte, basis, required):
    found = get_requirement(standard, analyte, basis)
    assert found.limit is None
    assert found.required is required


def test_oklahoma_solvents_are_extract_only_and_optional(db):
    solvents = Requirement.objects.filter(
        standard__code="us-ok", analyte__panel="residual_solvents"
    )
    assert solvents.count() == 8
    for requirement in solvents:
        assert requirement.forms == ["extract"]
        assert not requirement.required
        assert requirement.source == "ICH Q3C via 63 O.S. §1-1432.4"
    five_thousand = {
        r.analyte.code for r in solvents if r.limit == Decimal(5000) and r.comparison == "le"
    }
    assert five_thousand == {"ethanol", "acetone", "ethyl-acetate", "isopropanol"}


def test_every_requirement_is_well_formed(db):
    units_by_basis = {
        "concentration": {"%", "ppm", "mg/kg", "CFU/g"},
        "per_serving": {"mg"},
        "per_day": {"µg"},
        "alkaloid_share": {"%"},
        "alkaloid_total": {"%"},
    }
    forms = {"powder", "capsule", "tablet", "extract", "liquid", "gummy"}
    for requirement in Requirement.objects.select_related("analyte"):
        label = f"{requirement.standard_id} {requirement}"
        assert requirement.source, label
        assert set(requirement.forms) <= forms, label
        assert requirement.comparison in {"lt", "le"}, label
        if requirement.basis == "qualitative":
            assert requirement.analyte.qualitative, label
        else:
            assert not requirement.analyte.qualitative, label
        if requirement.limit is not None:
            assert requirement.unit in units_by_basis[requirement.basis], label


# --- analytes and synonyms ---------------------------------------------------


def test_every_listed_analyte_exists_in_its_panel(db):
    for panel, codes in EXPECTED_ANALYTES.items():
        analytes = list(Analyte.objects.filter(panel=panel).order_by("position"))
        assert [a.code for a in analytes] == codes
        assert [a.position for a in analytes] == list(range(len(codes)))
    assert Analyte.objects.count() == sum(len(codes) for codes in EXPECTED_ANALYTES.values())


def test_units_and_qualitative_flags(db):
    for analyte in Analyte.objects.all():
        assert analyte.qualitative is (analyte.code in QUALITATIVE), analyte.code
        if analyte.qualitative:
            assert analyte.unit == "", analyte.code
        elif analyte.panel == "microbials":
            assert analyte.unit == "CFU/g", analyte.code
        else:
            assert analyte.unit == CANONICAL_UNITS[analyte.panel], analyte.code


def test_stored_synonym_keys_are_the_computed_keys(db):
    for synonym in AnalyteSynonym.objects.all():
        assert synonym.key == synonym_key(synonym.name), synonym.name
        assert synonym.key, synonym.name


def test_code_and_name_keys_do_not_collide_between_analytes(db):
    owner = {}
    for analyte in Analyte.objects.all():
        for key in {synonym_key(analyte.code), synonym_key(analyte.name)}:
            assert owner.setdefault(key, analyte.code) == analyte.code, key


def test_synonym_keys_are_unique_and_never_shadow_an_analyte(db):
    own_keys = {a.pk: {synonym_key(a.code), synonym_key(a.name)} for a in Analyte.objects.all()}
    all_own_keys = set().union(*own_keys.values())
    seen = {}
    for synonym in AnalyteSynonym.objects.select_related("analyte"):
        assert synonym.key not in seen, (synonym.name, seen.get(synonym.key))
        seen[synonym.key] = synonym.name
        # Neither redundant with its own analyte nor pointing at another one.
        assert synonym.key not in all_own_keys, (synonym.name, synonym.analyte.code)


@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("Pb", "lead"),
        ("Lead (Pb)", "lead"),
        ("olovo", "lead"),
        ("rtuť", "mercury"),
        ("Inorganic arsenic", "arsenic"),
        ("kadmium", "cadmium"),
        ("nikl", "nickel"),
        ("MIT", "mitragynine"),
        ("Mitragynin", "mitragynine"),
        ("7-OH", "7-hydroxymitragynine"),
        ("7-OH-MIT", "7-hydroxymitragynine"),
        ("7-OHMG", "7-hydroxymitragynine"),
        ("7 hydroxy mitragynine", "7-hydroxymitragynine"),
        ("7-hydroxymitragynin", "7-hydroxymitragynine"),
        ("Speciociliatin", "speciociliatine"),
        ("Salmonella spp.", "salmonella"),
        ("E. coli", "e-coli"),
        ("Escherichia coli", "e-coli"),
        ("TAMC", "total-aerobic-count"),
        ("Total Aerobic Plate Count", "total-aerobic-count"),
        ("celkový počet mikroorganismů", "total-aerobic-count"),
        ("TYMC", "total-yeast-mold"),
        ("Total Yeast & Mold", "total-yeast-mold"),
        ("Kvasinky a plísně", "total-yeast-mold"),
        ("kvasinky", "yeasts"),
        ("plísně", "molds"),
        ("Moulds", "molds"),
        ("BTGN", "bile-tolerant-gram-negative"),
        ("koliformní bakterie", "coliforms"),
        ("Aflatoxins (sum)", "aflatoxins-total"),
        ("aflatoxiny celkem", "aflatoxins-total"),
        ("OTA", "ochratoxin-a"),
        ("n-hexane", "hexane"),
        ("2-propanol", "isopropanol"),
        ("IPA", "isopropanol"),
        ("Ethyl Acetate", "ethyl-acetate"),
    ],
)
def test_names_on_certificates_resolve(db, printed, code):
    assert Catalogue.load().resolve(printed).code == code


# --- reversibility -----------------------------------------------------------


def reference_counts(apps):
    return {
        name: apps.get_model("registry", name).objects.count()
        for name in ["Analyte", "AnalyteSynonym", "Standard", "Requirement"]
    }


@pytest.mark.django_db(transaction=True)
def test_migration_reverses_and_reapplies(reference_data):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    before = reference_counts(executor.loader.project_state(leaves).apps)
    assert before["Analyte"] == sum(len(codes) for codes in EXPECTED_ANALYTES.values())
    assert before["Standard"] == len(STANDARD_REQUIREMENTS)
    assert before["Requirement"] == sum(STANDARD_REQUIREMENTS.values())
    assert before["AnalyteSynonym"] > before["Analyte"]

    initial = ("registry", "0001_initial")
    executor.migrate([initial])
    executor = MigrationExecutor(connection)
    emptied = reference_counts(executor.loader.project_state([initial]).apps)
    assert emptied == dict.fromkeys(before, 0)

    executor.migrate(leaves)
    executor = MigrationExecutor(connection)
    assert reference_counts(executor.loader.project_state(leaves).apps) == before
