"""Read a lab's certificate of analysis (PDF or image) into a ``coa/1`` document.

Approach
    1. **Words with positions.** A PDF's text layer is read character by
       character with pypdfium2 and grouped into words by whitespace and
       horizontal gaps. Images, and PDFs without a usable text layer, are
       deskewed and read by tesseract (``image_to_data``), which also gives
       words with boxes and a confidence. Everything after this step is the
       same for both.
    2. **Lines and cells.** Words are grouped into lines by vertical overlap
       (a raised exponent stays in its line), letter-spaced runs
       ("C E R T I F I C A T E") are joined again, and a line is cut into
       cells where the gap between words is wider than about one letter height.
    3. **Tables.** A line whose cells name at least an analyte column and a
       result column ("Analyte", "Ukazatel", "Result (ppm)", "Výsledek", plus
       unit, uncertainty, method, LOQ, limit and verdict columns in any order)
       is a table header. Every following cell is given to the header column
       it overlaps most, so column order does not matter; a unit in a column
       header ("Result [mg/kg]") applies to cells without one. The header is
       carried over to the next page when a table continues without one.
    4. **Rows.** The analyte cell is resolved to a catalogue code by the
       caller's ``resolve`` (after small repairs: dropped ligatures as in
       "Total a atoxins", wrapped names, footnote marks); the result cell is
       read by :func:`registry.units.parse_result`. Two repairs are specific
       to extraction and lower the confidence: a count whose superscript
       exponent was lost ("9,6.104" = 9.6 × 10⁴, only for CFU/MPN units) and a
       count with a thousands comma in a decimal-point document ("2,400").
    5. **Header fields.** Lab (largest print at the top of page 1, plus the
       accreditation statement), report number, lots and dates come from
       labelled fields in English or Czech; day-first or month-first dates
       follow the document's language.

Never silently wrong: a row whose analyte is unknown, or whose number has no
unit, or that cannot be read, is left out with a warning; every result carries
a ``confidence`` (0-1) and the ``snippet`` of text it came from, and anything
repaired, guessed or read by OCR gets a lower confidence.
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .units import Parsed, UnitError, parse_decimal, parse_result, parse_unit

__all__ = ["OCR_MISSING", "extract", "extract_text_pdf", "ocr_available"]

Resolve = Callable[[str], str | None]

OCR_DPI = 300
OCR_CONFIG = "--psm 11"  # sparse text: every word with its box; lines are rebuilt here
MAX_PAGES = 30


# --------------------------------------------------------------------------- words and lines


@dataclass
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    conf: float = 100.0  # tesseract's word confidence; 100 for a text layer

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Line:
    words: list[Word]
    page: int
    cells: list[list[Word]] = field(default_factory=list)
    footer: bool = False  # in the bottom tenth of its page

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.height for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def cell_texts(self) -> list[str]:
        return [" ".join(w.text for w in cell) for cell in self.cells]


@dataclass
class Page:
    words: list[Word]
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


def _lines(page: Page, number: int) -> list[Line]:
    """Group a page's words into lines by vertical overlap, then into cells."""
    lines: list[Line] = []
    for word in sorted(page.words, key=lambda w: (w.top + w.bottom) / 2):
        for line in reversed(lines[-4:]):
            core_top = statistics.median(w.top for w in line.words)
            core_bottom = statistics.median(w.bottom for w in line.words)
            overlap = min(core_bottom, word.bottom) - max(core_top, word.top)
            if overlap >= 0.5 * min(core_bottom - core_top, word.height):
                line.words.append(word)
                break
        else:
            lines.append(Line([word], number))
    for line in lines:
        line.footer = line.top > 0.9 * page.height
        line.words.sort(key=lambda w: w.x0)
        line.words = _join_letter_spaced(line.words)
        line.cells = _cells(line.words)
    lines.sort(key=lambda ln: ln.top)
    return lines


def _join_letter_spaced(words: list[Word]) -> list[Word]:
    """'C E R T I F I C A T E  O F' -> 'CERTIFICATE', 'OF' (runs of >= 3 single letters)."""
    out: list[Word] = []
    i = 0
    while i < len(words):
        j = i
        while (
            j + 1 < len(words)
            and len(words[j].text) == 1
            and len(words[j + 1].text) == 1
            and words[j + 1].x0 - words[j].x1 < 1.1 * max(words[j].height, 1e-6)
        ):
            j += 1
        if j - i >= 2 and sum(w.text.isalpha() for w in words[i : j + 1]) >= 3:
            run = words[i : j + 1]
            gaps = [b.x0 - a.x1 for a, b in zip(run, run[1:], strict=False)]
            usual = statistics.median(gaps)
            group = [run[0]]
            for gap, word in zip(gaps, run[1:], strict=True):
                if gap > 1.6 * usual + 0.05 * word.height:
                    out.append(_merge(group))
                    group = []
                group.append(word)
            out.append(_merge(group))
            i = j + 1
        else:
            out.append(words[i])
            i += 1
    return out


def _merge(words: list[Word]) -> Word:
    return Word(
        "".join(w.text for w in words),
        min(w.x0 for w in words),
        min(w.top for w in words),
        max(w.x1 for w in words),
        max(w.bottom for w in words),
        min(w.conf for w in words),
    )


def _cells(words: list[Word]) -> list[list[Word]]:
    """Split a line where the gap is wider than about one letter height."""
    cells: list[list[Word]] = []
    for word in words:
        if cells:
            last = cells[-1][-1]
            if word.x0 - last.x1 <= 0.9 * max(last.height, word.height):
                cells[-1].append(word)
                continue
        cells.append([word])
    return cells


# --------------------------------------------------------------------------- PDF text layer


def _open_pdf(data: bytes):
    import pypdfium2

    return pypdfium2.PdfDocument(data)


