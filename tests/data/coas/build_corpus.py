"""Build the extraction corpus: certificates of analysis with their truth.

    .venv/bin/python tests/data/coas/build_corpus.py

Writes, beside this script, one ``NAME.pdf`` / ``NAME.png`` / ``NAME.jpg`` per
document and ``NAME.json``, the ``coa/1`` truth: what the document says, as
extraction should read it (analyte codes of the registry's catalogue only, a
"<0,05" cell as ``<LOQ`` with ``loq`` 0.05, units as printed). Output is
deterministic (seeded), so rerunning it only changes files when this script
changes.

Layouts (all invented; traits from ``shared/reference/coa-anatomy.md``):

* ``us_table``, ``us_compact``, ``eu_czech`` - from :mod:`registry.coa_pdf`;
* ``us_verdict`` - US lab, columns Analyte | Method | LOQ | Limit | Result | Unit |
  Verdict, a letter-spaced title, ligatures missing from the text layer
  ("Certi cate", "Total a atoxins"), a pesticide panel over several pages,
  counts with thousands separators ("2,400");
* ``cz_micro`` - Czech microbiology-only protocol, columns Ukazatel | Metoda |
  Jednotka | Výsledek | Nejistota | Limit | Hodnocení, counts whose superscript
  exponent is lost in the text layer ("9,6.104"), "negativní v 25 g";
* ``eu_chem`` - European chemistry-only report in English, units in the column
  headers ("Result [mg/kg]"), decimal commas, "<2,0", day-first dates.

Images (OCR input): pages rendered at 150-300 dpi, slightly rotated, with
speckle noise and blur, saved as PNG or JPEG; one scan wrapped in an image-only
PDF.
"""

from __future__ import annotations

import io
import json
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FONTS = Path("/usr/share/fonts/truetype/dejavu")
FIXED_DATE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # PDFs carry no build time

# coa_pdf's analyte codes that the catalogue spells differently, and the codes
# the catalogue does not know (left out of the truth: extraction cannot map them).
CODE_ALIASES = {"yeast": "yeasts", "mold": "molds", "aflatoxins": "aflatoxins-total"}
UNKNOWN = {"chromium", "listeria", "enterobacteriaceae", "moisture", "water-activity"}


# --------------------------------------------------------------------------- values


def _num(rng: random.Random, low: float, high: float, places: int) -> str:
    return f"{rng.uniform(low, high):.{places}f}"


def _count(rng: random.Random, low_exp: int, high_exp: int) -> str:
    """A colony count with two significant digits, e.g. 9600 or 21000."""
    mantissa = rng.randint(11, 99)
    return str(mantissa * 10 ** (rng.randint(low_exp, high_exp) - 1))


def alkaloids(rng, extract=False):
    mit = _num(rng, 20, 45, 1) if extract else _num(rng, 0.6, 2.0, 2)
    return [
        {"analyte": "mitragynine", "value": mit, "unit": "%"},
        {"analyte": "7-hydroxymitragynine", "value": _num(rng, 0.005, 0.03, 3), "unit": "%"},
        {"analyte": "paynantheine", "value": _num(rng, 0.1, 0.5, 2), "unit": "%"},
        {"analyte": "speciogynine", "value": _num(rng, 0.1, 0.4, 2), "unit": "%"},
    ]


def metals(rng, unit="ppm"):
    return [
        {"analyte": "lead", "value": _num(rng, 0.1, 1.2, 2), "unit": unit},
        {"analyte": "arsenic", "value": _num(rng, 0.05, 0.4, 2), "unit": unit},
        {"analyte": "cadmium", "qualifier": "ND", "loq": "0.05", "unit": unit},
        {"analyte": "mercury", "value": _num(rng, 0.005, 0.03, 3), "unit": unit},
    ]


