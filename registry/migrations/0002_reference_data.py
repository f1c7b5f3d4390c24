"""Reference data: the analyte catalogue with the synonyms certificates use,
and the shipped standards with their requirements.

The numbers come from ``reference/standards.md``. Everything is written out as
literals here so that this migration keeps producing the same rows whatever
later code does; a later change to the data belongs in a new migration.
"""

import datetime
from decimal import Decimal

from django.db import migrations

from registry.catalogue import synonym_key

MICROGRAM = "\u00b5g"  # MICRO SIGN, as in "µg"
LEAF_FORMS = ["powder", "capsule", "tablet"]

# Per panel, in display order: (code, name, canonical unit, qualitative, synonyms).
# A synonym is listed only when its key differs from the analyte's own code and name.
ANALYTES = {
    "alkaloids": [
        ("mitragynine", "Mitragynine", "%", False, ["MIT", "Mitragynin"]),
        (
            "7-hydroxymitragynine",
            "7-Hydroxymitragynine",
            "%",
            False,
            [
                "7-OH",
                "7-OH-MIT",
                "7-OHMG",
                "7-HMG",
                "7-OH-Mitragynine",
                "7-hydroxymitragynin",
                "7-OH mitragynin",
            ],
        ),
        ("paynantheine", "Paynantheine", "%", False, ["Paynanthein"]),
        ("speciogynine", "Speciogynine", "%", False, ["Speciogynin"]),
        ("speciociliatine", "Speciociliatine", "%", False, ["Speciociliatin"]),
        ("mitraphylline", "Mitraphylline", "%", False, ["Mitraphyllin", "Mitrafylin"]),
        ("corynantheidine", "Corynantheidine", "%", False, ["Corynantheidin"]),
        (
            "total-alkaloids",
            "Total alkaloids",
            "%",
            False,
            ["Alkaloids (total)", "Sum of alkaloids", "Total alkaloid content", "Alkaloidy celkem"],
        ),
    ],
    "heavy_metals": [
        ("lead", "Lead", "ppm", False, ["Pb", "Olovo"]),
        (
            "arsenic",
            "Arsenic",
            "ppm",
            False,
            ["As", "Arsen", "Inorganic arsenic", "Total arsenic"],
        ),
        ("cadmium", "Cadmium", "ppm", False, ["Cd", "Kadmium"]),
        ("mercury", "Mercury", "ppm", False, ["Hg", "Rtuť", "Total mercury"]),
        ("nickel", "Nickel", "ppm", False, ["Ni", "Nikl"]),
    ],
    "microbials": [
        ("salmonella", "Salmonella", "", True, ["Salmonella spp.", "Salmonella sp."]),
        ("e-coli", "E. coli", "", True, ["Escherichia coli"]),
        (
            "total-aerobic-count",
            "Total aerobic count",
            "CFU/g",
            False,
            [
                "TAC",
                "Total Aerobic Plate Count",
                "APC",
                "Aerobic plate count",
                "TAMC",
                "Total aerobic microbial count",
                "Total plate count",
                "TPC",
                "Celkový počet mikroorganismů",
            ],
        ),
        (
            "total-yeast-mold",
            "Total yeast and mold",
            "CFU/g",
            False,
            [
                "TYMC",
                "TYM",
                "Yeast and Mold",
                "Yeast & Mold",
                "Total yeasts and moulds",
                "Total combined yeasts and moulds",
                "Kvasinky a plísně",
            ],
        ),
        ("yeasts", "Yeasts", "CFU/g", False, ["Yeast", "Kvasinky"]),
        ("molds", "Molds", "CFU/g", False, ["Mold", "Moulds", "Mould", "Plísně"]),
        (
            "bile-tolerant-gram-negative",
            "Bile-tolerant Gram-negative bacteria",
            "CFU/g",
            False,
            ["BTGN", "BTGNB"],
        ),
        (
            "coliforms",
            "Coliforms",
            "CFU/g",
            False,
            ["Total coliforms", "Coliform bacteria", "Koliformní bakterie"],
        ),
        (
            "staphylococcus-aureus",
            "Staphylococcus aureus",
            "CFU/g",
            False,
            ["S. aureus", "Staph. aureus"],
        ),
    ],
    "mycotoxins": [
        ("aflatoxin-b1", "Aflatoxin B1", "ppb", False, ["AFB1"]),
        ("aflatoxin-b2", "Aflatoxin B2", "ppb", False, ["AFB2"]),
        ("aflatoxin-g1", "Aflatoxin G1", "ppb", False, ["AFG1"]),
        ("aflatoxin-g2", "Aflatoxin G2", "ppb", False, ["AFG2"]),
        (
            "aflatoxins-total",
            "Total aflatoxins",
            "ppb",
            False,
            [
                "Aflatoxins (sum)",
                "Sum of aflatoxins",
                "Aflatoxins B1+B2+G1+G2",
                "Aflatoxiny celkem",
            ],
        ),
        ("ochratoxin-a", "Ochratoxin A", "ppb", False, ["OTA"]),
    ],
    "residual_solvents": [
        ("benzene", "Benzene", "ppm", False, ["Benzen"]),
        ("methanol", "Methanol", "ppm", False, ["MeOH"]),
        ("hexane", "Hexane", "ppm", False, ["n-Hexane", "Hexan"]),
        ("toluene", "Toluene", "ppm", False, ["Toluen"]),
        ("ethanol", "Ethanol", "ppm", False, ["EtOH"]),
        ("acetone", "Acetone", "ppm", False, ["Aceton"]),
        ("ethyl-acetate", "Ethyl acetate", "ppm", False, ["EtOAc", "Ethylacetát"]),
        (
            "isopropanol",
            "Isopropanol",
            "ppm",
            False,
            ["2-Propanol", "Propan-2-ol", "IPA", "Isopropyl alcohol"],
        ),
    ],
    "adulterants": [
        (
            "synthetic-alkaloids",
            "Synthetic / added alkaloids",
            "",
            True,
            ["Synthesized alkaloids", "Added alkaloids"],
        ),
    ],
}


