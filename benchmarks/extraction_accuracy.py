"""Benchmark: how well ``registry.extraction`` reads the certificate corpus.

    .venv/bin/python benchmarks/extraction_accuracy.py [--verbose] [--no-ocr] [NAME ...]

Runs :func:`registry.extraction.extract` on every document of
``tests/data/coas/`` (or only those whose name contains one of NAME) and
compares it with the ``coa/1`` truth beside it (``NAME.json``). Prints, per
field, precision (share of what was extracted that is right) and recall (share
of the truth that was extracted right):

* lab (name, ignoring case and accents), report_number, lots (each lot code),
  sampled_on, tested_on, issued_on;
* results: analyte (the code), value (the number: value, or the LOQ of a "<"
  result), unit (equal when the units are the same quantity: ppm = mg/kg),
  qualifier (number, <LOQ, ND, absent, present), and a result as a whole.

Then the two targets: the share of true results extracted entirely right, and
the precision of results marked ``confidence >= 0.9``. Images and scanned PDFs
need tesseract; without it they are reported as skipped. The analyte catalogue
comes from a fresh SQLite database built by the migrations.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "coas"
sys.path.insert(0, str(ROOT))

CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
FIELDS = ("lab", "report_number", "lots", "sampled_on", "tested_on", "issued_on")
RESULT_FIELDS = ("analyte", "value", "unit", "qualifier", "whole result")


def setup_django():
    workdir = tempfile.mkdtemp(prefix="bench-extraction-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{workdir}/media"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_resolver():
    from registry.catalogue import Catalogue, UnknownAnalyte

    catalogue = Catalogue.load()

    def resolve(name):
        try:
            return catalogue.resolve(name).code
        except UnknownAnalyte:
            return None

    return resolve


def corpus(names):
    for truth_path in sorted(CORPUS.glob("*.json")):
        if names and not any(n in truth_path.stem for n in names):
            continue
        for suffix in CONTENT_TYPES:
            document = truth_path.with_suffix(suffix)
            if document.is_file():
                yield document, json.loads(truth_path.read_text(encoding="utf-8"))
                break


def fold(text):
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def number(item):
    text = item.get("value") or item.get("loq")
    return Decimal(text) if text not in (None, "") else None


def qualifier(item):
    if item.get("value") not in (None, ""):
        return "<LOQ" if item.get("qualifier") == "<" else ""
    return {"nd": "ND", "<loq": "<LOQ"}.get(
        str(item.get("qualifier", "")).lower(), item.get("qualifier")
    )


def same_unit(a, b):
    from registry.units import UnitError, parse_unit

    if not a and not b:
        return True
    try:
        ua, ub = parse_unit(a), parse_unit(b)
    except UnitError:
        return False
    return ua.dimension == ub.dimension and ua.factor == ub.factor


class Tally:
    def __init__(self):
        self.right = defaultdict(int)  # field -> extracted and right
        self.extracted = defaultdict(int)  # field -> extracted
        self.truth = defaultdict(int)  # field -> in the truth

    def add(self, name, extracted, truth, right):
        self.extracted[name] += extracted
        self.truth[name] += truth
        self.right[name] += right

    def line(self, name):
        right, extracted, truth = self.right[name], self.extracted[name], self.truth[name]
        precision = f"{right / extracted:7.1%}" if extracted else "      -"
        recall = f"{right / truth:7.1%}" if truth else "      -"
        return (
            f"  {name:<16} precision {precision}  recall {recall}   ({right}/{extracted}/{truth})"
        )


def compare_fields(doc, truth, tally, errors):
    for name in FIELDS:
        want, got = truth.get(name), doc.get(name)
        if name == "lab":
            want = fold((want or {}).get("name", "")) or None
            got = fold((got or {}).get("name", "")) or None
        if name == "lots":
            want, got = set(want or []), set(got or [])
            tally.add(name, len(got), len(want), len(want & got))
            if want != got:
                errors.append(f"lots: got {sorted(got)}, want {sorted(want)}")
            continue
        tally.add(name, got is not None, want is not None, got is not None and got == want)
        if got != want:
            errors.append(f"{name}: got {got!r}, want {want!r}")


def compare_results(doc, truth, tally, confident, errors):
    wanted = {r["analyte"]: r for r in truth.get("results", [])}
    got = {}
    for item in doc.get("results", []):
        got.setdefault(item["analyte"], item)
        if item["analyte"] in got and got[item["analyte"]] is not item:
            errors.append(f"duplicate result for {item['analyte']}")
    for code, item in got.items():
        want = wanted.get(code)
        checks = {
            "analyte": want is not None,
            "value": want is not None and number(item) == number(want),
            "unit": want is not None
            and (
                qualifier(want) in ("absent", "present")
                or same_unit(item.get("unit"), want.get("unit"))
            ),
            "qualifier": want is not None and qualifier(item) == qualifier(want),
        }
        checks["whole result"] = all(checks.values())
        for name, ok in checks.items():
            tally.add(name, 1, 0, ok)
        confident["all"] += 1
        if item["confidence"] >= 0.9:
            confident["high"] += 1
            confident["high right"] += checks["whole result"]
        if not checks["whole result"]:
            shown = {k: v for k, v in item.items() if k != "snippet"}
            errors.append(f"result {shown} != truth {want}  <- {item.get('snippet', '')!r}")
    for code in wanted:
        for name in RESULT_FIELDS:
            tally.add(name, 0, 1, 0)
        if code not in got:
            errors.append(f"missing result {wanted[code]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every mistake")
    parser.add_argument("--no-ocr", action="store_true", help="skip documents that need OCR")
    args = parser.parse_args()
    setup_django()
    from registry.extraction import extract, ocr_available

    resolve = make_resolver()
    use_ocr = ocr_available() and not args.no_ocr
    tally, confident = Tally(), defaultdict(int)
    per_layout = defaultdict(lambda: [0, 0])  # layout -> [right results, true results]
    skipped, documents = [], 0
    started = time.perf_counter()
    for path, truth in corpus(args.names):
        layout = truth.get("layout", "?")
        if "+scan" in layout and not use_ocr:
            skipped.append(path.name)
            continue
        documents += 1
        t0 = time.perf_counter()
        doc = extract(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix], resolve=resolve)
        errors = []
        before = tally.right["whole result"], tally.truth["whole result"]
        compare_fields(doc, truth, tally, errors)
        compare_results(doc, truth, tally, confident, errors)
        right = tally.right["whole result"] - before[0]
        total = tally.truth["whole result"] - before[1]
        per_layout[layout][0] += right
        per_layout[layout][1] += total
        print(
            f"{path.name:<28} {doc['method']:<5} {right:>3}/{total:<3} results right"
            f"  {len(errors)} mistakes  {time.perf_counter() - t0:5.1f} s"
        )
        if args.verbose:
            for error in errors:
                print(f"    {error}")
    print(f"\n{documents} documents in {time.perf_counter() - started:.1f} s")
    if skipped:
        print(f"skipped {len(skipped)} documents that need OCR (tesseract not available):")
        print("  " + ", ".join(skipped))
    print("\nDocument fields (right/extracted/true):")
    for name in FIELDS:
        print(tally.line(name))
    print("\nResults (right/extracted/true):")
    for name in RESULT_FIELDS:
        print(tally.line(name))
    print("\nResults right by layout:")
    for layout, (right, total) in sorted(per_layout.items()):
        share = f"{right / total:.1%}" if total else "-"
        print(f"  {layout:<20} {right:>4}/{total:<4} {share}")
    total = tally.truth["whole result"]
    right = tally.right["whole result"]
    high, high_right = confident["high"], confident["high right"]
    print("\nTargets:")
    share = right / total if total else 0.0
    print(f"  results right:                     {share:.1%} ({right}/{total}), target >= 95 %")
    precision = high_right / high if high else 0.0
    print(
        f"  precision at confidence >= 0.9:    {precision:.1%} ({high_right}/{high}), "
        "target >= 99 %"
    )
    print(f"  results marked confidence >= 0.9:  {high}/{confident['all']}")


if __name__ == "__main__":
    main()