def _pdf_pages(data: bytes) -> list[Page]:
    """Words of each page of a PDF's text layer, top-down coordinates in points."""
    import pypdfium2.raw as pdfium_c

    pdf = _open_pdf(data)
    pages = []
    try:
        for index in range(min(len(pdf), MAX_PAGES)):
            page = pdf[index]
            textpage = page.get_textpage()
            try:
                width, height = page.get_size()
                words: list[Word] = []
                chars: list[tuple[str, tuple, tuple]] = []

                def flush(chars=chars, words=words, height=height):
                    if chars:
                        text = "".join(c for c, _, _ in chars).translate(_LIGATURE_CHARS)
                        x0 = min(loose[0] for _, _, loose in chars)
                        x1 = max(loose[2] for _, _, loose in chars)
                        top = height - max(loose[3] for _, _, loose in chars)
                        bottom = height - min(loose[1] for _, _, loose in chars)
                        words.append(Word(text, x0, top, x1, bottom))
                        chars.clear()

                for i in range(textpage.count_chars()):
                    char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i))
                    if not char.strip() or not char.isprintable():
                        flush()
                        continue
                    loose = textpage.get_charbox(i, loose=True)
                    if chars:
                        prev_loose = chars[-1][2]
                        size = prev_loose[3] - prev_loose[1]
                        gap = loose[0] - prev_loose[2]  # loose boxes span the advance
                        far = abs(loose[1] - prev_loose[1]) > size
                        if gap > 0.15 * size or gap < -size or far:
                            flush()
                    chars.append((char, loose, loose))
                flush()
                pages.append(Page(words, width, height))
            finally:
                textpage.close()
                page.close()
    finally:
        pdf.close()
    return pages


def extract_text_pdf(data: bytes) -> list[str]:
    """The text layer of each page, one line per printed line (empty for scans)."""
    out = []
    for number, page in enumerate(_pdf_pages(data)):
        out.append("\n".join(line.text for line in _lines(page, number)))
    return out


# --------------------------------------------------------------------------- OCR