def req(
    analyte,
    basis="concentration",
    limit=None,
    comparison="le",
    unit="",
    required=True,
    forms=(),
    source="",
):
    """One requirement row; ``limit`` is a decimal string, ``None`` when the
    analyte only has to be reported."""
    return {
        "analyte": analyte,
        "basis": basis,
        "limit": limit,
        "comparison": comparison,
        "unit": unit,
        "required": required,
        "forms": list(forms),
        "source": source,
    }


UT_TABLE_1 = "Utah R70-580-5 Table 1"
UT_TABLE_2 = "Utah R70-580-5 Table 2"
KCPA = "KCPA as enacted in AZ (ARS 36-795ff), TX (HSC 444.003)"

BASELINE = [
    req("mitragynine", source="Utah R70-580-5 (content must be on the COA)"),
    req("7-hydroxymitragynine", source="Utah R70-580-5 (content must be on the COA)"),
    req("7-hydroxymitragynine", "alkaloid_share", "2", unit="%", source=f"Utah R70-580-5; {KCPA}"),
    req("arsenic", limit="2", comparison="lt", unit="ppm", source=UT_TABLE_2),
    req("cadmium", limit="0.82", comparison="lt", unit="ppm", source=UT_TABLE_2),
    req("lead", limit="1.2", comparison="lt", unit="ppm", source=UT_TABLE_2),
    req("mercury", limit="0.4", comparison="lt", unit="ppm", source=UT_TABLE_2),
    req("salmonella", "qualitative", source=UT_TABLE_1),
    req("e-coli", "qualitative", source=UT_TABLE_1),
    req("total-aerobic-count", limit="10000000", unit="CFU/g", required=False, source=UT_TABLE_1),
    req("total-yeast-mold", limit="100000", unit="CFU/g", required=False, source=UT_TABLE_1),
    req(
        "bile-tolerant-gram-negative",
        limit="10000",
        comparison="lt",
        unit="CFU/g",
        required=False,
        source=UT_TABLE_1,
    ),
]

