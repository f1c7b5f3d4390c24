"""Synthetic certificate-of-analysis PDFs rendered from ``coa/1`` documents.

Used for the registry's demo data and as a corpus for testing extraction. The layouts in
:data:`LAYOUTS` imitate common traits of real lab reports without copying any lab's document:

* ``us_table``   - US botanical lab: Analyte | Result | Unit | LOQ | Limit | Status (Pass/Fail).
* ``us_compact`` - US compact: Analyte | LOQ | Result (unit in header) | Method, a PASS/FAIL summary
  box and a sample-photo placeholder.
* ``eu_czech``   - Czech accredited lab protocol: Czech headings and analyte names, decimal commas,
  ``% hm.``/``mg/kg``, expanded uncertainty, verdict codes V/N/X, counts written as ``9,6·10⁴``.

Fonts: fpdf2 ships no TTF fonts and its core fonts cover Latin-1 only. If DejaVu Sans (regular and
bold) is found in one of :data:`FONT_DIRS`, it is embedded (subset) and all text renders as given,
including Czech diacritics, ``µ`` and superscript digits. Otherwise - or with ``core_fonts=True``
or the module switch :data:`FORCE_CORE_FONTS` - Helvetica is used and characters outside Latin-1
are transliterated (``č`` -> ``c``, ``–`` -> ``-``; ``µ`` and ``·`` are Latin-1 and kept), and
exponents are drawn smaller and raised, so the text layer then reads ``9,6·104``. Lot codes and
report numbers are printed verbatim (they are expected to be ASCII).

Output is deterministic for the same document, options, seed and font availability: the PDF
creation date is derived from ``issued_on`` (else ``tested_on``) and all variation comes from a
seeded RNG. A machine with DejaVu and one without produce different, but each stable, bytes.
This module deliberately does not import Django.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

LAYOUTS = ("us_table", "us_compact", "eu_czech")
FORCE_CORE_FONTS = False
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF")

# code | English name | Czech name | panel | limit of the demo client specification
_ANALYTE_TABLE = """
mitragynine|Mitragynine|mitragynin|alk|
7-hydroxymitragynine|7-Hydroxymitragynine|7-hydroxymitragynin|alk|
paynantheine|Paynantheine|paynanthein|alk|
speciogynine|Speciogynine|speciogynin|alk|
speciociliatine|Speciociliatine|speciociliatin|alk|
corynantheidine|Corynantheidine|korynantheidin|alk|
mitraphylline|Mitraphylline|mitrafylin|alk|
total-alkaloids|Total Alkaloids|alkaloidy celkem|alk|
lead|Lead (Pb)|olovo (Pb)|met|1.0 ppm
arsenic|Arsenic (As)|arsen (As)|met|1.5 ppm
cadmium|Cadmium (Cd)|kadmium (Cd)|met|0.5 ppm
mercury|Mercury (Hg)|rtuť (Hg)|met|0.2 ppm
nickel|Nickel (Ni)|nikl (Ni)|met|
chromium|Chromium (Cr)|chrom (Cr)|met|
salmonella|Salmonella spp.|Salmonella spp.|mic|absent
e-coli|E. coli|Escherichia coli|mic|absent
total-aerobic-count|Total Aerobic Count|celkový počet mikroorganismů|mic|100000 CFU/g
total-yeast-mold|Total Yeast & Mold|kvasinky a plísně|mic|10000 CFU/g
yeast|Yeast|kvasinky|mic|10000 CFU/g
mold|Mold|plísně|mic|10000 CFU/g
coliforms|Total Coliforms|koliformní bakterie|mic|
enterobacteriaceae|Enterobacteriaceae|Enterobacteriaceae|mic|
staphylococcus-aureus|Staphylococcus aureus|Staphylococcus aureus|mic|
listeria|Listeria monocytogenes|Listeria monocytogenes|mic|absent
moisture|Moisture|vlhkost|oth|
water-activity|Water Activity|aktivita vody|oth|
aflatoxins|Total Aflatoxins|aflatoxiny celkem|oth|
ochratoxin-a|Ochratoxin A|ochratoxin A|oth|
"""
_ANALYTES = {r[0]: r[1:] for r in (x.split("|") for x in _ANALYTE_TABLE.strip().splitlines())}
# unit (lower case) | dimension | factor to ppm or to counts | Czech unit
_UNIT_TABLE = """
%|m|10000|% hm.
mg/g|m|1000|mg/g
mg/kg|m|1|mg/kg
ppm|m|1|mg/kg
µg/g|m|1|mg/kg
ug/g|m|1|mg/kg
mcg/g|m|1|mg/kg
ppb|m|0.001|µg/kg
µg/kg|m|0.001|µg/kg
ug/kg|m|0.001|µg/kg
ng/g|m|0.001|µg/kg
cfu/g|c|1|cfu/g
mpn/g|n|1|MPN/g
"""
_UNITS = {r[0]: r[1:] for r in (x.split("|") for x in _UNIT_TABLE.strip().splitlines())}
# panel -> (English heading, Czech heading, English method, Czech method)
_PANELS = {
    "alk": ("Alkaloids", "Alkaloidy", "HPLC-UV (SOP-AL-03)", "SOP 12 (HPLC-DAD)"),
    "met": ("Heavy Metals", "Těžké kovy", "ICP-MS (SOP-HM-01)", "SOP 21 (ICP-MS)"),
    "mic": ("Microbiology", "Mikrobiologie", "Plate count (SOP-MB-02)", "SOP 30"),
    "oth": ("Other Analyses", "Ostatní ukazatele", "In-house SOP", "SOP 40"),
}
_CS_METHODS = dict.fromkeys(("total-yeast-mold", "yeast", "mold"), "ČSN ISO 21527-2") | {
    "total-aerobic-count": "ČSN EN ISO 4833-1",
    "salmonella": "ČSN EN ISO 6579-1",
    "e-coli": "ČSN ISO 16649-2",
}
# Table columns per layout: title:width:align:field
_COLUMNS = {
    "us_table": "Analyte:58:L:name Result:28:R:value Unit:20:C:unit LOQ:22:R:loq Limit:30:R:limit "
    "Status:32:C:status",
    "us_compact": "Analyte:70:L:name LOQ:28:R:loq Result:42:R:value Method:50:L:method",
    "eu_czech": "Ukazatel:46:L:name Výsledek:24:R:value Nejistota:20:R:unc Jednotky:18:C:unit "
    "Metoda:42:L:method Limit:26:R:limit Hodnocení:14:C:status",
}
_SIGNERS = {
    "en": ["Dana R. Whitfield|Laboratory Director", "Marcus Ellery, PhD|QA Manager"],
    "cs": ["Ing. Petra Hronková|vedoucí zkušební laboratoře", "Mgr. Tomáš Vrabec|manažer kvality"],
}
_ADDRESSES = {
    "en": ["2150 Foundry Row, Suite 300, Boulder, CO 80301", "88 Cannery Lane, Eugene, OR 97402"],
    "cs": ["Technologická 1187/12, 627 00 Brno", "U Pivovaru 432, 530 02 Pardubice"],
}
_TRANS = dict(zip("–—‑’‘“”•μłŁ⁻", "---''\"\"*µlL-", strict=True)) | {
    "≤": "<=",
    "≥": ">=",
    "…": "...",
}
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_RAW_RE = re.compile(r"^\s*([<>])?\s*(\d+(?:\.\d+)?)\s*([^\d\s].*)?$")
_DASH = "–"

Cell = str | tuple[str, str]  # plain text, or (base, exponent) e.g. ("9,6·10", "4")


def analyte_name(code: str, lang: str = "en") -> str:
    """Display name of an analyte code in ``lang`` ("en" or "cs"); unknown codes title-cased."""
    names = _ANALYTES.get(code)
    if names is None:
        return code.replace("-", " ").title()
    return names[1] if lang == "cs" else names[0]


def to_latin1(text: str) -> str:
    """Transliterate characters that the PDF core fonts (Latin-1) cannot draw."""
    out = []
    for ch in text:
        if ord(ch) < 256 or ch in _TRANS:
            out.append(_TRANS.get(ch, ch))
        else:
            parts = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in parts if ord(c) < 256 and not unicodedata.combining(c)))
    return "".join(out)


def _dec(text: str) -> Decimal | None:
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return d if d.is_finite() else None


def _norm(value: str, unit: str) -> tuple[Decimal, str] | None:
    d, u = _dec(value), _UNITS.get(unit.strip().lower().replace("μ", "µ"))
    return None if d is None or u is None else (d * Decimal(u[1]), u[0])


def _sci(d: Decimal) -> tuple[str, str]:
    exp = d.adjusted()
    mant = d.scaleb(-exp).quantize(Decimal("0.1"))
    if mant >= 10:
        mant, exp = (mant / 10).quantize(Decimal("0.1")), exp + 1
    return (f"{mant}".replace(".", ",") + "·10", str(exp))


def _iso(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def _slug_name(slug: object) -> str:
    return str(slug or "").replace("-", " ").replace("_", " ").title()


@dataclass
class _Res:
    code: str
    kind: str  # num, <, ND, <LOQ, absent, present, raw
    text: str = ""
    unit: str = ""
    loq: str = ""
    basis: str = ""
    status: str | None = None  # pass / fail / None (not assessed)

    @property
    def panel(self) -> str:
        return _ANALYTES.get(self.code, ("", "", "oth"))[2]

    @property
    def limit(self) -> list[str] | None:
        spec = _ANALYTES.get(self.code, ("", "", "", ""))[3]
        return (spec.split() + [""])[:2] if spec else None


def _parse(item: dict) -> _Res:
    code = str(item.get("analyte", "")).strip().lower()
    r = _Res(code, "num", str(item.get("value", "")), str(item.get("unit") or ""))
    r.loq, r.basis = str(item.get("loq") or ""), str(item.get("basis") or "")
    qual = str(item.get("qualifier") or "")
    if "value" in item:
        r.kind = "<" if qual == "<" else "num"
    elif qual:
        kinds = {"nd": "ND", "<loq": "<LOQ", "absent": "absent", "present": "present"}
        r.kind, r.text = kinds.get(qual.lower(), "raw"), qual
    else:
        raw = str(item.get("raw", "")).strip()
        m = _RAW_RE.match(raw)
        if m:
            r.kind, r.text, r.unit = ("<" if m[1] == "<" else "num"), m[2], (m[3] or "").strip()
        else:
            r.kind, r.text = ("ND", "") if raw.lower() in ("nd", "not detected") else ("raw", raw)
    if r.kind in ("absent", "present") and not r.basis and code in ("salmonella", "listeria"):
        r.basis = "25 g"
    r.status = _status(r)
    return r


def _status(r: _Res) -> str | None:
    lim = r.limit
    if lim is None or r.kind == "raw":
        return None
    if r.kind in ("ND", "<LOQ", "absent", "<", "present"):
        return "fail" if r.kind == "present" else "pass"
    if lim[0] == "absent":
        d = _dec(r.text)
        return None if d is None else ("pass" if d == 0 else "fail")
    v, lv = _norm(r.text, r.unit), _norm(*lim)
    if v is None or lv is None or v[1] != lv[1]:
        return None
    return "pass" if v[0] <= lv[0] else "fail"


def _find_dejavu() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        reg, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if reg.is_file() and bold.is_file():
            return reg, bold
    return None


class _CoaPdf(FPDF):
    def __init__(self, doc: dict, layout: str, opts: dict, seed: int, core_fonts: bool) -> None:
        super().__init__(format="A4", unit="mm")
        self.doc, self.layout, self.cs = doc, layout, layout == "eu_czech"
        self.lang = "cs" if self.cs else "en"
        self.rn = str(doc.get("report_number") or "")
        self.rng = random.Random(f"{seed}|{layout}|{self.rn}")
        lab = doc.get("lab") or {}
        self.lab_name = str(lab.get("name") or "Independent Test Laboratory")
        self.body = str(lab.get("accreditation_body") or "")
        self.acc_id = str(lab.get("accreditation_id") or "")
        self.address = opts["lab_address"] or self.rng.choice(_ADDRESSES[self.lang])
        r = self.rng.randint
        cz_phone = f"+420 5{r(10, 99)} {r(100, 999)} {r(100, 999)}"
        self.phone = cz_phone if self.cs else f"({r(201, 989)}) 555-0{r(100, 199)}"
        self.client = opts["client_name"] or _slug_name(doc.get("vendor"))
        self.product = opts["product_name"] or _slug_name(doc.get("product"))
        self.lots = ", ".join(str(lot) for lot in doc.get("lots") or [])
        self.dates = {k: _iso(doc.get(f"{k}_on")) for k in ("sampled", "tested", "issued")}
        tested = self.dates["tested"] or date(2000, 1, 1)
        us_id = f"S{tested:%y%m}-{r(1000, 9999)}"
        self.sample_id = f"{r(100, 9999)}/{tested.year}" if self.cs else us_id
        self.us_iso = self.rng.random() < 0.5
        self.signer = self.rng.choice(_SIGNERS[self.lang]).split("|")
        self.results = [_parse(i) for i in doc.get("results") or [] if isinstance(i, dict)]
        self.verdict = "FAIL" if any(x.status == "fail" for x in self.results) else "PASS"
        fonts = None if core_fonts else _find_dejavu()
        self.fam = "dejavu" if fonts else "helvetica"
        if fonts:
            self.add_font("dejavu", "", str(fonts[0]))
            self.add_font("dejavu", "B", str(fonts[1]))

    # -- drawing helpers ---------------------------------------------------------------------
    def t(self, text: str) -> str:
        return text if self.fam == "dejavu" else to_latin1(text)

    def f(self, size: float, bold: bool = False) -> None:
        self.set_font(self.fam, "B" if bold else "", size)

    def line_(self, text: str, size: float = 8, bold: bool = False, w: float = 0, **kw) -> None:
        """A text cell; with w=0 it spans to the right margin and moves to the next line."""
        self.f(size, bold)
        nl = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT} if w == 0 else {}
        self.cell(w, kw.pop("h", size * 0.5), self.t(text), **nl, **kw)

    def put(self, box: tuple, content: Cell, align: str = "L", size: float = 8, bold=False) -> None:
        """Draw one line of text (or base + raised exponent) fitted into box (x, y, w, h)."""
        x, y, w, h = box
        base, exp = (content, "") if isinstance(content, str) else content
        if exp and self.fam == "dejavu":
            base, exp = base + exp.translate(_SUP), ""
        base = self.t(base)
        self.f(size, bold)
        while size > 5 and self.get_string_width(base + exp) > w - 2:
            size -= 0.5
            self.f(size, bold)
        while len(base) > 3 and self.get_string_width(base) > w - 2:
            base = base[:-3] + ".."
        bw = self.get_string_width(base)
        self.f(size * 0.7, bold)
        ew = self.get_string_width(exp)
        tx = {"L": x + 1, "C": x + (w - bw - ew) / 2, "R": x + w - 1 - bw - ew}[align]
        baseline = y + h / 2 + size * 0.3528 * 0.35
        self.f(size, bold)
        self.text(tx, baseline, base)
        if exp:
            self.f(size * 0.7, bold)
            self.text(tx + bw, baseline - size * 0.3528 * 0.4, exp)

    def fmt_date(self, d: date | None) -> str:
        if d is None:
            return _DASH
        if self.cs:
            return f"{d.day}.{d.month}.{d.year}"
        return d.isoformat() if self.us_iso and self.layout == "us_table" else f"{d:%m/%d/%Y}"

    def accreditation(self) -> str:
        tail = f", certificate {self.acc_id}" if self.acc_id else ""
        return f"Accredited to ISO/IEC 17025:2017 by {self.body}{tail}" if self.body else ""

    # -- page furniture ----------------------------------------------------------------------
    def header(self) -> None:
        self.set_y(8)
        if self.layout == "us_compact":
            self.set_fill_color(22, 78, 99)
            self.rect(10, 8, 190, 12, style="F")
            self.set_text_color(255, 255, 255)
            self.put((12, 8, 130, 12), self.lab_name, size=14, bold=True)
            self.put((130, 8, 68, 12), f"Report # {self.rn}", "R", size=9, bold=True)
            self.set_text_color(0, 0, 0)
            self.set_y(21)
            self.line_(f"{self.address}  |  Tel. {self.phone}", 8)
            self.line_(self.accreditation(), 7.5)
        elif self.cs:
            self.line_(self.lab_name, 13, True, w=130, h=6)
            self.line_(f"Protokol č. {self.rn}", 9, True, align="R", h=6)
            self.line_(f"{self.address}, tel. {self.phone}", 8)
            if self.body:
                no = f" č. {self.acc_id}" if self.acc_id else ""
                self.line_(
                    f"Zkušební laboratoř{no} akreditovaná {self.body} dle ČSN EN ISO/IEC 17025"
                )
            self.line_(self.accreditation(), 7)
        else:
            self.line_(self.lab_name, 15, True, w=125, h=7)
            self.line_("CERTIFICATE OF ANALYSIS", 12, True, align="R", h=7)
            self.line_(self.address, 8, w=125, h=4)
            self.line_(f"Report No.: {self.rn}", 8, True, align="R", h=4)
            self.line_(f"Tel. {self.phone}", 8)
            self.line_(self.accreditation(), 8)
        y = self.get_y() + 1.5
        self.set_draw_color(80, 80, 80)
        self.line(10, y, 200, y)
        if self.cs:
            self.line(10, y + 0.8, 200, y + 0.8)
        self.set_y(y + 3)

    def footer(self) -> None:
        self.set_y(-16)
        self.line(10, self.get_y(), 200, self.get_y())
        self.ln(1)
        n, page = self.page_no(), f"Page {self.page_no()} of {{nb}}"
        if self.cs:
            self.line_(
                "Výsledky se vztahují pouze ke zkoušenému vzorku. Protokol smí být "
                "reprodukován jen celý.",
                7,
            )
            page = f"Strana {n} z {{nb}} / {page}"
        self.line_("Results relate only to the sample tested.", 7, w=120, h=3.5)
        self.line_(page, 7, align="R", h=3.5)

    # -- identification block ----------------------------------------------------------------
    def pairs(self, x: float, y: float, labels: tuple, values: tuple, lw: float, vw: float) -> None:
        for label, value in zip(labels, values, strict=True):
            if value:
                self.put((x, y, lw, 4.6), label + ":", bold=True)
                self.put((x + lw, y, vw, 4.6), value)
                y += 4.6
        self.set_y(max(self.get_y(), y))

    def ident(self) -> None:
        d, y, prod = self.dates, self.get_y(), str(self.doc.get("product", ""))
        kind = "extract" if "extract" in prod else "capsule" if "capsule" in prod else "powder"
        date_of = {k: self.fmt_date(v) if v else "" for k, v in d.items()}
        if self.cs:
            matrix = {"extract": "extrakt", "capsule": "kapsle"}.get(kind, "sušený list – prášek")
            self.set_y(y + 1)
            self.line_(f"PROTOKOL O ZKOUŠCE č. {self.rn}", 13, True, align="C", h=7)
            tested = date_of["tested"]
            if d["tested"] and d["issued"] and (d["issued"] - d["tested"]).days >= 2:
                tested += f" {_DASH} {self.fmt_date(d['issued'] - timedelta(days=1))}"
            labels = ("Zákazník", "Vzorek", "Šarže", "Matrice", "Číslo vzorku", "Datum odběru")
            labels += ("Datum přijetí", "Datum zkoušení", "Datum vystavení")
            values = (self.client, self.product, self.lots, matrix, self.sample_id)
            values += (date_of["sampled"], date_of["tested"], tested, date_of["issued"])
            self.pairs(12, self.get_y() + 1, labels, values, 36, 150)
            self.ln(1)
            self.line_("Odběr vzorku: zajistil zákazník; laboratoř neodpovídá za odběr.", 7)
            self.ln(2)
        elif self.layout == "us_compact":
            self.line_("Certificate of Analysis", 12, True, h=7)
            y = self.get_y()
            self.set_fill_color(232, 232, 232)
            self.rect(10, y, 40, 30, style="DF")
            self.line(10, y, 50, y + 30)
            self.line(50, y, 10, y + 30)
            self.put((10, y + 24, 40, 6), "SAMPLE PHOTO", "C", size=6.5, bold=True)
            labels = ("Client", "Product", "Lot", "Sample ID", "Tested", "Reported")
            values = (self.client, self.product, self.lots, self.sample_id, date_of["tested"])
            self.pairs(54, y, labels, (*values, date_of["issued"]), 20, 84)
            color = (30, 130, 60) if self.verdict == "PASS" else (190, 30, 30)
            self.set_draw_color(*color)
            self.set_line_width(0.8)
            self.rect(162, y, 38, 30)
            self.set_line_width(0.2)
            self.set_text_color(*color)
            self.put((162, y + 3, 38, 6), "SUMMARY", "C", size=8, bold=True)
            self.put((162, y + 11, 38, 14), self.verdict, "C", size=22, bold=True)
            self.set_text_color(0, 0, 0)
            self.set_draw_color(80, 80, 80)
            self.set_y(y + 33)
        else:
            matrix = {"extract": "Extract", "capsule": "Capsules"}.get(kind, "Plant material")
            self.rect(10, y, 190, 5 * 4.6 + 2)
            labels = ("Client", "Product", "Lot / Batch", "Matrix", "Sample ID")
            values = (self.client, self.product, self.lots, matrix, self.sample_id)
            self.pairs(12, y + 1, labels, values, 24, 72)
            labels = ("Date Sampled", "Date Tested", "Date Reported", "Report No.", "Overall")
            values = (date_of["sampled"], date_of["tested"], date_of["issued"], self.rn)
            self.pairs(108, y + 1, labels, (*values, self.verdict), 26, 64)
            self.set_y(y + 5 * 4.6 + 5)

    # -- result cells ------------------------------------------------------------------------
    def num(self, text: str, unit: str, prefix: str = "") -> Cell:
        """A number as printed: as given in English layouts, decimal comma / 9,6·10⁴ in Czech."""
        if not self.cs:
            return prefix + text
        d = _dec(text)
        if unit.lower() in ("cfu/g", "mpn/g") and d is not None and d >= 100:
            base, exp = _sci(d)
            return (prefix + base, exp)
        return prefix + text.replace(".", ",")

    def c_name(self, r: _Res) -> Cell:
        return analyte_name(r.code, self.lang)

    def c_value(self, r: _Res) -> Cell:
        if r.kind in ("num", "<"):
            return self.num(r.text, r.unit, "<" if r.kind == "<" else "")
        if r.kind in ("ND", "<LOQ"):
            if self.cs:
                return self.num(r.loq, r.unit, "<") if r.loq else "n. d."
            return r.kind
        word = {"absent": ("Absent", "negativní"), "present": ("Present", "pozitivní")}
        if r.kind not in word:
            return r.text
        return word[r.kind][self.cs] + (f" {'v' if self.cs else 'in'} {r.basis}" if r.basis else "")

    def c_unit(self, r: _Res) -> Cell:
        cz = _UNITS.get(r.unit.lower(), ("", "", r.unit))[2]
        return cz if self.cs else r.unit

    def c_loq(self, r: _Res) -> Cell:
        return self.num(r.loq, r.unit) if r.loq else _DASH

    def c_limit(self, r: _Res) -> Cell:
        lim = r.limit
        if lim is None:
            return _DASH
        if lim[0] == "absent":
            return "negativní" if self.cs else "Absent"
        lv, one = _norm(*lim), _norm("1", r.unit)
        if lv is None or one is None or lv[1] != one[1]:
            return f"{self.num(lim[0], '')} {lim[1]}"
        same = one[0] == Decimal(_UNITS[lim[1].lower()][1])
        return self.num(lim[0] if same else format((lv[0] / one[0]).normalize(), "f"), r.unit)

    def c_unc(self, r: _Res) -> Cell:
        d = _dec(r.text)
        if r.kind != "num" or d is None or d <= 0:
            return _DASH
        step = Decimal(1).scaleb(min(int(d.as_tuple().exponent), 0))
        u = max((d * Decimal(self.rng.randint(8, 25)) / 100).quantize(step), step)
        return self.num(str(u), r.unit)

    def c_method(self, r: _Res) -> Cell:
        if self.cs:
            return _CS_METHODS.get(r.code, _PANELS[r.panel][3])
        if r.panel == "mic" and r.kind in ("absent", "present"):
            return "qPCR (SOP-MB-07)"
        return _PANELS[r.panel][2]

    def c_status(self, r: _Res) -> Cell:
        return {"pass": ("Pass", "V"), "fail": ("Fail", "N"), None: (_DASH, "X")}[r.status][self.cs]

    # -- result tables -----------------------------------------------------------------------
    def table(self, title: str, rs: list[_Res]) -> None:
        cols = [c.split(":") for c in _COLUMNS[self.layout].split(" ")]
        units = Counter(r.unit for r in rs if r.unit)
        main = units.most_common(1)[0][0] if units else ""
        rows = []
        for r in rs:
            row = [getattr(self, "c_" + c[3])(r) for c in cols]
            if self.layout == "us_compact" and r.unit not in ("", main):
                row[2] = f"{row[2]} {r.unit}"  # unit differs from the one in the header
            rows.append(row)
        if self.layout == "us_compact" and main:
            cols[2][0] = f"Result ({main})"
        h = 5.2
        if self.will_page_break(8 + 3 * h):
            self.add_page()
        self.section(title, cols, h)
        for i, row in enumerate(rows):
            if self.will_page_break(h):
                self.add_page()
                self.section(title + (" (pokračování)" if self.cs else " (continued)"), cols, h)
            x, y = 10.0, self.get_y()
            if i % 2 and self.layout == "us_table":
                self.set_fill_color(244, 246, 248)
                self.rect(10, y, 190, h, style="F")
            for (_, w, align, field), content in zip(cols, row, strict=True):
                if self.layout != "us_compact":
                    self.rect(x, y, float(w), h)
                fail = field == "status" and content in ("Fail", "N")
                self.set_text_color(*((190, 30, 30) if fail else (0, 0, 0)))
                self.put((x, y, float(w), h), content, align, bold=fail)
                x += float(w)
            self.set_text_color(0, 0, 0)
            if self.layout == "us_compact":
                self.line(10, y + h, 200, y + h)
            self.set_y(y + h)
        self.ln(3)

    def section(self, title: str, cols: list[list[str]], h: float) -> None:
        self.line_(title, 10, True, h=6)
        x, y, compact = 10.0, self.get_y(), self.layout == "us_compact"
        self.set_fill_color(*((22, 78, 99) if compact else (220, 224, 228)))
        self.set_text_color(*((255, 255, 255) if compact else (0, 0, 0)))
        for name, w, align, _ in cols:
            self.rect(x, y, float(w), h, style="F" if compact else "DF")
            self.put((x, y, float(w), h), name, align, bold=True)
            x += float(w)
        self.set_text_color(0, 0, 0)
        self.set_y(y + h)

    # -- notes and signature -----------------------------------------------------------------
    def closing(self) -> None:
        if self.cs:
            notes = (
                "Hodnocení: V – vyhovuje, N – nevyhovuje, X – nehodnoceno. Nejistota: "
                "rozšířená nejistota U (k = 2, přibližně 95 %). Znak < – výsledek pod mezí "
                "stanovitelnosti (LOQ). Hodnoceno podle specifikace zákazníka."
            )
            if self.rng.random() < 0.5:
                notes += " Mikrobiologické zkoušky provedla akreditovaná subdodavatelská laboratoř."
        elif self.layout == "us_compact":
            notes = (
                "Results are reported in the unit shown in the column header unless stated "
                "beside the value. ND = not detected. LOQ = limit of quantitation. Overall "
                f"status against client specification: {self.verdict}."
            )
        else:
            notes = (
                "ND = Not Detected. <LOQ or '<' = below the limit of quantitation (LOQ). "
                "Status is assessed against the client specification limit shown; "
                f"{_DASH} = no limit applies. Overall result: {self.verdict}."
            )
        self.f(7.5)
        self.multi_cell(0, 3.6, self.t(notes), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.will_page_break(34):
            self.add_page()
        y = self.get_y() + 6
        self.put((10, y, 40, 5), "Protokol schválil:" if self.cs else "Approved by:", bold=True)
        u = self.rng.uniform
        self.polyline([(52 + i * 5 + u(-1, 1), y + 3 + u(-3, 3)) for i in range(9)])
        self.line(50, y + 8, 120, y + 8)
        self.put((50, y + 9, 90, 5), self.signer[0], bold=True)
        self.put((50, y + 13.5, 90, 5), self.signer[1])
        label = "Datum vystavení" if self.cs else "Date"
        self.put((140, y + 9, 60, 5), f"{label}: {self.fmt_date(self.dates['issued'])}")
        self.set_y(y + 20)

    def build(self) -> bytes:
        issued = self.dates["issued"] or self.dates["tested"] or date(2000, 1, 1)
        self.set_creation_date(datetime.combine(issued, time(12, 0), tzinfo=UTC))
        self.set_title(f"Certificate of Analysis {self.rn}")
        self.set_author(self.lab_name)
        self.set_creator("registry.coa_pdf")
        self.set_lang(self.lang)
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, 20)
        self.set_line_width(0.2)
        self.add_page()
        self.ident()
        for key, names in _PANELS.items():
            rs = [r for r in self.results if r.panel == key]
            if rs:
                self.table(names[self.cs], rs)
        self.closing()
        return bytes(self.output())


def render_coa_pdf(
    doc: dict,
    *,
    layout: str = "us_table",
    lab_address: str = "",
    client_name: str = "",
    product_name: str = "",
    seed: int = 0,
    core_fonts: bool | None = None,
) -> bytes:
    """Render a ``coa/1`` document as a PDF certificate in one of :data:`LAYOUTS`.

    ``client_name``/``product_name`` default to the title-cased vendor/product slugs and
    ``lab_address`` to a made-up address chosen by ``seed``. ``core_fonts=True`` forces the
    Latin-1 core-font fallback (default: :data:`FORCE_CORE_FONTS`, else DejaVu when available).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    opts = {"lab_address": lab_address, "client_name": client_name, "product_name": product_name}
    core = FORCE_CORE_FONTS if core_fonts is None else core_fonts
    return _CoaPdf(doc, layout, opts, seed, core).build()