def ocr_available() -> bool:
    """True when tesseract and pytesseract can both be used."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return True


def _ocr_languages() -> str:
    import pytesseract

    try:
        available = set(pytesseract.get_languages(config=""))
    except Exception:  # noqa: BLE001 - a broken install reads English only
        available = set()
    return "+".join(lang for lang in ("eng", "ces") if lang in available) or "eng"


def _deskew(image):
    """Straighten a slightly rotated scan (up to 3 degrees), found by the angle
    whose horizontal projection has the sharpest text lines."""
    from PIL import Image, ImageOps

    small = ImageOps.invert(image.convert("L"))
    scale = 1000 / max(small.size)
    small = small.resize((int(small.width * scale), int(small.height * scale)))

    def sharpness(angle: float) -> float:
        rows = small.rotate(angle, resample=Image.Resampling.BILINEAR).resize(
            (1, small.height), Image.Resampling.BOX
        )
        values = rows.tobytes()
        return sum((b - a) ** 2 for a, b in zip(values, values[1:], strict=False))

    best = max((a / 10 for a in range(-30, 31, 2)), key=sharpness)
    best = max((best + a / 20 for a in range(-2, 3)), key=sharpness)
    if abs(best) < 0.05:
        return image
    return image.rotate(best, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False)


def _otsu(image) -> int:
    """The grey level that best splits ink from paper (Otsu's method)."""
    histogram = image.histogram()
    total = sum(histogram)
    weighted_total = sum(i * n for i, n in enumerate(histogram))
    best, threshold, below, weighted_below = 0.0, 128, 0, 0
    for level, count in enumerate(histogram):
        below += count
        weighted_below += level * count
        if below in (0, total):
            continue
        mean_below = weighted_below / below
        mean_above = (weighted_total - weighted_below) / (total - below)
        spread = below * (total - below) * (mean_below - mean_above) ** 2
        if spread > best:
            best, threshold = spread, level
    return threshold


def _runs(values: bytes, minimum: int) -> list[tuple[int, int]]:
    """(start, end) of every run of at least ``minimum`` fully inked entries."""
    runs, start = [], None
    for i, value in enumerate([*values, 0]):
        if value >= 200 and start is None:
            start = i
        elif value < 200 and start is not None:
            if i - start >= minimum:
                runs.append((start, i))
            start = None
    return runs


def _clean_scan(image):
    """Binarise, turn dark header bands into black on white and erase table rules,
    which tesseract otherwise reads as letters or lets break up lines. A rule is
    a long unbroken run of ink: averaged over blocks of 16 pixels it stays black."""
    from PIL import Image, ImageDraw, ImageOps

    threshold = _otsu(image)
    ink = image.point(lambda v: 255 if v <= threshold else 0)
    width, height = ink.size
    draw = ImageDraw.Draw(ink)
    block = 16
    across = max(width // block, 1)
    rows = ink.resize((across, height), Image.Resampling.BOX).tobytes()
    ruled: dict[int, tuple[int, int]] = {}
    for y in range(height):
        runs = _runs(rows[y * across : (y + 1) * across], minimum=12)
        if runs:
            ruled[y] = (runs[0][0] * block, runs[-1][1] * block)
    y = 0
    while y < height:
        if y not in ruled:
            y += 1
            continue
        end = y
        while end + 1 in ruled:
            end += 1
        x0 = min(ruled[i][0] for i in range(y, end + 1))
        x1 = max(ruled[i][1] for i in range(y, end + 1))
        if end - y > height / 250:  # a filled band (light text on dark): invert it
            ink.paste(ImageOps.invert(ink.crop((x0, y, x1, end + 1))), (x0, y))
            draw.rectangle((x0 - block, y - 2, x1 + block, y + 3), fill=0)
            draw.rectangle((x0 - block, end - 3, x1 + block, end + 2), fill=0)
        else:
            draw.rectangle((x0 - block, y - 2, x1 + block, end + 2), fill=0)
        y = end + 1
    block = 8
    down = max(height // block, 1)
    columns = ink.resize((width, down), Image.Resampling.BOX).tobytes()
    marks: dict[tuple[int, int], list[int]] = {}
    for x in range(width):
        for start, stop in _runs(columns[x::width], minimum=5):
            marks.setdefault((start, stop), []).append(x)
    for (start, stop), xs in marks.items():
        group = [xs[0]]
        for x in [*xs[1:], None]:
            if x is not None and x == group[-1] + 1:
                group.append(x)
                continue
            if len(group) <= width / 400:  # thin: a rule, not a letter
                box = (group[0] - 2, start * block - 2, group[-1] + 2, stop * block + 2)
                draw.rectangle(box, fill=0)
            if x is not None:
                group = [x]
    return ImageOps.invert(ink)


_OCR_NOISE = re.compile(r"^[\W_]{1,2}$")
_OCR_EDGES = "\"'‘’„“”|!`"


def _ocr_page(image) -> Page:
    import pytesseract
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image).convert("L")
    dpi = image.info.get("dpi", (0, 0))[0] or image.width / 8.27
    if dpi < 280:
        factor = OCR_DPI / max(dpi, 72)
        size = (int(image.width * factor), int(image.height * factor))
        image = image.resize(size, Image.Resampling.LANCZOS)
    image = _clean_scan(_deskew(image))
    data = pytesseract.image_to_data(
        image, lang=_ocr_languages(), config=OCR_CONFIG, output_type=pytesseract.Output.DICT
    )
    words = []
    for i, text in enumerate(data["text"]):
        text = text.strip().strip(_OCR_EDGES)
        if not text or (_OCR_NOISE.match(text) and text not in ("%", "<", "-", "–", "±", "/", "&")):
            continue
        left, top = data["left"][i], data["top"][i]
        words.append(
            Word(
                text,
                left,
                top,
                left + data["width"][i],
                top + data["height"][i],
                float(data["conf"][i]),
            )
        )
    return Page(words, image.width, image.height)


def _ocr_pdf(data: bytes) -> list[Page]:
    pdf = _open_pdf(data)
    pages = []
    try:
        for index in range(min(len(pdf), MAX_PAGES)):
            page = pdf[index]
            bitmap = page.render(scale=OCR_DPI / 72, grayscale=True)
            image = bitmap.to_pil()
            image.info["dpi"] = (OCR_DPI, OCR_DPI)
            pages.append(_ocr_page(image))
            bitmap.close()
            page.close()
    finally:
        pdf.close()
    return pages


def _ocr_image(data: bytes) -> list[Page]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return [_ocr_page(image)]


# --------------------------------------------------------------------------- text helpers


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for matching labels and headings."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))
_LIGATURE_CHARS = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl"})
_EMPTY_CELLS = {"", "-", "--", "---", "n/a", "na", "n.a.", "x", "/", "*", "—"}


def _clean(text: str) -> str:
    """Dashes, ligatures and spacing made plain (superscripts are kept for units.py)."""
    text = text.translate(_DASHES).translate(_LIGATURE_CHARS).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- table headers

# role -> phrases (folded) that name such a column; longest phrases are tried first.
_HEADER_WORDS = {
    "analyte": [
        "analyte", "analytes", "analyt", "parameter", "parameters", "parametr", "test",
        "tests", "compound", "ukazatel", "ukazatele", "zkouska", "stanoveni", "determinand",
        "component", "test name", "analysis",
    ],
    "result": [
        "result", "results", "vysledek", "vysledky", "hodnota", "value", "found", "amount",
        "concentration", "content", "obsah", "namerena hodnota", "vysledek zkousky",
    ],
    "unit": ["unit", "units", "jednotka", "jednotky", "uom"],
    "unc": [
        "uncertainty", "nejistota", "u", "mu", "+/-", "±", "± u", "+/- u",
        "expanded uncertainty",
    ],
    "method": ["method", "methods", "metoda", "technique", "test method", "sop", "metodika"],
    "loq": [
        "loq", "lod", "lloq", "mdl", "rl", "mql", "loq/lod", "lod/loq", "reporting limit",
        "mez stanovitelnosti", "limit of quantitation", "limit of quantification", "mez detekce",
    ],
    "limit": [
        "limit", "limits", "action level", "action limit", "spec", "specification",
        "specifikace", "limitni hodnota", "max", "maximum", "acceptance criteria", "pozadavek",
        "norma", "max. limit", "specification limit", "criteria",
    ],
    "verdict": [
        "status", "verdict", "pass/fail", "hodnoceni", "conformity", "evaluation",
        "assessment", "shoda", "p/f", "compliance", "pass / fail",
    ],
}  # fmt: skip
_PHRASES = sorted(
    ((tuple(p.split()), role) for role, ps in _HEADER_WORDS.items() for p in ps),
    key=lambda item: -len(item[0]),
)


@dataclass
class Column:
    role: str | None
    x0: float
    x1: float
    text: str
    unit: str | None = None


def _strip_word(text: str) -> str:
    return _fold(text).strip(":.,;()[]")


def _phrase_matches(words: list[str], phrase: tuple[str, ...]) -> bool:
    """Header words as printed, or as OCR slips them: a stray leading mark
    ('JAnalyte'), 'LO0' or 'LOa' for LOQ."""
    if len(words) != len(phrase):
        return False
    for word, expected in zip(words, phrase, strict=True):
        if word == expected:
            continue
        if len(expected) >= 5 and len(word) == len(expected) + 1 and word[1:] == expected:
            continue
        if expected == "loq" and re.fullmatch(r"l[o0]{1,2}[qa0]", word):
            continue
        return False
    return True


def _header(line: Line) -> list[Column] | None:
    """The table columns named by ``line``, or None when it is not a table header."""
    columns: list[Column] = []
    for cell in line.cells:
        current: Column | None = None
        i = 0
        while i < len(cell):
            for phrase, role in _PHRASES:
                n = len(phrase)
                if _phrase_matches([_strip_word(w.text) for w in cell[i : i + n]], phrase):
                    current = Column(role, cell[i].x0, cell[i + n - 1].x1, "")
                    current.text = " ".join(w.text for w in cell[i : i + n])
                    columns.append(current)
                    i += n
                    break
            else:
                if current is None:
                    current = Column(None, cell[i].x0, cell[i].x1, "")
                    columns.append(current)
                current.text = (current.text + " " + cell[i].text).strip()
                current.x1 = cell[i].x1
                i += 1
    roles = [c.role for c in columns if c.role]
    if "result" not in roles or "analyte" not in roles or len(roles) != len(set(roles)):
        return None
    if sum(c.role is None for c in columns) > len(roles):
        return None
    for column in columns:
        column.unit = _header_unit(column.text)
    merged: list[Column] = []
    for column in columns:
        # 'Result [% w/w]' read as 'Result' + 'w/w]': the unit became a column of its own
        left = merged[-1] if merged else None
        unit = _header_unit("x " + column.text) if column.role is None else None
        if left is not None and left.role and not left.unit and unit:
            left.unit, left.x1, left.text = unit, column.x1, f"{left.text} {column.text}"
            continue
        merged.append(column)
    return merged


_BRACKETED = re.compile(r"[\(\[]([^\)\]]+)[\)\]]")


def _header_unit(text: str) -> str | None:
    candidates = _BRACKETED.findall(text)
    words = text.split()
    candidates += [" ".join(words[i:]) for i in range(1, len(words))]
    for candidate in candidates:
        candidate = candidate.strip(" ,:[]()")
        if candidate in ("w/w", "m/m"):  # '[% w/w]' with the '%' lost
            return "%"
        try:
            return _unit_code(candidate, ocr=True)
        except UnitError:
            continue
    return None


def _header_units_line(line: Line, columns: list[Column]) -> bool:
    """A second header line holding only units ('[mg/kg]'); adds them to the columns."""
    units = []
    for cell in line.cells:
        text = " ".join(w.text for w in cell).strip()
        try:
            unit = parse_unit(text.strip("()[] ")).code
        except UnitError:
            return False
        units.append((cell, unit))
    for cell, unit in units:
        column = _column_for(cell, columns)
        if column is not None and column.unit is None:
            column.unit = unit
    return bool(units)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _column_for(words: list[Word], columns: list[Column]) -> Column | None:
    x0, x1 = min(w.x0 for w in words), max(w.x1 for w in words)
    best = max(columns, key=lambda c: _overlap(x0, x1, c.x0, c.x1))
    if _overlap(x0, x1, best.x0, best.x1) > 0:
        return best
    return min(columns, key=lambda c: -_overlap(x0, x1, c.x0, c.x1))


def _row_cells(line: Line, columns: list[Column]) -> dict[str, str]:
    """Texts of one table line by column role."""
    out: dict[str, list[str]] = {}
    for cell in line.cells:
        groups: list[tuple[Column | None, list[Word]]] = []
        for word in cell:
            column = _column_for([word], columns)
            if len(cell) > 1 and _overlap(word.x0, word.x1, column.x0, column.x1) <= 0:
                column = None  # no own column: follows its cell
            groups.append((column, [word]))
        whole = _column_for(cell, columns)
        split = {id(c) for c, _ in groups if c is not None}
        if len(split) <= 1:
            groups = [(whole, cell)]
        else:
            merged: list[tuple[Column | None, list[Word]]] = []
            for column, words in groups:
                if merged and (column is None or column is merged[-1][0]):
                    merged[-1][1].extend(words)
                else:
                    merged.append((column, list(words)))
            groups = merged
        for column, words in groups:
            if column is not None and column.role:
                out.setdefault(column.role, []).append(" ".join(w.text for w in words))
    return {role: " ".join(texts) for role, texts in out.items()}


# --------------------------------------------------------------------------- analytes


_FOOTNOTE = re.compile(r"(?:\s*(?:[*†‡¹²³⁴⁵⁶⁷⁸⁹]|\([a-z1-9]\)|\^\w))+$")
_LIGATURES = ("fi", "fl", "ff", "ffi", "ffl")


def _resolve(name: str, resolve: Resolve) -> tuple[str | None, float]:
    """(code, confidence factor) for an analyte cell; None when nothing matches."""
    name = _clean(name)
    if not name or not re.search(r"[^\W\d_]", name):
        return None, 0.0
    code = resolve(name)
    if code:
        return code, 1.0
    stripped = _FOOTNOTE.sub("", name).strip()
    if stripped != name and (code := resolve(stripped)):
        return code, 0.95
    if len(name) <= 40:
        # A ligature lost from the text layer leaves a space or nothing: 'a atoxins'.
        for match in re.finditer(r"(?<=[a-z]) ?(?=[a-z])", stripped, flags=re.I):
            for ligature in _LIGATURES:
                candidate = stripped[: match.start()] + ligature + stripped[match.end() :]
                if code := resolve(candidate):
                    return code, 0.85
    return None, 0.0


# --------------------------------------------------------------------------- result cells


_COUNT_UNITS = {"CFU/g", "MPN/g"}
_LOST_EXPONENT = re.compile(
    r"^(?P<lt><\s*)?(?P<mant>\d(?:[.,]\d{1,2})?)\s*[·.,×x*-]\s*10(?P<exp>\d)$"
)
_THOUSANDS = re.compile(r"^(?P<lt><\s*)?\d{1,3}(?:,\d{3})+$")
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})