OK_STATUTE = "63 O.S. §1-1432.4 (HB 3574, 2024)"
OK_SOLVENTS = "ICH Q3C via 63 O.S. §1-1432.4"
OKLAHOMA = [
    req("mitragynine", source=OK_STATUTE),
    req("7-hydroxymitragynine", source=OK_STATUTE),
    req("7-hydroxymitragynine", "alkaloid_share", "1", unit="%", source=OK_STATUTE),
    req(
        "synthetic-alkaloids",
        "qualitative",
        required=False,
        source=f"{OK_STATUTE}: no synthesized alkaloids",
    ),
    *[
        req(code, limit=limit, unit="ppm", required=False, forms=["extract"], source=OK_SOLVENTS)
        for code, limit in [
            ("benzene", "2"),
            ("methanol", "3000"),
            ("hexane", "290"),
            ("toluene", "890"),
            ("ethanol", "5000"),
            ("acetone", "5000"),
            ("ethyl-acetate", "5000"),
            ("isopropanol", "5000"),
        ]
    ],
    req(
        "total-alkaloids",
        "alkaloid_total",
        "3.5",
        unit="%",
        required=False,
        forms=LEAF_FORMS,
        source=f"{OK_STATUTE}: kratom leaf, dry weight",
    ),
]

GA_STATUTE = "O.C.G.A. §16-13-122"
GEORGIA = [
    req("mitragynine", "per_serving", "150", unit="mg", source=GA_STATUTE),
    req("7-hydroxymitragynine", "per_serving", "1", unit="mg", source=GA_STATUTE),
    req(
        "7-hydroxymitragynine",
        limit="0.05",
        unit="%",
        source=f"{GA_STATUTE}: 0.5 mg per gram of product (= 0.05 % w/w)",
    ),
]

KCPA_STATES = [
    req("mitragynine", source=f"{KCPA}: amount on the label"),
    req("7-hydroxymitragynine", source=f"{KCPA}: amount on the label"),
    req("7-hydroxymitragynine", "alkaloid_share", "2", unit="%", source=KCPA),
    req(
        "synthetic-alkaloids",
        "qualitative",
        required=False,
        source=f"{KCPA}: no synthetic alkaloids",
    ),
]

CZ_ANNEX_1 = "Decree 448/2025 Coll., annex 1"
CZ_ANNEX_3 = "Decree 448/2025 Coll., annex 3"
CZECH = [
    req("mitragynine", limit="2.5", unit="%", source=CZ_ANNEX_1),
    req("7-hydroxymitragynine", limit="0.1", unit="%", source=CZ_ANNEX_1),
    req("mercury", limit="0.10", unit="mg/kg", source=CZ_ANNEX_3),
    req("lead", limit="3", unit="mg/kg", source=CZ_ANNEX_3),
    req("cadmium", limit="1", unit="mg/kg", source=CZ_ANNEX_3),
    req("arsenic", limit="0.50", unit="mg/kg", source=CZ_ANNEX_3),
]

USP_METALS = "USP ⟨2232⟩"
USP_MICRO = "USP ⟨2023⟩ Table 2"
USP = [
    req("arsenic", "per_day", "15", unit=MICROGRAM, source=f"{USP_METALS} (inorganic arsenic)"),
    req("cadmium", "per_day", "5", unit=MICROGRAM, source=USP_METALS),
    req("lead", "per_day", "5", unit=MICROGRAM, source=USP_METALS),
    req("mercury", "per_day", "15", unit=MICROGRAM, source=f"{USP_METALS} (total mercury)"),
    # Table 2 sets 10^5 cfu/g for dried botanicals and 10^4 cfu/g for powdered
    # extracts. One row per (standard, analyte, basis) is allowed, so the
    # extract figure is not carried: the row below leaves extracts out.
    req(
        "total-aerobic-count",
        limit="100000",
        unit="CFU/g",
        forms=["powder", "capsule", "tablet", "liquid", "gummy"],
        source=f"{USP_MICRO} (dried botanicals; not applied to extracts)",
    ),
    req("total-yeast-mold", limit="1000", unit="CFU/g", source=USP_MICRO),
    req("bile-tolerant-gram-negative", limit="1000", unit="CFU/g", source=USP_MICRO),
    req("salmonella", "qualitative", source=f"{USP_MICRO}: absent in 10 g"),
    req("e-coli", "qualitative", source=f"{USP_MICRO}: absent in 10 g"),
]

