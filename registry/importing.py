"""Reading ``coa/1`` documents (API.md, "Certificate interchange format").

``read_document`` checks a whole document and returns it cleaned, or raises
``DocumentError`` naming the field and the reason; nothing is written until a
document is wholly valid. ``import_document`` then creates what the document
names (vendor, product, batches, lab when missing) and the certificate with
its results, in one transaction.

Refused, by the rules of the registry: an unknown analyte; a unit that does not
fit its analyte (CFU/g for lead); a number that cannot be read; a date in the
future or after the issue date; testing before sampling; one analyte twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from vendors.models import Batch, Product, Vendor, lot_code_problem, normalize_lot

from . import trust, units, uploads, verdicts
from .catalogue import UnknownAnalyte
from .models import Certificate, CertificateBatch, Lab, Result, ReviewEvent

FORMAT = "coa/1"

QUALIFIER_WORDS = {
    "nd": "ND",
    "not detected": "ND",
    "<loq": "<LOQ",
    "< loq": "<LOQ",
    "<": "<LOQ",
    "absent": "absent",
    "negative": "absent",
    "present": "present",
    "detected": "present",
    "positive": "present",
}

# Stored numbers have 10 decimal places and 28 digits (models.Result); a value
# that would not survive storage exactly is refused rather than rounded.
MAX_PLACES = 10
MAX_DIGITS = 28


class DocumentError(ValueError):
    def __init__(self, field_name, message):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class CleanResult:
    analyte: object
    value: Decimal | None
    unit: str
    qualifier: str
    loq: Decimal | None
    basis: str
    raw: str
    value_canonical: Decimal | None
    loq_canonical: Decimal | None


@dataclass
class CleanDocument:
    lab: dict
    report_number: str
    vendor: str
    product: str
    lots: list[str]
    tested_on: dt.date
    sampled_on: dt.date | None = None
    issued_on: dt.date | None = None
    results: list[CleanResult] = field(default_factory=list)
    file: str = ""


def _text(doc, key, *, required=True, where=None):
    value = doc.get(key)
    name = f"{where}.{key}" if where else key
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DocumentError(name, "is required")
        return ""
    if not isinstance(value, str):
        raise DocumentError(name, "must be a string")
    return value.strip()


def _date(doc, key, *, required=False, where=None):
    text = _text(doc, key, required=required, where=where)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        name = f"{where}.{key}" if where else key
        raise DocumentError(name, f"'{text}' is not an ISO date (YYYY-MM-DD)") from None


def _number(text, name):
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise DocumentError(name, 'numbers are written as strings, e.g. "1.52"')
    if len(str(text)) > 60:
        raise DocumentError(name, "is too long to be a result")
    try:
        value = units.parse_decimal(str(text))
    except units.UnitError as error:
        raise DocumentError(name, str(error)) from None
    return _fits(value, name)


def _fits(value, name):
    if value is None:
        return None
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise DocumentError(name, f"'{value}' is not a finite number")
    places = max(0, -exponent)
    whole = max(value.adjusted() + 1, 1)
    if places > MAX_PLACES or whole + MAX_PLACES > MAX_DIGITS:
        raise DocumentError(name, f"'{value}' has more precision than the registry stores")
    if value < 0:
        raise DocumentError(name, f"'{value}' is negative")
    return value


def read_result(item, index, catalogue):
    where = f"results[{index}]"
    if not isinstance(item, dict):
        raise DocumentError(where, "must be an object")
    name = _text(item, "analyte", where=where)
    try:
        analyte = catalogue.resolve(name)
    except UnknownAnalyte as error:
        raise DocumentError(f"{where}.analyte", str(error)) from None
    raw = _text(item, "raw", required=False, where=where)
    unit_text = _text(item, "unit", required=False, where=where)
    qualifier_text = _text(item, "qualifier", required=False, where=where)
    try:
        unit = units.parse_unit(unit_text) if unit_text else None
    except units.UnitError as error:
        raise DocumentError(f"{where}.unit", str(error)) from None
    loq = _number(item["loq"], f"{where}.loq") if item.get("loq") not in (None, "") else None

    if item.get("value") not in (None, ""):
        value = _number(item["value"], f"{where}.value")
        if qualifier_text == "<":
            qualifier, loq, value = "<LOQ", loq if loq is not None else value, None
        elif qualifier_text:
            raise DocumentError(f"{where}.qualifier", "with a value only '<' is allowed")
        else:
            qualifier = ""
        basis = _text(item, "basis", required=False, where=where)
    elif qualifier_text:
        qualifier = QUALIFIER_WORDS.get(qualifier_text.casefold())
        if qualifier is None:
            raise DocumentError(
                f"{where}.qualifier",
                f"'{qualifier_text}' is not one of ND, <LOQ, absent, present",
            )
        value = None
        basis = _text(item, "basis", required=False, where=where)
    elif raw:
        try:
            parsed = units.parse_result(raw, unit=unit)
        except units.UnitError as error:
            raise DocumentError(f"{where}.raw", str(error)) from None
        value, qualifier, basis = (
            _fits(parsed.value, f"{where}.raw"),
            parsed.qualifier,
            parsed.basis,
        )
        loq = _fits(parsed.loq, f"{where}.raw") if parsed.loq is not None else loq
        unit = parsed.unit or unit
    else:
        raise DocumentError(where, "needs 'value' with 'unit', a 'qualifier', or 'raw'")

    numeric = value is not None or loq is not None
    if qualifier in ("absent", "present"):
        unit = None
        loq = None
        numeric = False
    if numeric and unit is None:
        raise DocumentError(f"{where}.unit", f"is required for a number ({analyte.code})")
    value_canonical = loq_canonical = None
    if unit is not None:
        target = analyte.unit or ("CFU/g" if unit.dimension == "cfu" else "")
        if not target:
            raise DocumentError(
                f"{where}.unit",
                f"'{unit.code}' does not fit {analyte.code}, which is reported as absent or "
                "present",
            )
        try:
            canonical = units.parse_unit(target)
            units.check_unit_for_dimension(unit, canonical.dimension, analyte=analyte.code)
            if value is not None:
                value_canonical = units.convert(value, unit, canonical)
            if loq is not None:
                loq_canonical = units.convert(loq, unit, canonical)
        except units.UnitError as error:
            raise DocumentError(f"{where}.unit", str(error)) from None
    return CleanResult(
        analyte=analyte,
        value=value,
        unit=unit.code if unit else "",
        qualifier=qualifier,
        loq=loq,
        basis=basis[:32],
        raw=(raw or _describe(item))[:200],
        value_canonical=_fits(value_canonical, f"{where}.value"),
        loq_canonical=_fits(loq_canonical, f"{where}.loq"),
    )


def _describe(item):
    parts = [str(item.get(k)) for k in ("qualifier", "value", "unit") if item.get(k)]
    if item.get("loq"):
        parts.append(f"(LOQ {item['loq']})")
    if item.get("basis"):
        parts.append(f"in {item['basis']}")
    return " ".join(parts)


def read_document(doc, *, catalogue, today=None):
    """Check a whole ``coa/1`` document; ``DocumentError`` on the first fault."""
    today = today or timezone.localdate()
    if not isinstance(doc, dict):
        raise DocumentError("document", "must be a JSON object")
    if doc.get("format") != FORMAT:
        raise DocumentError("format", f"must be '{FORMAT}'")
    lab = doc.get("lab")
    if not isinstance(lab, dict):
        raise DocumentError("lab", "is required (an object with at least 'name')")
    lab_clean = {
        "name": _text(lab, "name", where="lab"),
        "accreditation_body": _text(lab, "accreditation_body", required=False, where="lab"),
        "accreditation_id": _text(lab, "accreditation_id", required=False, where="lab"),
        "accredited_until": _date(lab, "accredited_until", where="lab"),
    }
    lots = doc.get("lots")
    if not isinstance(lots, list) or not lots or not all(isinstance(x, str) for x in lots):
        raise DocumentError("lots", "must be a non-empty list of lot codes")
    lots = [lot.strip() for lot in lots]
    if any(lot_code_problem(lot) for lot in lots):
        raise DocumentError("lots", "lot codes must be 1 to 64 characters with a letter or digit")
    if len({normalize_lot(lot) for lot in lots}) != len(lots):
        raise DocumentError("lots", "names the same lot twice")
    clean = CleanDocument(
        lab=lab_clean,
        report_number=_text(doc, "report_number"),
        vendor=_text(doc, "vendor"),
        product=_text(doc, "product"),
        lots=lots,
        tested_on=_date(doc, "tested_on", required=True),
        sampled_on=_date(doc, "sampled_on"),
        issued_on=_date(doc, "issued_on"),
        file=_text(doc, "file", required=False),
    )
    for key in ("tested_on", "sampled_on", "issued_on"):
        day = getattr(clean, key)
        if day and day > today:
            raise DocumentError(key, f"{day.isoformat()} is in the future")
    if clean.issued_on and clean.tested_on > clean.issued_on:
        raise DocumentError(
            "tested_on",
            f"{clean.tested_on.isoformat()} is after issued_on {clean.issued_on.isoformat()}",
        )
    if clean.sampled_on and clean.sampled_on > clean.tested_on:
        raise DocumentError(
            "sampled_on",
            f"{clean.sampled_on.isoformat()} is after tested_on {clean.tested_on.isoformat()}",
        )
    items = doc.get("results")
    if not isinstance(items, list) or not items:
        raise DocumentError("results", "must be a non-empty list")
    clean.results = read_results(items, catalogue)
    return clean


def read_results(items, catalogue):
    """Check every ``coa/1`` result item; one analyte may appear only once."""
    results, seen = [], {}
    for index, item in enumerate(items):
        result = read_result(item, index, catalogue)
        if result.analyte.code in seen:
            raise DocumentError(
                f"results[{index}].analyte",
                f"{result.analyte.code} is already given in results[{seen[result.analyte.code]}]",
            )
        seen[result.analyte.code] = index
        results.append(result)
    return results


def save_results(certificate, results):
    """Store checked results (``CleanResult``) on a certificate."""
    Result.objects.bulk_create(
        [
            Result(
                certificate=certificate,
                analyte=r.analyte,
                value=r.value,
                unit=r.unit,
                qualifier=r.qualifier,
                loq=r.loq,
                basis=r.basis,
                raw=r.raw,
                value_canonical=r.value_canonical,
                loq_canonical=r.loq_canonical,
            )
            for r in results
        ]
    )


def _slug(text, fallback):
    return slugify(text)[:100] or fallback


def lab_for(lab):
    found = Lab.objects.filter(name__iexact=lab["name"]).first()
    if found:
        return found
    base = _slug(lab["name"], "lab")
    slug, n = base, 1
    while Lab.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return Lab.objects.create(
        name=lab["name"],
        slug=slug,
        accreditation_body=lab["accreditation_body"],
        accreditation_id=lab["accreditation_id"],
        accredited_until=lab["accredited_until"],
    )


def import_document(clean, *, data, approve=False, by=None, original_filename=""):
    """Create the certificate for a checked document, with ``data`` as its
    file. Missing vendor, product, batches and lab are created. The stored
    file is removed again if anything fails."""
    checked = uploads.check_file(data, filename=original_filename or "certificate.pdf")
    name = uploads.store(checked.data, extension=checked.extension)
    preview = ""
    try:
        preview = uploads.store_preview(uploads.preview_png(checked))
        with transaction.atomic():
            return _create(clean, name, preview, checked, approve, by, original_filename)
    except BaseException:
        uploads.discard(name)
        uploads.discard(preview)
        raise


def _create(clean, name, preview, checked, approve, by, original_filename):
    vendor, _ = Vendor.objects.get_or_create(
        slug=_slug(clean.vendor, "vendor"), defaults={"name": clean.vendor}
    )
    product, _ = Product.objects.get_or_create(
        vendor=vendor,
        slug=_slug(clean.product, "product"),
        defaults={"name": clean.product, "form": Product.Form.POWDER},
    )
    lab = lab_for(clean.lab)
    existing = Certificate.objects.filter(lab=lab, report_number=clean.report_number).first()
    if existing:
        raise DocumentError(
            "report_number",
            f"report {clean.report_number} from {lab.name} is already in the registry "
            f"(certificate {existing.pk})",
        )
    batches = []
    for lot in clean.lots:
        batch = Batch.objects.with_lot(lot).filter(product=product).first()
        if batch is None:
            batch = Batch(product=product, lot_code=lot)
            batch.save()
        batches.append(batch)
    state = Certificate.State.APPROVED if approve else Certificate.State.PENDING
    certificate = Certificate.objects.create(
        vendor=vendor,
        lab=lab,
        report_number=clean.report_number,
        sampled_on=clean.sampled_on,
        tested_on=clean.tested_on,
        issued_on=clean.issued_on,
        file=name,
        preview=preview,
        sha256=uploads.sha256(checked.data),
        original_filename=original_filename[:255],
        content_type=checked.content_type,
        size=len(checked.data),
        page_count=checked.page_count,
        document_text=checked.text,
        state=state,
        uploaded_by=by,
        decided_at=timezone.now() if approve else None,
    )
    CertificateBatch.objects.bulk_create(
        [CertificateBatch(certificate=certificate, batch=b) for b in batches]
    )
    save_results(certificate, clean.results)
    ReviewEvent.objects.create(
        certificate=certificate,
        actor=by,
        action="imported",
        from_state="",
        to_state=state,
        reason="Imported from a coa/1 document" + (" as approved" if approve else ""),
    )
    trust.refresh(certificate)
    verdicts.refresh_products({product.pk})
    return certificate