@dataclass
class Reading:
    parsed: Parsed
    unit: str | None
    confidence: float
    note: str = ""


def _unit_code(text: str, *, ocr: bool) -> str | None:
    text = _clean(text).strip("()[] ")
    if _fold(text) in _EMPTY_CELLS:
        return None
    candidates = [text]
    if ocr:  # tesseract reads 'µg/kg' as 'pg/kg', 'ng/kg', 'yg/kg' ...
        candidates += [re.sub(r"^(?:pg|ng|ug|yg|jig|Hg|µq)/", "µg/", text)]
    for candidate in candidates:
        try:
            return parse_unit(candidate).code
        except UnitError:
            continue
    raise UnitError(f"Unknown unit '{text}'")


def _read_result(
    text: str, unit_text: str, header_unit: str | None, *, comma_decimals: bool, ocr: bool
) -> Reading | None:
    """Read a result cell with its unit column / header unit; None for an empty cell."""
    text = _clean(text)
    if not re.search(r"10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+$", text):  # a power of ten, not a footnote mark
        text = _FOOTNOTE.sub("", text).strip()
    if ocr:
        text = text.rstrip(",;:")
    if _fold(text) in _EMPTY_CELLS or _fold(text) in ("not tested", "nt", "n.t.", "neprovedeno"):
        return None
    confidence = 1.0
    try:
        column_unit = _unit_code(unit_text, ocr=ocr) if unit_text else None
    except UnitError:
        column_unit, confidence = None, 0.5
    unit = column_unit or header_unit
    attempts: list[tuple[str, float, str]] = [(text, 1.0, "")]
    if ocr and re.fullmatch(r"<?\s*[\dOolIS|.,]+", text) and re.search(r"\d", text):
        fixed = text.translate(_OCR_DIGITS)
        if fixed != text:
            attempts.append((fixed, 0.7, "OCR letters read as digits"))
    for attempt, factor, note in attempts:
        try:
            parsed = parse_result(attempt, unit=unit)
        except UnitError:
            parsed = None
        repaired = _repair_count(attempt, unit, comma_decimals=comma_decimals)
        if repaired is not None:
            parsed, factor, note = repaired[0], min(factor, repaired[1]), repaired[2]
        if parsed is None:
            continue
        if _implausible_count(parsed):
            factor, note = min(factor, 0.5), f"a colony count with decimals: '{attempt}'"
        found = parsed.unit.code if parsed.unit else None
        if column_unit and found and parse_unit(column_unit) != parsed.unit:
            factor = min(factor, 0.6)
            note = f"unit '{found}' in the cell differs from the unit column '{column_unit}'"
        return Reading(parsed, found, confidence * factor, note)
    raise UnitError(f"cannot read result '{text}'")