def micro(rng):
    return [
        {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
        {"analyte": "e-coli", "qualifier": "absent", "basis": "1 g"},
        {"analyte": "total-aerobic-count", "value": _count(rng, 3, 5), "unit": "CFU/g"},
        {"analyte": "total-yeast-mold", "value": _count(rng, 2, 3), "unit": "CFU/g"},
    ]


def base_doc(rng, *, lab, body, acc_id, report, vendor, product, lots, tested):
    return {
        "format": "coa/1",
        "lab": {"name": lab, "accreditation_body": body, "accreditation_id": acc_id},
        "report_number": report,
        "vendor": vendor,
        "product": product,
        "lots": lots,
        "sampled_on": (tested - timedelta(days=rng.randint(2, 6))).isoformat(),
        "tested_on": tested.isoformat(),
        "issued_on": (tested + timedelta(days=rng.randint(3, 8))).isoformat(),
        "results": [],
    }


# --------------------------------------------------------------------------- truth


def truth_for_coa_pdf(doc: dict, layout: str) -> dict:
    """The truth of a registry.coa_pdf rendering: what its cells say."""
    out = {k: v for k, v in doc.items() if k != "results"}
    out["lab"] = {k: v for k, v in doc["lab"].items() if k != "accredited_until"}
    results = []
    for item in doc["results"]:
        code = CODE_ALIASES.get(item["analyte"], item["analyte"])
        if code in UNKNOWN:
            continue
        item = dict(item, analyte=code)
        if layout == "eu_czech":
            item["unit"] = {"ppm": "mg/kg", "ppb": "µg/kg"}.get(item.get("unit"), item.get("unit"))
            if item.get("qualifier") in ("ND", "<LOQ") and item.get("loq"):
                item["qualifier"] = "<LOQ"  # printed as "<0,05"
            if item.get("qualifier") == "<LOQ" and not item.get("loq"):
                item["qualifier"] = "ND"  # printed as "n. d."
        results.append(item)
    out["results"] = results
    if layout == "us_compact":
        out.pop("sampled_on", None)  # the layout prints only the test and report dates
    return out


def truth_of(doc: dict) -> dict:
    return {
        **{k: v for k, v in doc.items() if k != "results"},
        "results": [r for r in doc["results"] if r["analyte"] not in UNKNOWN],
    }


# --------------------------------------------------------------------------- own layouts


def _fpdf():
    from fpdf import FPDF

    class Sheet(FPDF):
        footer_text = ""

        def footer(self):
            self.set_y(-14)
            self.set_font("sans", "", 7)
            self.cell(0, 4, self.footer_text.format(n=self.page_no(), nb="{nb}"), align="C")

    pdf = Sheet(format="A4", unit="mm")
    pdf.add_font("sans", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("sans", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_font("serif", "", str(FONTS / "DejaVuSerif.ttf"))
    pdf.add_font("serif", "B", str(FONTS / "DejaVuSerif-Bold.ttf"))
    pdf.set_auto_page_break(True, 22)
    pdf.set_margins(12, 12, 12)
    pdf.alias_nb_pages()
    pdf.set_creator("tests/data/coas/build_corpus.py")
    pdf.set_creation_date(FIXED_DATE)
    return pdf


def _glyph_png(text: str, size_pt: float, bold: bool) -> tuple[bytes, float, float]:
    """A small raster of ``text`` (a ligature), so it shows but is not in the text layer."""
    from PIL import Image, ImageDraw, ImageFont

    scale = 20  # px per pt
    font = ImageFont.truetype(
        str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), int(size_pt * scale)
    )
    left, top, right, bottom = font.getbbox(text)
    ascent, descent = font.getmetrics()
    image = Image.new("L", (right, ascent + descent), 255)
    ImageDraw.Draw(image).text((0, 0), text, font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    mm_per_px = 25.4 / 72 / scale
    return buffer.getvalue(), right * mm_per_px, (ascent + descent) * mm_per_px


def draw_broken(pdf, x, y, text, size, bold=False, family="sans"):
    """Draw ``text`` at baseline (x, y); "|fi|"-marked ligatures are drawn as images."""
    parts = text.split("|")
    pdf.set_font(family, "B" if bold else "", size)
    for i, part in enumerate(parts):
        if i % 2 == 0:
            pdf.text(x, y, part)
            x += pdf.get_string_width(part)
        else:
            png, w, h = _glyph_png(part, size, bold)
            ascent = h * 0.76
            pdf.image(io.BytesIO(png), x=x, y=y - ascent, w=w, h=h)
            x += w


def draw_sci(pdf, x, y, w, base, exp, size, align="R"):
    """A count as '9,6.10' with a raised exponent drawn separately (lost superscript)."""
    pdf.set_font("sans", "", size)
    bw = pdf.get_string_width(base)
    pdf.set_font("sans", "", size * 0.65)
    ew = pdf.get_string_width(exp)
    tx = x + w - 1 - bw - ew if align == "R" else x + 1
    pdf.set_font("sans", "", size)
    pdf.text(tx, y, base)
    pdf.set_font("sans", "", size * 0.65)
    pdf.text(tx + bw, y - size * 0.3528 * 0.45, exp)


def cell_text(pdf, x, y, w, text, size, align="L", bold=False, family="sans"):
    pdf.set_font(family, "B" if bold else "", size)
    while size > 5 and pdf.get_string_width(text.replace("|", "")) > w - 2:
        size -= 0.5
        pdf.set_font(family, "B" if bold else "", size)
    tw = pdf.get_string_width(text.replace("|", ""))
    tx = {"L": x + 1, "R": x + w - 1 - tw, "C": x + (w - tw) / 2}[align]
    draw_broken(pdf, tx, y, text, size, bold, family)


# --- us_verdict ------------------------------------------------------------------------------

PESTICIDES = [
    "Abamectin",
    "Acephate",
    "Acequinocyl",
    "Acetamiprid",
    "Aldicarb",
    "Azoxystrobin",
    "Bifenazate",
    "Bifenthrin",
    "Boscalid",
    "Captan",
    "Carbaryl",
    "Carbofuran",
    "Chlorantraniliprole",
    "Chlordane",
    "Chlorfenapyr",
    "Chlorpyrifos",
    "Clofentezine",
    "Coumaphos",
    "Cyfluthrin",
    "Cypermethrin",
    "Daminozide",
    "Diazinon",
    "Dichlorvos",
    "Dimethoate",
    "Dimethomorph",
    "Ethoprophos",
    "Etofenprox",
    "Etoxazole",
    "Fenhexamid",
    "Fenoxycarb",
    "Fenpyroximate",
    "Fipronil",
    "Flonicamid",
    "Fludioxonil",
    "Hexythiazox",
    "Imazalil",
    "Imidacloprid",
    "Kresoxim-methyl",
    "Malathion",
    "Metalaxyl",
    "Methiocarb",
    "Methomyl",
    "Mevinphos",
    "Myclobutanil",
    "Naled",
    "Oxamyl",
    "Paclobutrazol",
    "Permethrin",
    "Phosmet",
    "Piperonyl-butoxide",
    "Prallethrin",
    "Propiconazole",
    "Propoxur",
    "Pyrethrins",
    "Pyridaben",
    "Spinetoram",
    "Spinosad",
    "Spiromesifen",
    "Spirotetramat",
    "Tebuconazole",
    "Thiacloprid",
    "Thiamethoxam",
    "Trifloxystrobin",
]


def us_verdict(doc: dict, *, seed: int, pesticides: int, spaced_title: str) -> bytes:
    rng = random.Random(seed)
    pdf = _fpdf()
    pdf.footer_text = "Cert. " + doc["report_number"] + "  ·  Page {n} of {nb}"
    pdf.add_page()
    lab = doc["lab"]
    pdf.set_font("serif", "B", 16)
    pdf.text(12, 20, lab["name"])
    pdf.set_font("sans", "", 7.5)
    pdf.text(12, 25, "410 Mill Street, Unit 7, Asheville, NC 28801  ·  lab@example.test")
    pdf.text(
        12,
        29,
        f"ISO/IEC 17025:2017 accredited ({lab['accreditation_body']} "
        f"cert. no. {lab['accreditation_id']})",
    )
    # Title: either literal letter-spacing or character spacing.
    if spaced_title == "literal":
        pdf.set_font("sans", "B", 13)
        pdf.text(12, 40, "C E R T I F I C A T E   O F   A N A L Y S I S")
    else:
        pdf.set_font("sans", "B", 13)
        pdf.set_char_spacing(3)
        pdf.text(12, 40, "CERTIFICATE OF ANALYSIS")
        pdf.set_char_spacing(0)
    tested, issued = date.fromisoformat(doc["tested_on"]), date.fromisoformat(doc["issued_on"])
    sampled = date.fromisoformat(doc["sampled_on"])
    received = sampled + timedelta(days=1)
    lots = doc["lots"]
    product = doc["product"].replace("-", " ").title()
    rows = [
        ("Certi|fi|cate No.:", doc["report_number"]),
        ("Client:", doc["vendor"].replace("-", " ").title() + " LLC"),
        ("Sample Name:", f"{product}, Lot {lots[0]}"),
        ("Sample Type:", "Botanical powder (kratom leaf)"),
        ("Collected:", f"{sampled:%B} {sampled.day}, {sampled.year}"),
        ("Received:", f"{received:%B} {received.day}, {received.year}"),
        ("Analysis Date:", f"{tested:%b} {tested.day}, {tested.year}"),
        ("Report Date:", f"{issued.day:02d}-{issued:%b-%Y}"),
    ]
    y = 48
    for label, value in rows:
        draw_broken(pdf, 12, y, label, 8.5, bold=True)
        pdf.set_font("sans", "", 8.5)
        pdf.text(45, y, value)
        y += 4.6
    pdf.set_y(y + 2)

    cols = [
        ("Analyte", 52, "L"),
        ("Method", 30, "L"),
        ("LOQ", 16, "R"),
        ("Limit", 18, "R"),
        ("Result", 26, "R"),
        ("Unit", 20, "C"),
        ("Verdict", 24, "C"),
    ]
    h = 5.0

    def header(title):
        if pdf.will_page_break(h * 3 + 6):
            pdf.add_page()
        ty = pdf.get_y() + 5
        draw_broken(pdf, 12, ty, title, 10, bold=True)
        pdf.set_y(ty + 2)
        x, y0 = 12.0, pdf.get_y()
        pdf.set_fill_color(30, 30, 30)
        pdf.rect(12, y0, 186, h, style="F")
        pdf.set_text_color(255, 255, 255)
        for name, w, align in cols:
            cell_text(pdf, x, y0 + h * 0.7, w, name, 8, align, bold=True)
            x += w
        pdf.set_text_color(0, 0, 0)
        pdf.set_y(y0 + h)

    def row(cells, title):
        if pdf.will_page_break(h):
            pdf.add_page()
            header(title + " (cont.)")
        x, y0 = 12.0, pdf.get_y()
        pdf.line(12, y0 + h, 198, y0 + h)
        for (_, w, align), text in zip(cols, cells, strict=True):
            cell_text(pdf, x, y0 + h * 0.7, w, text, 7.5, align)
            x += w
        pdf.set_y(y0 + h)

    names = {
        "mitragynine": "Mitragynine",
        "7-hydroxymitragynine": "7-Hydroxymitragynine",
        "paynantheine": "Paynantheine",
        "speciogynine": "Speciogynine",
        "lead": "Lead",
        "arsenic": "Arsenic",
        "cadmium": "Cadmium",
        "mercury": "Mercury",
        "aflatoxins-total": "Total a|fl|atoxins",
        "ochratoxin-a": "Ochratoxin A",
        "salmonella": "Salmonella spp.",
        "e-coli": "E. coli",
        "total-aerobic-count": "Total Aerobic Plate Count",
        "total-yeast-mold": "Total Yeast and Mold",
        "coliforms": "Total Coliforms",
    }
    panels = {
        "Potency (Alkaloids)": ("HPLC-DAD", ["mitragynine", "7-hydroxymitragynine"]),
        "Heavy Metals": ("ICP-MS", ["lead", "arsenic", "cadmium", "mercury"]),
        "Mycotoxins": ("LC-MS/MS", ["aflatoxins-total", "ochratoxin-a"]),
        "Microbial Contaminants": (
            "AOAC 2003.07",
            ["salmonella", "e-coli", "total-aerobic-count", "total-yeast-mold", "coliforms"],
        ),
    }
    limits = {"lead": "1.0", "arsenic": "1.5", "cadmium": "0.5", "mercury": "0.2"}
    limits |= {"aflatoxins-total": "20", "ochratoxin-a": "20", "total-aerobic-count": "100,000"}
    limits |= {"total-yeast-mold": "10,000", "coliforms": "1,000"}
    by_code = {r["analyte"]: r for r in doc["results"]}
    for title, (method, codes) in panels.items():
        present = [c for c in codes if c in by_code]
        if not present:
            continue
        header(title)
        for code in present:
            r = by_code[code]
            qual, unit = r.get("qualifier", ""), r.get("unit", "")
            loq = r.get("loq", "")
            if "value" in r:
                shown = r["value"]
                if unit == "CFU/g" and int(shown) >= 1000:
                    shown = f"{int(shown):,}"
            elif qual == "absent":
                shown = f"Absent in {r['basis']}" if r.get("basis") else "Absent"
            elif qual == "ND":
                shown = rng.choice(["ND", "Not Detected"])
            else:
                shown = "<LOQ"
            limit = limits.get(code, "Absent" if code in ("salmonella", "e-coli") else "–")
            verdict = "PASS" if limit != "–" else "N/A"
            row([names[code], method, loq or "–", limit, shown, unit or "–", verdict], title)
    if pesticides:
        header("Pesticides")
        for name in PESTICIDES[:pesticides]:
            row([name, "LC-MS/MS", "0.01", "0.1", "ND", "ppm", "PASS"], "Pesticides")
    pdf.set_y(pdf.get_y() + 6)
    pdf.set_font("sans", "", 7)
    pdf.multi_cell(
        0,
        3.4,
        "ND = Not Detected at or above the LOQ. <LOQ = detected below the limit of "
        "quantitation. N/A = no action limit applies. The results relate only to the items "
        "tested. This certi cate shall not be reproduced except in full.",
    )
    pdf.ln(4)
    pdf.set_font("sans", "B", 8)
    pdf.cell(0, 4, "Approved by: J. Okafor, Technical Director")
    pdf.set_title("Certificate of Analysis")
    return bytes(pdf.output())


# --- cz_micro --------------------------------------------------------------------------------


def cz_micro(doc: dict, *, seed: int, unit: str, repeat_header: bool, extra_rows: int) -> bytes:
    rng = random.Random(seed)
    pdf = _fpdf()
    pdf.footer_text = (
        "Protokol č. " + doc["report_number"] + " – strana {n} z {nb}. "
        "Výsledky se týkají pouze zkoušeného vzorku."
    )
    pdf.add_page()
    lab = doc["lab"]
    pdf.set_font("sans", "B", 14)
    pdf.text(12, 19, lab["name"])
    pdf.set_font("sans", "", 7.5)
    pdf.text(12, 24, "Zkušební laboratoř mikrobiologie, Nádražní 2206/18, 702 00 Ostrava")
    pdf.text(
        12,
        28,
        f"Zkušební laboratoř č. {lab['accreditation_id']} akreditovaná "
        f"{lab['accreditation_body']} podle ČSN EN ISO/IEC 17025:2018",
    )
    pdf.line(12, 31, 198, 31)
    pdf.set_font("sans", "B", 12)
    pdf.text(12, 39, f"PROTOKOL O ZKOUŠCE č. {doc['report_number']}")

    def cz(d: str) -> str:
        v = date.fromisoformat(d)
        return f"{v.day}. {v.month}. {v.year}"

    tested, issued = date.fromisoformat(doc["tested_on"]), date.fromisoformat(doc["issued_on"])
    end = issued - timedelta(days=1)
    rows = [
        ("Objednatel:", doc["vendor"].replace("-", " ").title() + " s.r.o."),
        ("Vzorek:", doc["product"].replace("-", " ").title()),
        ("Šarže / Lot:", ", ".join(doc["lots"])),
        ("Datum odběru:", cz(doc["sampled_on"])),
        ("Datum zkoušení:", f"{cz(doc['tested_on'])} – {end.day}. {end.month}. {end.year}"),
        ("Datum vydání:", cz(doc["issued_on"])),
    ]
    y = 47
    for label, value in rows:
        pdf.set_font("sans", "B", 8.5)
        pdf.text(12, y, label)
        pdf.set_font("sans", "", 8.5)
        pdf.text(48, y, value)
        y += 4.7
    del tested
    pdf.set_y(y + 3)
    cols = [
        ("Ukazatel", 50, "L"),
        ("Metoda", 36, "L"),
        ("Jednotka", 18, "C"),
        ("Výsledek", 24, "R"),
        ("Nejistota", 20, "R"),
        ("Limit", 22, "R"),
        ("Hodnocení", 16, "C"),
    ]
    h = 5.4

    def header():
        x, y0 = 12.0, pdf.get_y()
        pdf.set_fill_color(215, 225, 235)
        for name, w, align in cols:
            pdf.rect(x, y0, w, h, style="DF")
            cell_text(pdf, x, y0 + h * 0.68, w, name, 7.5, align, bold=True)
            x += w
        pdf.set_y(y0 + h)

    names = {
        "salmonella": "Salmonella spp.",
        "e-coli": "Escherichia coli",
        "total-aerobic-count": "Celkový počet mikroorganismů",
        "yeasts": "kvasinky",
        "molds": "plísně",
        "coliforms": "koliformní bakterie",
        "staphylococcus-aureus": "Staphylococcus aureus",
        "bile-tolerant-gram-negative": "BTGN",
    }
    methods = {
        "salmonella": "ČSN EN ISO 6579-1",
        "e-coli": "ČSN ISO 16649-2",
        "total-aerobic-count": "ČSN EN ISO 4833-1",
        "yeasts": "ČSN ISO 21527-2",
        "molds": "ČSN ISO 21527-2",
        "coliforms": "ČSN ISO 4832",
        "staphylococcus-aureus": "ČSN EN ISO 6888-1",
        "bile-tolerant-gram-negative": "Ph. Eur. 2.6.13",
    }
    pdf.set_font("sans", "", 8)
    for i in range(extra_rows * 9):
        pdf.cell(
            0,
            4,
            f"Dílčí vzorek {i + 1}: odebrán z balení {rng.randint(1, 40)} ks, "
            f"hmotnost {rng.randint(95, 105)} g, neporušený obal.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.set_font("sans", "B", 10)
    pdf.cell(0, 6, "Mikrobiologické ukazatele", new_x="LMARGIN", new_y="NEXT")
    header()

    def sci(value: str) -> tuple[str, str]:
        n = int(value)
        exp = len(str(n)) - 1
        mant = f"{n / 10**exp:.1f}".replace(".", ",")
        return mant + ".10", str(exp)

    filler = [f"Plísně rodu {g}" for g in ("Aspergillus", "Penicillium", "Fusarium", "Mucor")]
    items = list(doc["results"]) + [{"filler": f} for f in filler[:extra_rows]]
    for r in items:
        if pdf.will_page_break(h):
            pdf.add_page()
            if repeat_header:
                header()
        x, y0 = 12.0, pdf.get_y()
        base = y0 + h * 0.68
        if "filler" in r:
            cells = [r["filler"], "ČSN ISO 21527-2", unit, "<1,0.101", "–", "–", "X"]
        else:
            code = r["analyte"]
            if r.get("qualifier") == "absent":
                shown = f"negativní v {r['basis']}"
                cells = [names[code], methods[code], "–", shown, "–", "negativní", "V"]
            elif r.get("qualifier") == "<LOQ":
                cells = [names[code], methods[code], unit, "<" + r["loq"], "–", "–", "X"]
            else:
                unc = sci(str(int(int(r["value"]) * rng.uniform(0.15, 0.3) // 10 * 10 or 10)))
                limit = "1,0.105" if code == "total-aerobic-count" else "1,0.104"
                cells = [names[code], methods[code], unit, sci(r["value"]), unc, limit, "V"]
        for (_, w, align), text in zip(cols, cells, strict=True):
            pdf.rect(x, y0, w, h)
            if isinstance(text, tuple):
                draw_sci(pdf, x, base, w, text[0], text[1], 7.5, align)
            elif text.endswith((".101", ".104", ".105")):
                draw_sci(pdf, x, base, w, text[:-1], text[-1], 7.5, align)
            else:
                cell_text(pdf, x, base, w, text, 7.5, align)
            x += w
        pdf.set_y(y0 + h)
    pdf.ln(4)
    pdf.set_font("sans", "", 7)
    pdf.multi_cell(
        0,
        3.4,
        "Hodnocení: V – vyhovuje, N – nevyhovuje, X – nehodnoceno. Výsledky mikrobiologických "
        f"zkoušek jsou vyjádřeny v {unit}; znak < znamená, že mikroorganismy nebyly ve "
        "zkoušeném množství zjištěny.",
    )
    pdf.ln(3)
    pdf.set_font("sans", "B", 8)
    pdf.cell(0, 4, "Protokol schválila: RNDr. Jana Kučerová, vedoucí laboratoře")
    return bytes(pdf.output())


# --- eu_chem ---------------------------------------------------------------------------------


def eu_chem(doc: dict, *, seed: int, micro_report: str) -> bytes:
    rng = random.Random(seed)
    pdf = _fpdf()
    pdf.footer_text = "Test report " + doc["report_number"] + " | page {n}/{nb}"
    pdf.add_page()
    lab = doc["lab"]
    pdf.set_font("serif", "B", 15)
    pdf.text(12, 19, lab["name"])
    pdf.set_font("serif", "", 7.5)
    pdf.text(12, 24, "Industriestraße 14, 4020 Linz, Austria  ·  +43 732 555 019")
    pdf.text(
        12,
        28,
        f"Testing laboratory accredited by {lab['accreditation_body']} "
        f"(No. {lab['accreditation_id']}) according to EN ISO/IEC 17025",
    )
    pdf.set_font("serif", "B", 12)
    pdf.text(12, 38, f"Test report No. {doc['report_number']}")

    def dmy(d: str) -> str:
        return date.fromisoformat(d).strftime("%d.%m.%Y")

    lots = doc["lots"]
    rows = [
        ("Customer", doc["vendor"].replace("-", " ").title() + " GmbH"),
        (
            "Sample description",
            f"{doc['product'].replace('-', ' ').title()}, batch {', '.join(lots)}",
        ),
        ("Date of sampling", dmy(doc["sampled_on"])),
        ("Date of analysis", dmy(doc["tested_on"])),
        ("Date of issue", dmy(doc["issued_on"])),
    ]
    y = 46
    for label, value in rows:
        pdf.set_font("serif", "B", 8.5)
        pdf.text(12, y, label)
        pdf.set_font("serif", "", 8.5)
        pdf.text(50, y, value)
        y += 4.6
    pdf.set_y(y + 2)
    h = 5.0
    panels = {
        "Alkaloids (HPLC-DAD)": ["mitragynine", "7-hydroxymitragynine", "paynantheine"],
        "Elements (ICP-MS)": ["lead", "arsenic", "cadmium", "mercury", "nickel"],
        "Mycotoxins (LC-MS/MS)": ["aflatoxin-b1", "aflatoxins-total", "ochratoxin-a"],
    }
    names = {
        "mitragynine": "Mitragynine",
        "7-hydroxymitragynine": "7-OH-Mitragynine",
        "paynantheine": "Paynantheine",
        "lead": "Lead (Pb)",
        "arsenic": "Arsenic (As)",
        "cadmium": "Cadmium (Cd)",
        "mercury": "Mercury (Hg)",
        "nickel": "Nickel (Ni)",
        "aflatoxin-b1": "Aflatoxin B1",
        "aflatoxins-total": "Sum of aflatoxins",
        "ochratoxin-a": "Ochratoxin A",
    }
    by_code = {r["analyte"]: r for r in doc["results"]}
    for title, codes in panels.items():
        present = [c for c in codes if c in by_code]
        if not present:
            continue
        unit = by_code[present[0]]["unit"]
        shown_unit = {"%": "% w/w"}.get(unit, unit)
        cols = [
            ("Parameter", 58, "L"),
            (f"LOQ [{shown_unit}]", 26, "R"),
            (f"Result [{shown_unit}]", 30, "R"),
            ("U (k=2)", 22, "R"),
            ("Method", 50, "L"),
        ]
        if pdf.will_page_break(h * 3 + 8):
            pdf.add_page()
        pdf.set_font("serif", "B", 10)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        x, y0 = 12.0, pdf.get_y()
        pdf.line(12, y0, 198, y0)
        for name, w, align in cols:
            cell_text(pdf, x, y0 + h * 0.7, w, name, 8, align, bold=True, family="serif")
            x += w
        pdf.line(12, y0 + h, 198, y0 + h)
        pdf.set_y(y0 + h)
        for i, code in enumerate(present):
            r = by_code[code]
            loq = r.get("loq") or {"%": "0.01", "mg/kg": "0.05", "µg/kg": "2.0"}[unit]
            if "value" in r:
                shown = r["value"].replace(".", ",")
                places = len(r["value"].split(".")[-1])
                unc = f"{float(r['value']) * rng.uniform(0.1, 0.25):.{places}f}"
                unc = unc.replace(".", ",")
            else:
                shown, unc = "<" + loq.replace(".", ","), "–"
            method = title.partition("(")[2].rstrip(")")
            cells = [names[code], loq.replace(".", ","), shown, unc, f"SOP-{method}-0{i}"]
            x, y0 = 12.0, pdf.get_y()
            for (_, w, align), text in zip(cols, cells, strict=True):
                cell_text(pdf, x, y0 + h * 0.7, w, text, 8, align, family="serif")
                x += w
            pdf.set_y(y0 + h)
        pdf.line(12, pdf.get_y(), 198, pdf.get_y())
    pdf.ln(5)
    pdf.set_font("serif", "", 7)
    pdf.multi_cell(
        0,
        3.4,
        'U = expanded measurement uncertainty (k = 2). "<" = below the limit of '
        f"quantification. Microbiological results are issued in test report {micro_report}. "
        "The results refer exclusively to the sample tested.",
    )
    pdf.ln(3)
    pdf.set_font("serif", "B", 8)
    pdf.cell(0, 4, "Dr. M. Leitner, Head of Laboratory")
    return bytes(pdf.output())


def eu_chem_truth(doc: dict) -> dict:
    out = truth_of(doc)
    results = []
    for r in out["results"]:
        r = dict(r)
        if "value" not in r:
            r["qualifier"] = "<LOQ"
            r.setdefault("loq", {"%": "0.01", "mg/kg": "0.05", "µg/kg": "2.0"}[r["unit"]])
        results.append(r)
    out["results"] = results
    return out


# --------------------------------------------------------------------------- images


def scan(pdf_bytes: bytes, *, dpi: int, angle: float, seed: int, fmt: str) -> bytes:
    """Render page 1 like a scan or a phone photo: rotated, speckled, blurred, grey."""
    import pypdfium2
    from PIL import Image, ImageDraw, ImageFilter

    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        page = pdf[0]
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        image = bitmap.to_pil().convert("L")
        bitmap.close()
        page.close()
    finally:
        pdf.close()
    rng = random.Random(seed)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    draw = ImageDraw.Draw(image)
    w, h = image.size
    for _ in range(w * h // 4000):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice((0, 0, 1))
        draw.ellipse((x, y, x + r, y + r), fill=rng.randint(60, 160))
    image = image.filter(ImageFilter.GaussianBlur(0.5 * dpi / 200))
    image = image.point(lambda v: min(255, int(v * 0.92 + 18)))  # greyish paper
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", optimize=True, dpi=(dpi, dpi))
    else:
        image.save(buffer, format="JPEG", quality=55, dpi=(dpi, dpi))
    return buffer.getvalue()


def image_pdf(jpeg: bytes) -> bytes:
    """A PDF whose only page is the scan: no text layer."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.add_page()
    pdf.image(io.BytesIO(jpeg), x=0, y=0, w=210, h=297)
    pdf.set_creator("tests/data/coas/build_corpus.py")
    pdf.set_creation_date(FIXED_DATE)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- the corpus


def documents():
    """(name, pdf bytes, truth) for every PDF in the corpus."""
    sys.path.insert(0, str(ROOT))
    from registry.coa_pdf import render_coa_pdf

    out = []
    rng = random.Random(5)

    def doc(**kw):
        return base_doc(rng, **kw)

    # --- registry.coa_pdf layouts
    d = doc(
        lab="Example Analytical",
        body="A2LA",
        acc_id="L24-123",
        report="EA-2026-00123",
        vendor="example-botanicals",
        product="green-maeng-da-powder",
        lots=["GMD-0926"],
        tested=date(2026, 1, 16),
    )
    d["results"] = [
        *alkaloids(rng),
        *metals(rng),
        *micro(rng),
        {"analyte": "aflatoxins", "value": "1.2", "unit": "ppb"},
        {"analyte": "water-activity", "value": "0.41", "unit": "aw"},
    ]
    d["results"][5] = {"analyte": "arsenic", "value": "0.05", "qualifier": "<", "loq": "0.05"}
    d["results"][5]["unit"] = "ppm"
    out.append(("us_table_full", render_coa_pdf(d, layout="us_table", seed=1), d, "us_table"))

    d = doc(
        lab="Cascade Botanical Labs",
        body="PJLA",
        acc_id="104553",
        report="CBL-26-0311",
        vendor="river-leaf-co",
        product="red-bali-extract",
        lots=["RB-EX-0112", "RB-EX-0113"],
        tested=date(2025, 11, 3),
    )
    d["results"] = [*alkaloids(rng, extract=True), *metals(rng)]
    d["results"][6] = {"analyte": "cadmium", "qualifier": "<LOQ", "loq": "0.02", "unit": "ppm"}
    pdf = render_coa_pdf(d, layout="us_table", seed=2, core_fonts=True)
    out.append(("us_table_core", pdf, d, "us_table"))

    d = doc(
        lab="Cascade Botanical Labs",
        body="PJLA",
        acc_id="104553",
        report="CBL-26-0312-M",
        vendor="river-leaf-co",
        product="red-bali-extract",
        lots=["RB-EX-0112"],
        tested=date(2025, 11, 10),
    )
    d["results"] = [
        *micro(rng),
        {"analyte": "coliforms", "value": "40", "unit": "CFU/g"},
        {"analyte": "listeria", "qualifier": "absent", "basis": "25 g"},
    ]
    out.append(("us_table_micro", render_coa_pdf(d, layout="us_table", seed=3), d, "us_table"))

    d = doc(
        lab="Summit Phytochemical Testing",
        body="A2LA",
        acc_id="5120.01",
        report="SPT2026-04417",
        vendor="golden-leaf",
        product="white-horn-capsules",
        lots=["WH-0426"],
        tested=date(2026, 4, 2),
    )
    d["results"] = [*alkaloids(rng), *metals(rng, "ppm"), *micro(rng)]
    out.append(("us_compact_a", render_coa_pdf(d, layout="us_compact", seed=4), d, "us_compact"))

    d = doc(
        lab="Summit Phytochemical Testing",
        body="A2LA",
        acc_id="5120.01",
        report="SPT2026-05120",
        vendor="kona-kratom",
        product="green-malay-powder",
        lots=["GM-2205"],
        tested=date(2026, 5, 20),
    )
    d["results"] = [
        *alkaloids(rng)[:2],
        {"analyte": "total-alkaloids", "value": _num(rng, 1.0, 2.5, 2), "unit": "%"},
        *metals(rng, "ppb"),
        {"analyte": "ochratoxin-a", "value": "2.1", "unit": "ppb"},
    ]
    for r in d["results"][3:7]:
        if "value" in r:
            r["value"] = str(int(float(r["value"]) * 1000))
        else:
            r["loq"] = "50"
    pdf = render_coa_pdf(d, layout="us_compact", seed=5, core_fonts=True)
    out.append(("us_compact_core", pdf, d, "us_compact"))

    d = doc(
        lab="Pacific Northwest Analytical",
        body="ANAB",
        acc_id="AT-2941",
        report="PNW-118206",
        vendor="golden-leaf",
        product="maeng-da-powder",
        lots=["MD-0731"],
        tested=date(2026, 7, 28),
    )
    d["results"] = [*metals(rng, "µg/g"), {"analyte": "nickel", "value": "1.9", "unit": "µg/g"}]
    out.append(
        ("us_compact_metals", render_coa_pdf(d, layout="us_compact", seed=6), d, "us_compact")
    )

    d = doc(
        lab="Laboratoř Morava s.r.o.",
        body="ČIA",
        acc_id="1318",
        report="2026/0187",
        vendor="kratom-cz",
        product="zeleny-maeng-da",
        lots=["ZMD-2601"],
        tested=date(2026, 1, 16),
    )
    d["results"] = [*alkaloids(rng), *metals(rng, "mg/kg"), *micro(rng)]
    d["results"][1]["value"] = "0.0067"
    d["results"][-1] = {"analyte": "yeast", "value": "350", "unit": "CFU/g"}
    d["results"].append({"analyte": "mold", "value": "100", "unit": "CFU/g", "qualifier": "<"})
    d["results"][-1]["loq"] = "100"
    out.append(("eu_czech_a", render_coa_pdf(d, layout="eu_czech", seed=7), d, "eu_czech"))

    d = doc(
        lab="Zkušební ústav Vysočina",
        body="ČIA",
        acc_id="1622",
        report="ZUV-26-0044",
        vendor="kratom-cz",
        product="red-thai",
        lots=["RT-26/3"],
        tested=date(2026, 2, 9),
    )
    d["results"] = [*alkaloids(rng)[:2], *metals(rng, "mg/kg"), *micro(rng)]
    pdf = render_coa_pdf(d, layout="eu_czech", seed=8, core_fonts=True)
    out.append(("eu_czech_core", pdf, d, "eu_czech"))

    d = doc(
        lab="Laboratoř Morava s.r.o.",
        body="ČIA",
        acc_id="1318",
        report="2026/0193",
        vendor="kratom-cz",
        product="zeleny-maeng-da",
        lots=["ZMD-2601"],
        tested=date(2026, 1, 23),
    )
    d["results"] = [
        *micro(rng),
        {"analyte": "coliforms", "value": "10", "unit": "CFU/g", "qualifier": "<"},
        {"analyte": "staphylococcus-aureus", "qualifier": "<LOQ", "unit": "CFU/g"},
    ]
    d["results"][-2]["loq"] = "10"
    out.append(("eu_czech_micro", render_coa_pdf(d, layout="eu_czech", seed=9), d, "eu_czech"))

    # --- us_verdict
    specs = [
        ("us_verdict_a", "literal", 0, "TRL-26-10482", ["BG-2207"], date(2026, 3, 4)),
        ("us_verdict_b", "spacing", 0, "TRL-26-10577", ["MG-3001"], date(2026, 3, 18)),
        ("us_verdict_pest", "literal", 64, "TRL-26-11020", ["EX-44"], date(2026, 4, 8)),
    ]
    for i, (name, title, pest, report, lots, tested) in enumerate(specs):
        d = doc(
            lab="Tri-River Laboratories",
            body="A2LA",
            acc_id="4471.02",
            report=report,
            vendor="blue-ridge-botanicals",
            product=["bali-gold-powder", "maeng-da-capsules", "kratom-extract-50x"][i],
            lots=lots,
            tested=tested,
        )
        d["results"] = [*alkaloids(rng)[:2], *metals(rng)]
        d["results"][3] = {"analyte": "arsenic", "qualifier": "<LOQ", "loq": "0.05", "unit": "ppm"}
        d["results"] += [
            {"analyte": "aflatoxins-total", "qualifier": "ND", "loq": "2.0", "unit": "ppb"},
            {"analyte": "ochratoxin-a", "value": _num(rng, 1, 6, 1), "unit": "ppb"},
            {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
            {"analyte": "e-coli", "qualifier": "absent", "basis": "10 g"},
            {"analyte": "total-aerobic-count", "value": _count(rng, 4, 5), "unit": "CFU/g"},
            {"analyte": "total-yeast-mold", "value": _count(rng, 2, 4), "unit": "CFU/g"},
        ]
        pdf = us_verdict(d, seed=20 + i, pesticides=pest, spaced_title=title)
        out.append((name, pdf, truth_of(d), "us_verdict"))

    # --- cz_micro
    specs = [
        ("cz_micro_a", "KTJ/g", True, 0, "M-2026/0412", date(2026, 1, 13)),
        ("cz_micro_b", "cfu/g", True, 0, "M-2026/0588", date(2026, 2, 2)),
        ("cz_micro_long", "KTJ/g", False, 4, "M-2026/0731", date(2026, 3, 9)),
    ]
    for i, (name, unit, repeat, extra, report, tested) in enumerate(specs):
        d = doc(
            lab="MikroLab Ostrava s.r.o.",
            body="ČIA",
            acc_id="1549",
            report=report,
            vendor="kratom-cz",
            product=["bily-borneo", "cerveny-bali", "zeleny-malay"][i],
            lots=[["BB-0126"], ["CB-25-12", "CB-25-13"], ["ZM/2603"]][i],
            tested=tested,
        )
        cfu = "CFU/g"
        d["results"] = [
            {"analyte": "total-aerobic-count", "value": _count(rng, 3, 5), "unit": cfu},
            {"analyte": "yeasts", "value": _count(rng, 2, 3), "unit": cfu},
            {"analyte": "molds", "value": _count(rng, 2, 3), "unit": cfu},
            {"analyte": "e-coli", "qualifier": "<LOQ", "loq": "10", "unit": cfu},
            {"analyte": "salmonella", "qualifier": "absent", "basis": "25 g"},
            {"analyte": "coliforms", "value": _count(rng, 2, 2), "unit": cfu},
            {"analyte": "staphylococcus-aureus", "qualifier": "<LOQ", "loq": "10", "unit": cfu},
        ]
        if name == "cz_micro_long":
            d["results"].append(
                {"analyte": "bile-tolerant-gram-negative", "value": "1200", "unit": cfu}
            )
        pdf = cz_micro(d, seed=30 + i, unit=unit, repeat_header=repeat, extra_rows=extra)
        out.append((name, pdf, truth_of(d), "cz_micro"))

    # --- eu_chem
    specs = [
        ("eu_chem_a", "26-00187/1", "26-00187/2", ["RV-1123"], date(2026, 2, 17)),
        ("eu_chem_b", "26-00342/1", "26-00342/2", ["GHB-0208"], date(2026, 3, 2)),
        ("eu_chem_c", "26-00515/1", "26-00515/2", ["WS-77", "WS-78"], date(2026, 4, 21)),
    ]
    for i, (name, report, micro_report, lots, tested) in enumerate(specs):
        d = doc(
            lab="Alpine Phyto Analytics GmbH",
            body="Akkreditierung Austria",
            acc_id="0412",
            report=report,
            vendor="donau-naturals",
            product=["red-vein-powder", "green-hulu-powder", "white-sumatra-powder"][i],
            lots=lots,
            tested=tested,
        )
        d["results"] = [
            *alkaloids(rng)[:2],
            {"analyte": "paynantheine", "value": _num(rng, 0.1, 0.5, 2), "unit": "%"},
            *[dict(r, unit="mg/kg") for r in metals(rng)],
            {"analyte": "nickel", "value": _num(rng, 0.5, 3, 2), "unit": "mg/kg"},
            {"analyte": "aflatoxin-b1", "qualifier": "<LOQ", "loq": "0.5", "unit": "µg/kg"},
            {"analyte": "aflatoxins-total", "qualifier": "<LOQ", "loq": "2.0", "unit": "µg/kg"},
            {"analyte": "ochratoxin-a", "value": _num(rng, 1, 8, 1), "unit": "µg/kg"},
        ]
        d["results"][5] = {"analyte": "cadmium", "value": _num(rng, 0.02, 0.1, 3), "unit": "mg/kg"}
        if i == 2:
            d["results"][6] = {"analyte": "mercury", "qualifier": "<LOQ", "unit": "mg/kg"}
            d["results"][6]["loq"] = "0.010"
        pdf = eu_chem(d, seed=40 + i, micro_report=micro_report)
        out.append((name, pdf, eu_chem_truth(d), "eu_chem"))
    return out


# name of the source PDF, image name, dpi, angle, format
IMAGES = [
    ("us_table_full", "scan_us_table", 200, 0.7, "jpg"),
    ("us_compact_a", "scan_us_compact", 300, -0.4, "jpg"),
    ("eu_czech_a", "scan_eu_czech", 250, -1.1, "jpg"),
    ("us_verdict_b", "scan_us_verdict", 200, 1.2, "png"),
    ("cz_micro_a", "scan_cz_micro", 150, 0.5, "png"),
    ("eu_chem_a", "scan_eu_chem", 200, -0.8, "jpg"),
]
IMAGE_PDF = ("us_table_core", "scan_only_us_table", 200, 0.9)


def main() -> None:
    built = {}
    for name, pdf, doc, layout in documents():
        own = layout not in ("us_table", "us_compact", "eu_czech")
        truth = doc if own else truth_for_coa_pdf(doc, layout)
        truth = {**truth, "layout": layout}
        (HERE / f"{name}.pdf").write_bytes(pdf)
        (HERE / f"{name}.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
        built[name] = (pdf, truth)
    for i, (source, name, dpi, angle, fmt) in enumerate(IMAGES):
        pdf, truth = built[source]
        (HERE / f"{name}.{fmt}").write_bytes(scan(pdf, dpi=dpi, angle=angle, seed=i, fmt=fmt))
        truth = {**truth, "layout": truth["layout"] + "+scan"}
        (HERE / f"{name}.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
    source, name, dpi, angle = IMAGE_PDF
    pdf, truth = built[source]
    jpeg = scan(pdf, dpi=dpi, angle=angle, seed=99, fmt="jpg")
    (HERE / f"{name}.pdf").write_bytes(image_pdf(jpeg))
    truth = {**truth, "layout": truth["layout"] + "+scan"}
    (HERE / f"{name}.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.suffix != ".py")
    print(f"wrote {len(built) + len(IMAGES) + 1} documents, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