STANDARDS = [
    {
        "code": "baseline",
        "name": "Registry baseline",
        "jurisdiction": "",
        "description": (
            "The verdict shown when no jurisdiction is chosen: Utah's panels and limits "
            "with the KCPA 7-hydroxymitragynine share, a certificate counting for one year "
            "after its test date, from a lab accredited to ISO/IEC 17025 on that date. "
            "Total aerobic count, yeast and mold and bile-tolerant Gram-negative bacteria "
            "are judged when reported but are not required."
        ),
        "source": (
            "Panels and limits taken from Utah Admin. Code R70-580-5, the most specific "
            "kratom certificate rule in force; 7-hydroxymitragynine no more than 2 % of the "
            "alkaloids per the Kratom Consumer Protection Act as enacted in Arizona "
            "(ARS 36-795ff) and Texas (HSC 444.003); a 365-day window because Utah "
            "registration and the AKA GMP programme both renew every year."
        ),
        "effective_on": None,
        "is_default": True,
        "requirements": BASELINE,
    },
    {
        "code": "us-ut",
        "name": "Utah R70-580",
        "jurisdiction": "Utah, US",
        "description": (
            "Utah's kratom registration rule; its limits are the registry baseline's. The "
            "rule also asks that the certificate's lot match the lot on the label, that each "
            "batch have its own certificate and that the lab be accredited by an ILAC-MRA "
            "signatory. Those are checked by reviewers (and the lot-match trust check), not "
            "by this verdict."
        ),
        "source": "Utah Admin. Code R70-580-3, R70-580-5 and R70-580-6.",
        "effective_on": None,
        "is_default": False,
        "requirements": BASELINE,
    },
    {
        "code": "us-ok",
        "name": "Oklahoma 63 O.S. §1-1432.4",
        "jurisdiction": "Oklahoma, US",
        "description": (
            "Oklahoma's Kratom Consumer Protection Act as amended in 2024: "
            "7-hydroxymitragynine at most 1 % of the alkaloids, no synthesized alkaloids, "
            "residual solvents in extracts within ICH Q3C limits and total alkaloids in leaf "
            "products at most 3.5 % of dry weight. The statute forbids synthetic alkaloids "
            "without ordering a test for them, so that row, the solvents and total alkaloids "
            "are judged only when a certificate reports them."
        ),
        "source": "63 O.S. §1-1432.4, as amended by HB 3574 (2024); ICH Q3C for solvent limits.",
        "effective_on": None,
        "is_default": False,
        "requirements": OKLAHOMA,
    },
    {
        "code": "us-ga",
        "name": "Georgia O.C.G.A. §16-13-122",
        "jurisdiction": "Georgia, US",
        "description": (
            "Georgia's per-serving caps: mitragynine at most 150 mg and 7-hydroxymitragynine "
            "at most 1 mg per serving, and 7-hydroxymitragynine at most 0.5 mg per gram. "
            "Per-serving limits need the product's serving size."
        ),
        "source": "O.C.G.A. §16-13-122, in effect from 1 January 2025.",
        "effective_on": datetime.date(2025, 1, 1),
        "is_default": False,
        "requirements": GEORGIA,
    },
    {
        "code": "us-kcpa",
        "name": "Kratom Consumer Protection Act (AZ, TX)",
        "jurisdiction": "Arizona and Texas, US",
        "description": (
            "The KCPA as Arizona and Texas enacted it: mitragynine and 7-hydroxymitragynine "
            "amounts declared, 7-hydroxymitragynine at most 2 % of the alkaloid fraction, no "
            "synthetic alkaloids (judged when a certificate reports them)."
        ),
        "source": "Arizona ARS 36-795ff; Texas Health and Safety Code 444.003.",
        "effective_on": None,
        "is_default": False,
        "requirements": KCPA_STATES,
    },
    {
        "code": "cz-448-2025",
        "name": "Czech Decree 448/2025 Coll.",
        "jurisdiction": "Czech Republic",
        "description": (
            "The Czech decree on psychomodulatory substances as accredited Czech labs cite it "
            "for kratom: caps on mitragynine and 7-hydroxymitragynine content (annex 1) and "
            "on mercury, lead, cadmium and arsenic (annex 3)."
        ),
        "source": "Decree No. 448/2025 Coll. on psychomodulatory substances, annexes 1 and 3.",
        "effective_on": None,
        "is_default": False,
        "requirements": CZECH,
    },
    {
        "code": "usp-botanical",
        "name": "USP dried botanicals",
        "jurisdiction": "",
        "description": (
            "USP guidance for dietary supplements made from dried botanicals: permitted daily "
            "exposure to elemental contaminants (needs serving size and servings per day) "
            "and microbial limits for dried or powdered botanicals. The stricter total "
            "aerobic count for powdered extracts (10^4 cfu/g) is not modelled; extracts are "
            "not judged on total aerobic count."
        ),
        "source": (
            "USP ⟨2232⟩ Elemental Contaminants in Dietary Supplements (official 2023); "
            "USP ⟨2023⟩ Microbiological Attributes of Nonsterile Nutritional and Dietary "
            "Supplements, Table 2."
        ),
        "effective_on": None,
        "is_default": False,
        "requirements": USP,
    },
]