def _looks_like_result(text: str) -> bool:
    try:
        parse_result(_clean(text), unit="mg/kg")
    except UnitError:
        return False
    return True


def _implausible_count(parsed: Parsed) -> bool:
    """A colony count with decimals ('9,6.104' read as 9.6104) cannot be right."""
    number = parsed.value if parsed.value is not None else parsed.loq
    unit = parsed.unit.code if parsed.unit else None
    return unit in _COUNT_UNITS and number is not None and number != number.to_integral_value()


def _repair_count(
    text: str, unit: str | None, *, comma_decimals: bool
) -> tuple[Parsed, float, str] | None:
    """Counts as printed by labs but not by units.parse_decimal: a lost superscript
    exponent ('9,6.104' = 9.6×10⁴) or a thousands comma ('2,400' in an English report)."""
    number_text, _, unit_text = text.partition(" ")
    cell_unit = unit
    if unit_text:
        try:
            cell_unit = parse_unit(unit_text).code
        except UnitError:
            return None
    if cell_unit not in _COUNT_UNITS:
        return None
    if match := _LOST_EXPONENT.fullmatch(number_text):
        mantissa = parse_decimal(match["mant"])
        value = mantissa.scaleb(int(match["exp"]))
        value = Decimal(format(value, "f"))
        note = f"'{number_text}' read as {match['mant']}×10^{match['exp']} (superscript lost)"
        factor = 0.75
    elif _THOUSANDS.fullmatch(number_text) and not comma_decimals:
        value = Decimal(number_text.lstrip("< ").replace(",", ""))
        note, factor = f"'{number_text}' read with a thousands separator", 0.85
    else:
        return None
    unit_obj = parse_unit(cell_unit)
    if match and match["lt"] or number_text.startswith("<"):
        return Parsed(None, "<LOQ", value, unit_obj, "", text), factor, note
    return Parsed(value, "", None, unit_obj, "", text), factor, note


def _number(value: Decimal) -> str:
    return format(value, "f")


def _result_item(code: str, reading: Reading, loq_text: str, loq_unit: str | None) -> dict:
    parsed = reading.parsed
    item: dict = {"analyte": code}
    if parsed.qualifier in ("absent", "present"):
        item["qualifier"] = parsed.qualifier
        if parsed.basis:
            item["basis"] = parsed.basis
        return item
    if parsed.qualifier == "":
        item["value"] = _number(parsed.value)
    else:
        item["qualifier"] = parsed.qualifier
    loq = parsed.loq
    if loq is None and loq_text and parsed.qualifier in ("ND", "<LOQ"):
        try:
            loq_parsed = parse_result(_clean(loq_text), unit=loq_unit or reading.unit)
            same = loq_parsed.unit is None or reading.unit is None
            if loq_parsed.value is not None and (same or loq_parsed.unit.code == reading.unit):
                loq = loq_parsed.value
        except UnitError:
            pass
    if loq is not None:
        item["loq"] = _number(loq)
    if reading.unit:
        item["unit"] = reading.unit
    return item


# --------------------------------------------------------------------------- tables


@dataclass
class Candidate:
    item: dict
    confidence: float
    snippet: str
    page: int


def _is_paragraph(line: Line, columns: list[Column]) -> bool:
    width = max(c.x1 for c in columns) - min(c.x0 for c in columns)
    return len(line.cells) == 1 and (line.words[-1].x1 - line.words[0].x0) > 0.6 * width


def _comma_decimals(lines: list[Line]) -> bool:
    text = " ".join(line.text for line in lines)
    commas = len(re.findall(r"(?<![\d,.])\d+,\d{1,2}(?!\d)|\d+,\d{4,}", text))
    points = len(re.findall(r"(?<![\d,.])\d+\.\d{1,2}(?![\d.])|\d+\.\d{4,}", text))
    return commas > points


def _read_tables(
    lines: list[Line], resolve: Resolve, *, ocr: bool, warnings: list[str]
) -> tuple[list[Candidate], set[int]]:
    """Results from every table; also the ids of lines used by tables."""
    comma_decimals = _comma_decimals(lines)
    out: list[Candidate] = []
    used: set[int] = set()
    columns: list[Column] | None = None
    pending = ""  # analyte text of a row without a result: a wrapped name or a heading
    unknown: list[str] = []
    for line in lines:
        if header := _header(line):
            columns, pending = header, ""
            used.add(id(line))
            continue
        if columns is None or line.footer:
            continue  # a table goes on after a page footer, with or without a new header
        if _is_paragraph(line, columns):
            columns = None  # text below a table ends it
            continue
        if not pending and _header_units_line(line, columns):
            used.add(id(line))
            continue
        cells = _row_cells(line, columns)
        name, result = cells.get("analyte", ""), cells.get("result", "")
        if not result:
            pending = name if len(line.cells) <= 2 else ""
            continue
        used.add(id(line))
        code, name_factor = _resolve(name, resolve)
        if code is None and pending:
            code, name_factor = _resolve(f"{pending} {name}", resolve)
            name_factor *= 0.9
        pending = ""
        if code is None:
            if re.search(r"[^\W\d_]{3}", name) and _looks_like_result(result):
                unknown.append(_clean(name))
            continue
        candidate = _read_row(
            code, cells, line, columns, comma_decimals=comma_decimals, ocr=ocr, warnings=warnings
        )
        if candidate is not None:
            candidate.confidence = round(candidate.confidence * name_factor, 2)
            out.append(candidate)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        warnings.append(
            f"rows left out, analyte not in the catalogue: {', '.join(unknown[:5])}{more}"
        )
    return out, used


