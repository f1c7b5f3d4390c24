"""Tests for registry.units: unit spellings, exact conversion, numbers and result cells."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.units import (
    QUALIFIERS,
    UNITS,
    Parsed,
    Unit,
    UnitError,
    check_unit_for_dimension,
    convert,
    parse_decimal,
    parse_result,
    parse_unit,
)

D = Decimal


# ----------------------------------------------------------------------------- units

SPELLINGS = {
    "%": ["%", "% w/w", "%w/w", "% (w/w)", "% hm.", "wt%"],
    "mg/g": [" mg/g "],
    "g/kg": ["G/KG"],
    "mg/kg": ["mg/kg", "mg kg-1", "mg kg⁻¹"],
    "ppm": ["PPM"],
    "ppb": ["ppb"],
    "µg/g": ["\u00b5g/g", "\u03bcg/g", "ug/g", "mcg/g"],
    "µg/kg": ["µg/kg", "ug/kg", "mcg/kg"],
    "ng/g": ["ng/g"],
    "mg/100g": ["mg/100g", "mg/100 g"],
    "CFU/g": ["CFU/g", "cfu / g", "KTJ/g"],
    "MPN/g": ["MPN/g"],
    "mg": ["mg"],
    "µg": ["µg", "ug", "mcg"],
    "g": ["g"],
}
UNIT_SPELLINGS = [(text, code) for code, texts in SPELLINGS.items() for text in texts]


@pytest.mark.parametrize(("text", "code"), UNIT_SPELLINGS)
def test_parse_unit_spellings(text, code):
    assert parse_unit(text) is UNITS[code]


@pytest.mark.parametrize("text", ["furlongs", "", "mg/l", "%%", "kg"])
def test_parse_unit_unknown_names_text(text):
    with pytest.raises(UnitError, match=re.escape(f"Unknown unit '{text}'")):
        parse_unit(text)


def test_unit_table_is_consistent():
    dimensions = {"mass_fraction", "cfu", "mpn", "mass"}
    for code, unit in UNITS.items():
        assert unit == Unit(code, unit.dimension, unit.factor)
        assert unit.dimension in dimensions
        assert isinstance(unit.factor, Decimal)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("1.52", "%", "mg/kg", "15200"),
        ("1.52", "%", "mg/g", "15.2"),
        ("15.2", "mg/g", "%", "1.52"),
        ("15.2", "mg/g", "g/kg", "15.2"),
        ("0.64", "mg/kg", "ppm", "0.64"),
        ("0.64", "mg/kg", "µg/g", "0.64"),
        ("250", "ppb", "ppm", "0.25"),
        ("250", "µg/kg", "ng/g", "250"),
        ("120", "mg/100g", "mg/g", "1.2"),
        ("120", "mg/100g", "%", "0.12"),
        ("3", "mg/kg", "ppb", "3000"),
        ("1.5", "g", "mg", "1500"),
        ("250", "µg", "mg", "0.25"),
        ("1.00", "%", "%", "1"),
        ("0", "%", "ppb", "0"),
        ("9.6E4", "CFU/g", "cfu/g", "96000"),
    ],
)
def test_convert_exact(value, source, target, expected):
    result = convert(D(value), source, target)
    assert result == D(expected)
    assert str(result) == expected  # trailing zeros stripped, no exponent form


def test_convert_accepts_unit_objects_and_ints():
    assert convert(2, UNITS["g"], UNITS["mg"]) == D(2000)


def test_convert_rejects_float():
    with pytest.raises(TypeError):
        convert(1.5, "g", "mg")


@pytest.mark.parametrize(
    ("source", "target"), [("CFU/g", "ppm"), ("mg", "mg/kg"), ("MPN/g", "CFU/g")]
)
def test_convert_across_dimensions_names_both_units(source, target):
    with pytest.raises(UnitError, match=re.escape(f"Cannot convert '{source}' to '{target}'")):
        convert(D(1), source, target)


def test_check_unit_for_dimension():
    check_unit_for_dimension(UNITS["%"], "mass_fraction", analyte="mitragynine")
    message = "Unit 'CFU/g' does not fit mitragynine (expects a mass fraction"
    with pytest.raises(UnitError, match=re.escape(message)):
        check_unit_for_dimension(UNITS["CFU/g"], "mass_fraction", analyte="mitragynine")
    with pytest.raises(UnitError, match="Unit 'ppm' does not fit E. coli"):
        check_unit_for_dimension(UNITS["ppm"], "cfu", analyte="E. coli")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.52", "1.52"),
        ("0,64", "0.64"),
        ("2,0", "2.0"),
        ("-0.5", "-0.5"),
        (".5", "0.5"),
        ("1 234,5", "1234.5"),
        ("1\u00a0234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("1.234,5", "1234.5"),
        ("1,234", "1.234"),  # comma without a dot is always a decimal comma
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("1.2E3", "1200"),
        ("1.2e-3", "0.0012"),
        ("1.2 x 10^3", "1200"),
        ("1.2 × 10^3", "1200"),
        ("1.2x10^3", "1200"),
        ("1.2*10^3", "1200"),
        ("1.2 X 10^-2", "0.012"),
        ("9.6·10⁴", "96000"),
        ("9,6·10⁴", "96000"),
        ("5·10⁻³", "0.005"),
        ("1.2 x 10E3", "1200"),
        ("10^4", "10000"),
    ],
)
def test_parse_decimal(text, expected):
    assert parse_decimal(text) == D(expected)
    assert str(parse_decimal(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "1.2.3", "1,2,3", "1,23.4", "12 34", "1.2 x 103", "1e", "5,", "--1", "NaN"]
)
def test_parse_decimal_rejects(text):
    with pytest.raises(UnitError, match=re.escape(f"Not a number: '{text}'")):
        parse_decimal(text)


# --------------------------------------------------------------------------- results

NUMBER_CASES = [
    # text, header unit, value, unit code
    ("1.52 %", None, "1.52", "%"),
    ("1.52 % w/w", None, "1.52", "%"),
    ("1.52%", None, "1.52", "%"),
    ("15.2 mg/g", None, "15.2", "mg/g"),
    ("0,64 mg/kg", None, "0.64", "mg/kg"),
    ("0.21 ppm PASS", None, "0.21", "ppm"),
    ("0,21 mg/kg V", None, "0.21", "mg/kg"),
    ("1.2 x 10^3 CFU/g", None, "1200", "CFU/g"),
    ("1.2E3 CFU/g", None, "1200", "CFU/g"),
    ("9.6·10⁴ KTJ/g", None, "96000", "CFU/g"),
    ("1 234,5 mg/kg", None, "1234.5", "mg/kg"),
    ("3.1", "mg/g", "3.1", "mg/g"),
    ("3.1 ppm", "mg/g", "3.1", "ppm"),
    ("3.1", None, "3.1", None),
]


@pytest.mark.parametrize(("text", "header", "value", "code"), NUMBER_CASES)
def test_parse_result_numbers(text, header, value, code):
    parsed = parse_result(text, unit=header)
    assert parsed == Parsed(D(value), "", None, code and UNITS[code], "", text)


QUALIFIED_CASES = [
    # text, header unit, qualifier, loq, unit code, basis
    ("<0.05 ppm", None, "<LOQ", "0.05", "ppm", ""),
    ("< 0.05 ppm", None, "<LOQ", "0.05", "ppm", ""),
    ("<2,0", "mg/kg", "<LOQ", "2.0", "mg/kg", ""),
    ("<100 CFU/g", None, "<LOQ", "100", "CFU/g", ""),
    ("<10 cfu/g", None, "<LOQ", "10", "CFU/g", ""),
    ("<LOQ", None, "<LOQ", None, None, ""),
    ("< LOQ", "ppm", "<LOQ", None, "ppm", ""),
    ("BLQ", None, "<LOQ", None, None, ""),
    ("below LOQ", None, "<LOQ", None, None, ""),
    ("ND", None, "ND", None, None, ""),
    ("N.D.", None, "ND", None, None, ""),
    ("n.d.", "ppm", "ND", None, "ppm", ""),
    ("Not Detected", None, "ND", None, None, ""),
    ("none detected", None, "ND", None, None, ""),
    ("nedetekováno", None, "ND", None, None, ""),
    ("ND (LOQ 0.05 ppm)", None, "ND", "0.05", "ppm", ""),
    ("ND (<0,05 mg/kg)", None, "ND", "0.05", "mg/kg", ""),
    ("Absent in 25 g", None, "absent", None, None, "25 g"),
    ("Absent/25g", None, "absent", None, None, "25 g"),
    ("Not detected in 10 g", None, "absent", None, None, "10 g"),
    ("Negative", None, "absent", None, None, ""),
    ("negative in 25 g", None, "absent", None, None, "25 g"),
    ("negativní", None, "absent", None, None, ""),
    ("nenalezeno", None, "absent", None, None, ""),
    ("Absent", "CFU/g", "absent", None, None, ""),
    ("Present", None, "present", None, None, ""),
    ("Detected", None, "present", None, None, ""),
    ("Positive", None, "present", None, None, ""),
    ("pozitivní", None, "present", None, None, ""),
    ("Present in 25 g", None, "present", None, None, "25 g"),
]


@pytest.mark.parametrize(("text", "header", "qualifier", "loq", "code", "basis"), QUALIFIED_CASES)
def test_parse_result_qualified(text, header, qualifier, loq, code, basis):
    parsed = parse_result(text, unit=header)
    expected_loq = None if loq is None else D(loq)
    assert parsed == Parsed(None, qualifier, expected_loq, code and UNITS[code], basis, text)
    assert parsed.qualifier in QUALIFIERS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5 furlongs", "Unknown unit 'furlongs' in '5 furlongs'"),
        ("", "Cannot read result ''"),
        ("see attached", "Cannot read result 'see attached'"),
        ("Absent in a jar", "Cannot read result 'Absent in a jar'"),
        ("<", "Cannot read result '<'"),
        ("1.2.3 mg", "Cannot read result '1.2.3 mg'"),
        ("ND (whatever)", "Cannot read result 'ND (whatever)'"),
        (">1.0E6 CFU/g", "Cannot read result '>1.0E6 CFU/g'"),
    ],
)
def test_parse_result_errors_name_the_text(text, message):
    with pytest.raises(UnitError, match=re.escape(message)):
        parse_result(text)


# ------------------------------------------------------------------------ properties

sane_decimals = st.decimals(
    min_value=Decimal("0"),
    max_value=Decimal("1e9"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
units = st.sampled_from(sorted(UNITS.values(), key=lambda unit: unit.code))


def same_dimension(count):
    def pick(dimension):
        members = sorted(u.code for u in UNITS.values() if u.dimension == dimension)
        return st.tuples(*[st.sampled_from(members)] * count)

    return st.sampled_from(sorted({u.dimension for u in UNITS.values()})).flatmap(pick)


@given(sane_decimals, same_dimension(2))
def test_convert_round_trip_is_exact(value, pair):
    a, b = pair
    assert convert(convert(value, a, b), b, a) == value


@given(sane_decimals, same_dimension(3))
def test_convert_is_transitive(value, triple):
    a, b, c = triple
    assert convert(convert(value, a, b), b, c) == convert(value, a, c)


@given(sane_decimals, units, units)
def test_convert_across_dimensions_always_raises(value, a, b):
    if a.dimension == b.dimension:
        assert convert(value, a, b) >= 0
    else:
        with pytest.raises(UnitError, match="Cannot convert"):
            convert(value, a, b)


@given(sane_decimals, st.sampled_from([".", ","]))
def test_formatted_decimal_parses_back(value, separator):
    text = f"{value:f}".replace(".", separator)
    assert parse_decimal(text) == value
    assert parse_result(f"{text} mg/kg").value == value
