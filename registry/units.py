"""Units, numbers and result cells as printed on kratom lab certificates.

This module is pure Python (no Django) and works only with exact ``Decimal``
arithmetic; floats are never used.

Units
    ``parse_unit`` maps the many spellings found on certificates ("% w/w",
    "% hm.", "mg kg-1", "mcg/g", "KTJ/g", ...) to one canonical ``Unit``.
    Matching ignores case and whitespace, treats the micro sign (U+00B5), the
    Greek mu (U+03BC), "u" and "mcg" alike, and applies Unicode NFKC so that
    "kg⁻¹" reads as "kg-1".  Every unit belongs to a dimension:

    * ``mass_fraction`` - base mg/kg (= ppm): % = 10000, mg/g = g/kg = 1000,
      mg/100g = 10, mg/kg = ppm = µg/g = 1, ppb = µg/kg = ng/g = 0.001;
    * ``cfu`` - CFU/g (Czech certificates write KTJ/g);
    * ``mpn`` - MPN/g;
    * ``mass`` - base mg: g = 1000, mg = 1, µg = 0.001.

    ``convert`` refuses to cross dimensions.  All factors are powers of ten,
    so conversions are exact; the working precision grows with the input so
    nothing is ever rounded, and results have trailing zeros stripped (never
    in exponent form), hence ``convert(convert(x, a, b), b, a) == x``.

Numbers
    ``parse_decimal`` accepts plain numbers, scientific notation ("1.2E3",
    "1.2 x 10^3", "1.2×10^3", "1.2*10^3", "1.2 x 10E3", "9.6·10⁴" with
    Unicode superscripts, "10^4") and these separator rules:

    * a number with a single kind of separator and only one occurrence of it
      treats it as the decimal point: "0,64" = 0.64, "1.5" = 1.5.  In
      particular "1,234" is 1.234, never 1234 - a comma is read as a decimal
      comma whenever there is no dot, because Czech and German certificates
      use decimal commas far more often than anyone prints a thousands
      separator without decimals;
    * with both a dot and a comma, whichever comes last is the decimal point
      and the other must group digits in threes: "1,234.5" = "1.234,5" = 1234.5;
    * a separator repeated ("1,234,567", "1.234.567") or spaces between digit
      groups ("1 234,5") must form groups of three and are thousands separators.

Result cells
    ``parse_result`` returns a ``Parsed`` with one of the ``QUALIFIERS``:

    * "" - a plain number, optionally followed by a unit ("1.52 % w/w");
    * "<LOQ" - "<0.05 ppm" (loq = 0.05), "<LOQ", "BLQ", "below LOQ";
    * "ND" - "ND", "N.D.", "Not detected", "nedetekováno", "<LOD"; an LOQ may
      follow: "ND (LOQ 0.05 ppm)", "ND (<0.05 ppm)" (a number after "<LOD" is a
      detection limit and is not kept as ``loq``);
    * "absent" - "Absent", "Negative", "negativní", "nenalezeno", and any
      "not detected" wording with a sample basis ("Not detected in 10 g");
    * "present" - "Present", "Detected", "Positive", "pozitivní".

    A unit in the cell wins over the ``unit=`` from the column header; the
    header unit is used for numbers, "<LOQ" and "ND" cells without one.
    "absent"/"present" results never carry a unit, only a ``basis`` such as
    "25 g".  A trailing verdict word (PASS, FAIL, OK, V, Vn, N, X, ✓ ...) is
    ignored.  Anything else raises ``UnitError`` quoting the text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

__all__ = [
    "DIMENSIONS",
    "QUALIFIERS",
    "UNITS",
    "Parsed",
    "Unit",
    "UnitError",
    "check_unit_for_dimension",
    "convert",
    "parse_decimal",
    "parse_result",
    "parse_unit",
]


class UnitError(ValueError):
    """A unit, number or result cell that cannot be read or used."""


def _q(text: str) -> str:
    """Quote offending text the same way in every message."""
    return f"'{text}'"


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    code: str
    dimension: str
    factor: Decimal

    def __str__(self) -> str:
        return self.code


# Human wording of each dimension, used in error messages.
DIMENSIONS: dict[str, str] = {
    "mass_fraction": "a mass fraction such as mg/kg, ppm or %",
    "cfu": "a colony count in CFU/g",
    "mpn": "a most probable number in MPN/g",
    "mass": "a mass such as mg or g",
}

# code -> (dimension, factor to the dimension's base unit, extra spellings)
_UNIT_TABLE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "%": (
        "mass_fraction",
        "10000",
        ("% w/w", "% (w/w)", "% m/m", "% (m/m)", "% hm.", "% hm", "wt%", "wt.%", "% wt"),
    ),
    "mg/g": ("mass_fraction", "1000", ("mg g-1", "mg·g-1", "mg.g-1")),
    "g/kg": ("mass_fraction", "1000", ("g kg-1", "g·kg-1", "g.kg-1")),
    "mg/kg": ("mass_fraction", "1", ("mg kg-1", "mg·kg-1", "mg.kg-1")),
    "ppm": ("mass_fraction", "1", ()),
    "µg/g": ("mass_fraction", "1", ("ug/g", "mcg/g", "µg g-1")),
    "ppb": ("mass_fraction", "0.001", ()),
    "µg/kg": ("mass_fraction", "0.001", ("ug/kg", "mcg/kg", "µg kg-1")),
    "ng/g": ("mass_fraction", "0.001", ("ng g-1",)),
    "mg/100g": ("mass_fraction", "10", ("mg/100 g",)),
    "CFU/g": ("cfu", "1", ("KTJ/g", "CFU g-1")),
    "MPN/g": ("mpn", "1", ()),
    "mg": ("mass", "1", ()),
    "µg": ("mass", "0.001", ("ug", "mcg")),
    "g": ("mass", "1000", ()),
}

UNITS: dict[str, Unit] = {
    code: Unit(code, dimension, Decimal(factor))
    for code, (dimension, factor, _spellings) in _UNIT_TABLE.items()
}


def _unit_key(text: str) -> str:
    """Spelling-insensitive lookup key: NFKC, case-folded, no spaces, micro = 'u'."""
    key = unicodedata.normalize("NFKC", text).casefold()
    key = key.replace("\u2212", "-").replace("μ", "u")  # NFKC already turned µ into μ
    key = re.sub(r"\s+", "", key)
    return key.replace("mcg", "ug")


def _build_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, (_dimension, _factor, spellings) in _UNIT_TABLE.items():
        for spelling in (code, *spellings):
            key = _unit_key(spelling)
            if aliases.setdefault(key, code) != code:  # pragma: no cover - table bug
                raise AssertionError(f"Spelling {spelling!r} is ambiguous")
    return aliases


_ALIASES = _build_aliases()


def parse_unit(text: str) -> Unit:
    """Return the canonical unit for a spelling seen on a certificate."""
    code = _ALIASES.get(_unit_key(text))
    if code is None:
        raise UnitError(f"Unknown unit {_q(text)}")
    return UNITS[code]


def _as_unit(unit: Unit | str) -> Unit:
    return unit if isinstance(unit, Unit) else parse_unit(unit)


def _plain(value: Decimal) -> Decimal:
    """Write a positive exponent out as zeros: 1.2E+3 -> 1200 (same value)."""
    sign, digits, exponent = value.as_tuple()
    if isinstance(exponent, int) and 0 < exponent <= 100:
        return Decimal((sign, digits + (0,) * exponent, 0))
    return value


def convert(value: Decimal, from_unit: Unit | str, to_unit: Unit | str) -> Decimal:
    """Convert ``value`` exactly between two units of the same dimension."""
    source, target = _as_unit(from_unit), _as_unit(to_unit)
    if source.dimension != target.dimension:
        raise UnitError(f"Cannot convert {_q(source.code)} to {_q(target.code)}")
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"convert() needs a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise UnitError(f"Cannot convert {_q(str(value))}: not a finite number")
    # Factors are powers of ten, so the product has no more significant digits
    # than the input; a precision of (digits + margin) is therefore exact, and
    # trapping Inexact guarantees we would notice if that ever stopped holding.
    precision = max(50, len(value.as_tuple().digits) + 10)
    exact = Context(prec=precision, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
    with localcontext(exact):
        result = (value * (source.factor / target.factor)).normalize()
    return _plain(result)


@functools.lru_cache(maxsize=256)
def factor(from_unit: str, to_unit: str) -> Decimal:
    """The exact multiplier from one unit to another (a power of ten), cached:
    ``value * factor(a, b) == convert(value, a, b)`` for values of up to 27
    significant digits, which is all the registry stores."""
    return convert(Decimal(1), from_unit, to_unit)


def check_unit_for_dimension(unit: Unit | str, dimension: str, *, analyte: str) -> None:
    """Raise ``UnitError`` unless ``unit`` measures ``dimension``."""
    if dimension not in DIMENSIONS:
        raise UnitError(f"Unknown dimension {_q(dimension)}")
    unit = _as_unit(unit)
    if unit.dimension != dimension:
        raise UnitError(
            f"Unit {_q(unit.code)} does not fit {analyte} (expects {DIMENSIONS[dimension]})"
        )


# --------------------------------------------------------------------------- numbers

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPERSCRIPT_POWER = re.compile(r"10\s*([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2010": "-", "\u2011": "-"})


def _prepare(text: str) -> str:
    """Superscript powers to '^', NFKC, ASCII minus, single spaces, stripped."""
    text = _SUPERSCRIPT_POWER.sub(lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS), text)
    text = unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS)
    return re.sub(r"\s+", " ", text).strip()


_TIMES = r"[x×*·⋅∙•]"
_EXPONENT = r"(?P<exp>[+-]?\d+)"
_TIMES_POWER = re.compile(
    rf"(?P<mant>.+?)\s*{_TIMES}\s*10\s*(?:\^|\*\*|e)\s*{_EXPONENT}", re.I | re.A
)
_BARE_POWER = re.compile(rf"10\s*(?:\^|\*\*)\s*{_EXPONENT}", re.A)
_E_POWER = re.compile(rf"(?P<mant>.*\d)\s*e\s*{_EXPONENT}", re.I | re.A)
# ASCII digits only (re.A): other scripts' digits are not expected on certificates.
_SIGNED = re.compile(r"(?P<sign>[+-]?)\s*(?P<body>[\d., ]*\d[\d., ]*)", re.A)
_SPACE_GROUPED = re.compile(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?")


def _grouped(digits: str, separator: str) -> bool:
    """True when ``digits`` is 1-3 digits followed by groups of three."""
    return re.fullmatch(rf"\d{{1,3}}(?:{re.escape(separator)}\d{{3}})*", digits) is not None


def _mantissa(text: str) -> str | None:
    """Canonical 'digits.digits' for a number without exponent, or None."""
    match = _SIGNED.fullmatch(text)
    if match is None:
        return None
    sign, body = match["sign"], match["body"].strip()
    if " " in body:
        if not _SPACE_GROUPED.fullmatch(body):
            return None
        body = body.replace(" ", "")
    commas, dots = body.count(","), body.count(".")
    if commas and dots:
        decimal_sep = "," if body.rfind(",") > body.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, fraction = body.rpartition(decimal_sep)
        if not fraction.isdigit() or not _grouped(whole, group_sep):
            return None
        body = whole.replace(group_sep, "") + "." + fraction
    elif commas + dots > 1:
        separator = "," if commas else "."
        if not _grouped(body, separator):
            return None
        body = body.replace(separator, "")
    else:
        body = body.replace(",", ".")
    if not re.fullmatch(r"\d*(?:\.\d+)?", body):
        return None
    return sign + body


def parse_decimal(text: str) -> Decimal:
    """Read a number as printed on a certificate (see module docstring)."""
    prepared = _prepare(text)
    mantissa: str | None
    exponent = "0"
    if match := _BARE_POWER.fullmatch(prepared):
        mantissa, exponent = "1", match["exp"]
    elif match := _TIMES_POWER.fullmatch(prepared) or _E_POWER.fullmatch(prepared):
        mantissa, exponent = _mantissa(match["mant"].strip()), match["exp"]
    else:
        mantissa = _mantissa(prepared)
    if mantissa is None or abs(int(exponent)) > 1000:
        raise UnitError(f"Not a number: {_q(text)}")
    return _plain(Decimal(f"{mantissa}E{exponent}"))


# --------------------------------------------------------------------------- results

QUALIFIERS: tuple[str, ...] = ("", "ND", "<LOQ", "absent", "present")


@dataclass(frozen=True)
class Parsed:
    value: Decimal | None
    qualifier: str
    loq: Decimal | None
    unit: Unit | None
    basis: str
    raw: str


_NOT_LETTER = r"(?![^\W\d_])"
_ND_WORDS = re.compile(
    r"(?:not\s+detected|none\s+detected|nedetekov[aá]no|n\s*/\s*d|n\.?\s*d\.?"
    r"|<\s*lod|below\s+(?:the\s+)?lod)" + _NOT_LETTER,
    re.I,
)
_LOQ_WORDS = re.compile(
    r"(?:<\s*lo[qr]|b\.?l\.?o?\.?q\.?|bql|below\s+(?:the\s+)?lo[qr]|less\s+than\s+(?:the\s+)?loq)"
    + _NOT_LETTER,
    re.I,
)
_ABSENT_WORDS = re.compile(
    r"(?:absent|negative|negativn[ií]|nenalezeno|not\s+found)" + _NOT_LETTER, re.I
)
_PRESENT_WORDS = re.compile(
    r"(?:present|detected|detekov[aá]no|positive|pozitivn[ií]|nalezeno)" + _NOT_LETTER, re.I
)
_BASIS = re.compile(
    r"\s*\(?\s*(?:(?:in|v|per)\s+|/\s*)(?P<amount>\d+(?:[.,]\d+)?)\s*(?P<unit>kg|g|ml)\s*\)?",
    re.I,
)
_BASIS_UNITS = {"g": "g", "kg": "kg", "ml": "mL"}
_VERDICT = re.compile(
    r"\s+\(?(?:pass(?:ed)?|fail(?:ed)?|ok|vyhovuje|nevyhovuje|vn|v|n|x|✓|✔|✗|✘)\)?$", re.I
)
_LOQ_LABEL = re.compile(r"(?:lo[qr]|rl)\s*[:=]?\s*", re.I)


def _strip_verdict(text: str) -> str:
    while (match := _VERDICT.search(text)) and match.start() > 0:
        text = text[: match.start()]
    return text


def _basis(match: re.Match[str]) -> str:
    amount = parse_decimal(match["amount"])
    return f"{amount} {_BASIS_UNITS[match['unit'].lower()]}"


def _number_and_unit(text: str, raw: str) -> tuple[Decimal, Unit | None]:
    """Split 'number [unit]' at the longest prefix that reads as a number."""
    for end in range(len(text), 0, -1):
        if not text[end - 1].isdigit():
            continue
        try:
            number = parse_decimal(text[:end])
        except UnitError:
            continue
        rest = text[end:]
        if rest[:1] and rest[0] in "0123456789.,^":
            break
        rest = rest.strip()
        if not rest:
            return number, None
        try:
            return number, parse_unit(rest)
        except UnitError:
            raise UnitError(f"Unknown unit {_q(rest)} in {_q(raw)}") from None
    raise UnitError(f"Cannot read result {_q(raw)}")


def _limit_tail(tail: str, raw: str) -> tuple[Decimal | None, Unit | None]:
    """Read what may follow ND/<LOQ: '', 'mg/kg', '(LOQ 0.05 ppm)', '(<0.05)'."""
    tail = tail.strip()
    if tail.startswith("(") and tail.endswith(")"):
        tail = tail[1:-1].strip()
    if label := _LOQ_LABEL.match(tail):
        tail = tail[label.end() :]
    tail = tail.removeprefix("<").strip()
    if not tail:
        return None, None
    if tail[0].isdigit() or tail[0] in "+-.,":
        return _number_and_unit(tail, raw)
    try:
        return None, parse_unit(tail)
    except UnitError:
        raise UnitError(f"Cannot read result {_q(raw)}") from None


def parse_result(text: str, *, unit: str | Unit | None = None) -> Parsed:
    """Read one result cell; ``unit`` is the column-header unit, if any."""
    header_unit = None if unit is None else _as_unit(unit)
    cell = _strip_verdict(_prepare(text))

    def result(qualifier, *, value=None, loq=None, found=None, basis="") -> Parsed:
        return Parsed(value, qualifier, loq, found, basis, text)

    if not cell:
        raise UnitError(f"Cannot read result {_q(text)}")

    for words, qualifier in ((_ABSENT_WORDS, "absent"), (_PRESENT_WORDS, "present")):
        if match := words.match(cell):
            rest = cell[match.end() :]
            if not rest.strip():
                return result(qualifier)
            if basis := _BASIS.fullmatch(rest):
                return result(qualifier, basis=_basis(basis))
            raise UnitError(f"Cannot read result {_q(text)}")

    if match := _ND_WORDS.match(cell):
        rest = cell[match.end() :]
        if basis := _BASIS.fullmatch(rest):
            return result("absent", basis=_basis(basis))
        loq, tail_unit = _limit_tail(rest, text)
        if "lod" in match.group().casefold():
            loq = None  # a number after "<LOD" is a detection limit, not an LOQ
        return result("ND", loq=loq, found=tail_unit or header_unit)

    if match := _LOQ_WORDS.match(cell):
        loq, tail_unit = _limit_tail(cell[match.end() :], text)
        return result("<LOQ", loq=loq, found=tail_unit or header_unit)

    if cell.startswith("<"):
        loq, cell_unit = _number_and_unit(cell[1:].strip(), text)
        return result("<LOQ", loq=loq, found=cell_unit or header_unit)

    value, cell_unit = _number_and_unit(cell, text)
    return result("", value=value, found=cell_unit or header_unit)