def _read_row(
    code: str,
    cells: dict[str, str],
    line: Line,
    columns: list[Column],
    *,
    comma_decimals: bool,
    ocr: bool,
    warnings: list[str],
) -> Candidate | None:
    """The result of one table row whose analyte is known; None (with a warning) when
    its value cannot be read or tied to a unit."""
    result, unit_text = cells["result"], cells.get("unit", "")
    header_units = {c.role: c.unit for c in columns if c.role}
    where = f"(page {line.page + 1})"
    try:
        reading = _read_result(
            result, unit_text, header_units["result"], comma_decimals=comma_decimals, ocr=ocr
        )
    except UnitError as error:
        warnings.append(f"{code}: {error} {where}")
        return None
    if reading is None:
        return None  # an empty cell, 'not tested'
    item = _result_item(code, reading, cells.get("loq", ""), header_units.get("loq"))
    if ("value" in item or "loq" in item) and "unit" not in item:
        warnings.append(f"{code}: no unit for '{_clean(result)}' {where}")
        return None
    shown_unit = "" if _fold(unit_text) in _EMPTY_CELLS else f" {unit_text}"
    item["raw"] = _clean(result + shown_unit)
    if reading.note:
        warnings.append(f"{code}: {reading.note} {where}")
    confidence = 0.97 * reading.confidence
    if ocr:  # never >= 0.9: a misread digit or decimal point still parses
        lowest = min((w.conf for w in line.words if w.conf >= 0), default=0)
        confidence *= 0.92 if lowest >= 80 else 0.75
    return Candidate(item, confidence, line.text, line.page)


_LOOSE_RESULT = re.compile(
    r"^(?P<name>.*?[^\W\d_].*?)\s*[:=]?\s+(?P<result>(?:<\s*)?\d[\d.,]*\s*\S+(?:\s*\S+)?)$"
)


def _read_loose(lines: list[Line], used: set[int], resolve: Resolve) -> list[Candidate]:
    """'Lead (Pb): 0.21 ppm' outside any table: kept with low confidence."""
    out = []
    for line in lines:
        if id(line) in used:
            continue
        match = _LOOSE_RESULT.match(_clean(line.text))
        if not match:
            continue
        code, factor = _resolve(match["name"], resolve)
        if code is None:
            continue
        try:
            parsed = parse_result(match["result"])
        except UnitError:
            continue
        if parsed.unit is None or parsed.qualifier in ("absent", "present"):
            continue
        item = _result_item(code, Reading(parsed, parsed.unit.code, 1.0), "", None)
        item["raw"] = match["result"]
        out.append(Candidate(item, round(0.6 * factor, 2), line.text, line.page))
    return out


# --------------------------------------------------------------------------- header fields