def forward(apps, schema_editor):
    db = schema_editor.connection.alias
    Analyte = apps.get_model("registry", "Analyte")
    AnalyteSynonym = apps.get_model("registry", "AnalyteSynonym")
    Standard = apps.get_model("registry", "Standard")
    Requirement = apps.get_model("registry", "Requirement")

    analytes = {}
    for panel, rows in ANALYTES.items():
        for position, (code, name, unit, qualitative, synonyms) in enumerate(rows):
            analyte = Analyte.objects.using(db).create(
                code=code,
                name=name,
                panel=panel,
                unit=unit,
                qualitative=qualitative,
                position=position,
            )
            analytes[code] = analyte
            AnalyteSynonym.objects.using(db).bulk_create(
                AnalyteSynonym(analyte=analyte, name=synonym, key=synonym_key(synonym))
                for synonym in synonyms
            )

    for position, spec in enumerate(STANDARDS):
        standard = Standard.objects.using(db).create(
            code=spec["code"],
            name=spec["name"],
            jurisdiction=spec["jurisdiction"],
            description=spec["description"],
            source=spec["source"],
            effective_on=spec["effective_on"],
            max_age_days=365,
            requires_accreditation=True,
            is_default=spec["is_default"],
            position=position,
        )
        Requirement.objects.using(db).bulk_create(
            Requirement(
                standard=standard,
                analyte=analytes[row["analyte"]],
                basis=row["basis"],
                limit=None if row["limit"] is None else Decimal(row["limit"]),
                comparison=row["comparison"],
                unit=row["unit"],
                required=row["required"],
                forms=row["forms"],
                source=row["source"],
            )
            for row in spec["requirements"]
        )


def reverse(apps, schema_editor):
    db = schema_editor.connection.alias
    Analyte = apps.get_model("registry", "Analyte")
    AnalyteSynonym = apps.get_model("registry", "AnalyteSynonym")
    Standard = apps.get_model("registry", "Standard")
    Requirement = apps.get_model("registry", "Requirement")

    for spec in STANDARDS:
        for row in spec["requirements"]:
            Requirement.objects.using(db).filter(
                standard__code=spec["code"], analyte__code=row["analyte"], basis=row["basis"]
            ).delete()
    Standard.objects.using(db).filter(code__in=[spec["code"] for spec in STANDARDS]).delete()

    codes = []
    for rows in ANALYTES.values():
        for code, _name, _unit, _qualitative, synonyms in rows:
            codes.append(code)
            AnalyteSynonym.objects.using(db).filter(
                analyte__code=code, key__in=[synonym_key(s) for s in synonyms]
            ).delete()
    Analyte.objects.using(db).filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