_MONTH_NAMES = (
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    # Czech genitive: '4. března 2026'
    ("ledna", "unora", "brezna", "dubna", "kvetna", "cervna")
    + ("cervence", "srpna", "zari", "rijna", "listopadu", "prosince"),
)
_MONTHS = {name: i for names in _MONTH_NAMES for i, name in enumerate(names, 1)}
_DATE_PATTERNS = [
    ("iso", re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")),
    ("dmy", re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)")),
    ("slash", re.compile(r"(?<!\d)(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?!\d)")),
    ("mdy_name", re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b", re.I)),
    ("dmy_name", re.compile(r"(?<!\d)(\d{1,2})\.?[\s-]+([^\W\d_]{3,9})\.?[\s-]+(\d{4})\b", re.I)),
]


def _parse_date(text: str, *, day_first: bool) -> tuple[date, float] | None:
    """The first date in ``text`` with a confidence; day-first for European documents."""
    found = []
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            a, b, c = match.groups()
            try:
                if kind == "iso":
                    value, conf = date(int(a), int(b), int(c)), 0.97
                elif kind == "dmy":
                    value, conf = date(int(c), int(b), int(a)), 0.95
                elif kind == "slash":
                    first, second = int(a), int(b)
                    if first > 12 or (day_first and second <= 12):
                        value = date(int(c), second, first)
                    else:
                        value = date(int(c), first, second)
                    conf = 0.95 if first > 12 or second > 12 else 0.8
                elif kind == "mdy_name":
                    month = _MONTHS.get(_fold(a)[:3]) or _MONTHS.get(_fold(a))
                    if month is None:
                        continue
                    value, conf = date(int(c), month, int(b)), 0.95
                else:
                    month = _MONTHS.get(_fold(b)) or _MONTHS.get(_fold(b)[:3])
                    if month is None:
                        continue
                    value, conf = date(int(c), month, int(a)), 0.95
            except ValueError:
                continue
            found.append((match.start(), value, conf))
    if not found:
        return None
    _, value, conf = min(found, key=lambda f: f[0])
    return value, conf


_DATE_LABELS = {
    "sampled_on": r"date sampled|sampled|sampling date|date of sampling|sample date|"
    r"collected|collection date|datum odberu|odber vzorku dne",
    "received": r"date received|received|receipt date|datum prijeti(?: vzorku)?|prijato",
    "tested_on": r"date tested|tested|analysis date|date of analysis|date analy[sz]ed|"
    r"analy[sz]ed|test date|testing date|dates? of testing|datum zkouseni|datum analyzy|"
    r"analyzovano",
    "issued_on": r"date reported|reported|report date|date of issue|issued|issue date|"
    r"date of report|datum vystaveni|datum vydani|vystaveno|datum protokolu",
}
_DATE_LABEL = re.compile(
    r"(?:^|\s)(?P<label>" + "|".join(f"(?P<{k}>{v})" for k, v in _DATE_LABELS.items()) + r")"
    r"\s*(?:on|dne)?\s*[:\-]?\s*(?P<rest>.*)$"
)

_REPORT_LABEL = re.compile(
    r"(?P<label>(?:test |analysis |analytical )?report\s*(?:no\.?|number|nr\.?|#|id)?|"
    r"certi\s?(?:fi)?\s?cate\s*(?:no\.?|number|#)|cert\.?\s*(?:no\.?|#)?|coa\s*(?:no\.?|#|number)|"
    r"protokol(?: o zkousce)?\s*(?:c\.|cislo)|cislo protokolu)\s*[:#]?\s*"
    r"(?P<value>[A-Z0-9][A-Z0-9\-/._]*)",
    re.I,
)
_LOT_LABEL = re.compile(
    r"(?:^|[\s,;(])(?P<label>lot\s*/\s*batch|batch\s*/\s*lot|sarze\s*/\s*lot|"
    r"lot(?:\s*(?:no\.?|number|code|#))?|batch(?:\s*(?:no\.?|number|code|#))?|"
    r"cislo sarze|sarze)\s*[:#]?\s+"
)
_LOT_CODE = re.compile(r"[A-Z0-9][A-Za-z0-9\-/._]*")

_ACCREDITATION_BODIES = [
    "A2LA", "PJLA", "ANAB", "IAS", "NVLAP", "UKAS", "DAkkS", "ČIA", "CIA", "COFRAC", "ENAC",
    "ACCREDIA", "SNAS", "PCA", "NATA", "SCC", "Akkreditierung Austria", "Perry Johnson",
    "SAS", "BELAC", "RvA", "DANAK", "SWEDAC", "FINAS",
]  # fmt: skip
_ACCREDITATION_ID = re.compile(
    r"(?:certificate|cert\.?|no\.?|number|č\.|c\.|#|lab(?:oratory)? code)\s*(?:no\.?|č\.)?\s*"
    r"(?P<id>[A-Z0-9]*\d[A-Z0-9.\-/]*)",
    re.I,
)
_LAB_WORDS = re.compile(
    r"lab|analyt|testing|zkusebn|ustav|institut|s\.r\.o|gmbh|inc\b|llc|ltd|a\.s\.", re.I
)
_NOT_LAB = re.compile(
    r"certi\s?(?:fi)?\s?cate|analysis|protokol|report|zkousce|page|strana|summary|"
    r"^(?:pass(?:ed)?|fail(?:ed)?|(?:ne)?vyhovuje|ok)$",
    re.I,
)


@dataclass
class Fields:
    values: dict = field(default_factory=dict)
    confidence: dict = field(default_factory=dict)

    def set(self, key, value, confidence):
        if key not in self.values or confidence > self.confidence[key]:
            self.values[key] = value
            self.confidence[key] = round(confidence, 2)


def _label_pairs(lines: list[Line]):
    """(label text, value text, line) for 'Label: value' and 'Label | value' cells."""
    for line in lines:
        cells = line.cell_texts()
        for i, cell in enumerate(cells):
            yield cell, " ".join(cells[i + 1 :]), line


def _read_fields(lines: list[Line], pages: list[Page], *, day_first: bool) -> Fields:
    fields = Fields()
    first_page = [ln for ln in lines if ln.page == 0]
    page_height = pages[0].height if pages else 1.0

    # Report number: labelled; weighted by label strength, position and repetition.
    scores: Counter[str] = Counter()
    for line in lines:
        if re.search(r"akredit|accredit", _fold(line.text)):
            continue  # 'cert. no. 4471.02' there is the lab's accreditation
        for match in _REPORT_LABEL.finditer(_fold(line.text)):
            start = match.start("value")
            value = line.text[start : start + len(match["value"])].rstrip(".,;")
            if not re.search(r"\d", value):
                continue
            label = match["label"]
            weight = 1.0 + (1.5 if re.search(r"no|number|#|c\.|cislo|nr", label) else 0)
            if line.page == 0 and line.top < 0.35 * page_height:
                weight += 1.5
            scores[value] += weight
    if scores:
        (best, score), *rest = scores.most_common()
        confidence = 0.95 if score >= 2.5 else 0.75
        if rest and rest[0][1] >= score * 0.8:
            confidence = 0.5
        fields.set("report_number", best, confidence)

    # Dates.
    for cell, nxt, _line in _label_pairs(lines):
        folded = _fold(cell)
        match = _DATE_LABEL.search(folded)
        if not match or match.start("label") > 2:
            continue
        key = next(k for k in _DATE_LABELS if match[k])
        if key == "received":
            continue
        rest = cell[match.start("rest") :] if match["rest"] else nxt
        parsed = _parse_date(rest, day_first=day_first)
        if parsed:
            fields.set(key, parsed[0].isoformat(), parsed[1])

    # Lots.
    lots: list[str] = []
    lot_conf = 0.0
    for cell, nxt, _line in _label_pairs(first_page or lines):
        folded = _fold(cell)
        for match in _LOT_LABEL.finditer(folded + " "):
            after = cell[match.end() :].strip() if match.end() < len(cell) else nxt
            labelled_alone = match.start("label") <= 1 and match.end() >= len(cell.rstrip(": "))
            if labelled_alone:
                after = nxt
            codes = []
            for part in re.split(r"\s*(?:,|;|&|\band\b|\ba\b|\s)\s*", after):
                token = _LOT_CODE.match(part.strip())
                if not token or not re.search(r"\d", token.group()):
                    break
                codes.append(token.group().rstrip("."))
            if codes:
                conf = 0.9 if match.start("label") <= 1 else 0.8
                if conf > lot_conf:
                    lots, lot_conf = codes, conf
    if lots:
        fields.set("lots", list(dict.fromkeys(lots)), lot_conf)

    # Lab: the accreditation statement and the largest print at the top of page 1.
    lab: dict = {}
    for line in first_page:
        text = line.text
        if not re.search(r"akredit|accredit", _fold(text)):
            continue
        for body in _ACCREDITATION_BODIES:
            if re.search(rf"(?<![\w]){re.escape(body)}(?![\w])", text):
                lab.setdefault("accreditation_body", body)
                break
        if (match := _ACCREDITATION_ID.search(text)) and "17025" not in match["id"]:
            lab.setdefault("accreditation_id", match["id"].rstrip("."))
    top = [ln for ln in first_page if ln.top < 0.3 * page_height]
    best_name, best_key = "", (0.0, 0.0)
    for line in top:
        for cell in line.cells:
            text = _clean(" ".join(w.text for w in cell))
            if len(text) < 4 or not re.search(r"[^\W\d_]{3}", text) or _NOT_LAB.search(text):
                continue
            size = statistics.median(w.height for w in cell)
            size *= 1.2 if _LAB_WORDS.search(text) else 1.0
            size *= 1.15 if line is top[0] else 1.0
            key = (size, -line.top)
            if key > best_key:
                best_name, best_key = text, key
    if best_name:
        lab["name"] = best_name
        fields.set("lab", lab, 0.85 if _LAB_WORDS.search(best_name) else 0.6)
    return fields


# --------------------------------------------------------------------------- assembling


def _read(pages: list[Page], resolve: Resolve, *, ocr: bool) -> tuple[dict, list[str]]:
    warnings: list[str] = []
    lines = [line for number, page in enumerate(pages) for line in _lines(page, number)]
    text = _fold(" ".join(line.text for line in lines))
    czech = bool(re.search(r"protokol|vysledek|zkousk|sarze|ukazatel", text))
    day_first = czech or _comma_decimals(lines)
    fields = _read_fields(lines, pages, day_first=day_first)
    candidates, used = _read_tables(lines, resolve, ocr=ocr, warnings=warnings)
    if not candidates:
        candidates = _read_loose(lines, used, resolve)
        if candidates:
            warnings.append("no results table found; results read from loose lines")

    results = _dedupe(candidates, warnings)
    doc: dict = {"format": "coa/1"}
    for key in ("lab", "report_number", "lots", "sampled_on", "tested_on", "issued_on"):
        if key in fields.values:
            doc[key] = fields.values[key]
    doc["results"] = results
    doc["field_confidence"] = dict(fields.confidence)
    return doc, warnings


def _dedupe(candidates: list[Candidate], warnings: list[str]) -> list[dict]:
    """One result per analyte: identical repeats merge, conflicting ones are flagged."""
    by_code: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_code.setdefault(candidate.item["analyte"], []).append(candidate)
    results = []
    for code, group in by_code.items():

        def key(c: Candidate) -> tuple:
            return tuple(sorted((k, v) for k, v in c.item.items() if k != "raw"))

        distinct = {key(c) for c in group}
        best = max(group, key=lambda c: c.confidence)
        confidence = best.confidence
        if len(distinct) > 1:
            confidence = min(confidence, 0.4)
            warnings.append(f"{code}: {len(distinct)} different results in the document")
        results.append({**best.item, "confidence": confidence, "snippet": best.snippet})
    return results


def _overall(doc: dict) -> float:
    results = doc["results"]
    if not results:
        return 0.0
    result_conf = statistics.mean(r["confidence"] for r in results)
    field_conf = [doc["field_confidence"].get(k, 0.0) for k in ("report_number", "lots", "lab")]
    return round(0.7 * result_conf + 0.3 * statistics.mean(field_conf), 2)


def _empty(method: str, warnings: list[str]) -> dict:
    return {
        "format": "coa/1",
        "results": [],
        "confidence": 0.0,
        "method": method,
        "warnings": warnings,
        "field_confidence": {},
    }


OCR_MISSING = "tesseract is not installed: images and scanned PDFs cannot be read"


def extract(data: bytes, *, content_type: str, resolve: Resolve) -> dict:
    """The ``coa/1`` document read from a certificate file.

    ``content_type`` is ``application/pdf`` or an ``image/*`` type; ``resolve``
    maps an analyte name as printed to a catalogue code (None when unknown).
    Adds ``confidence`` (overall), ``method`` (``text``, ``ocr`` or ``none``),
    ``warnings`` and ``field_confidence`` to the document; each result carries
    ``confidence`` and ``snippet``.
    """
    warnings: list[str] = []
    is_pdf = content_type == "application/pdf" or data.startswith(b"%PDF-")
    if is_pdf:
        try:
            pages = _pdf_pages(data)
        except Exception as error:  # noqa: BLE001 - pdfium raises its own error types
            return _empty("none", [f"the PDF cannot be opened: {error}"])
        words = sum(len(p.words) for p in pages)
        # A few words are often a scan's stamp or typed line: OCR reads the
        # whole page better. Without OCR, a sparse text layer is all there is.
        if words >= 20 or (words and not ocr_available()):
            doc, warnings = _read(pages, resolve, ocr=False)
            if doc["results"]:
                return _finish(doc, "text", warnings)
            warnings.append("the text layer holds no readable results")
        if not ocr_available():
            return _empty("none", [*warnings, OCR_MISSING])
        doc, ocr_warnings = _read(_ocr_pdf(data), resolve, ocr=True)
        return _finish(doc, "ocr", warnings + ocr_warnings)
    if content_type.startswith("image/"):
        if not ocr_available():
            return _empty("none", [OCR_MISSING])
        try:
            pages = _ocr_image(data)
        except OSError as error:
            return _empty("none", [f"the image cannot be read: {error}"])
        doc, warnings = _read(pages, resolve, ocr=True)
        return _finish(doc, "ocr", warnings)
    return _empty("none", [f"unsupported content type '{content_type}'"])


def _finish(doc: dict, method: str, warnings: list[str]) -> dict:
    if method == "ocr":
        doc["field_confidence"] = {k: round(v * 0.9, 2) for k, v in doc["field_confidence"].items()}
    doc["confidence"] = _overall(doc)
    doc["method"] = method
    doc["warnings"] = warnings
    return doc
