"""Trust checks: what a reviewer should know about an upload before deciding.

Each check is a small function of a certificate that returns findings
(``{"code", "detail"}``) with their evidence; ``run`` gathers them. They flag,
they never decide: a reviewer reads them beside the document. The red flags
come from reference/standards.md ("Red flags reviewers look for"): the same
report on several vendors or batches, dates that cannot be, a lab outside its
accreditation, a lot code that is not on the document, every result "ND", a
potency-only report offered as full testing, an alkaloid profile unlike leaf.
"""

import re
from decimal import Decimal

from django.utils import timezone

from .models import Certificate

# Leaf carries 7-OH at roughly 0.01–2 % of its alkaloids (standards.md,
# "Reference figures"); products sold for 7-OH measure 22–75 mg/g 7-OH beside
# 2–6 mg/g mitragynine. A 7-OH : mitragynine ratio above 5 % is well outside
# leaf and worth a reviewer's look; above 1 it is a spiked product.
LEAF_RATIO_LIMIT = Decimal("0.05")

EMPTY = ("ND", "<LOQ", "absent")


def flag(code, detail):
    return {"code": code, "detail": detail}


def _elsewhere(certificate, others):
    """Of ``others``, those attached to another vendor or other batches: the
    same report re-used, not merely uploaded twice for the same batches."""
    mine = set(certificate.batches.values_list("pk", flat=True))
    return [
        other
        for other in others.exclude(pk=certificate.pk).prefetch_related("batches")
        if other.vendor_id != certificate.vendor_id or {b.pk for b in other.batches.all()} != mine
    ]


def _ids(certificates):
    return ", ".join(f"#{c.pk}" for c in certificates)


def duplicate_file(certificate):
    clashes = _elsewhere(certificate, Certificate.objects.filter(sha256=certificate.sha256))
    if not clashes:
        return []
    return [flag("duplicate_file", f"The same file is already on certificate {_ids(clashes)}.")]


def duplicate_report_number(certificate):
    same_report = Certificate.objects.filter(
        lab_id=certificate.lab_id, report_number__iexact=certificate.report_number
    ).exclude(state=Certificate.State.REJECTED)
    clashes = _elsewhere(certificate, same_report)
    if not clashes:
        return []
    return [
        flag(
            "duplicate_report_number",
            f"Report {certificate.report_number} from {certificate.lab} is already on "
            f"certificate {_ids(clashes)}.",
        )
    ]


def impossible_dates(certificate, today=None):
    today = today or timezone.localdate()
    sampled, tested, issued = certificate.sampled_on, certificate.tested_on, certificate.issued_on
    problems = []
    for name, day in (("sampled", sampled), ("tested", tested), ("issued", issued)):
        if day and day > today:
            problems.append(f"{name} {day.isoformat()} is in the future")
    if issued and tested and tested > issued:
        problems.append(f"tested {tested.isoformat()} after issued {issued.isoformat()}")
    if sampled and tested and tested < sampled:
        problems.append(f"tested {tested.isoformat()} before sampled {sampled.isoformat()}")
    if not problems:
        return []
    return [flag("impossible_dates", "Dates that cannot be: " + "; ".join(problems) + ".")]


def lab_not_accredited(certificate):
    lab = certificate.lab
    if lab.accredited_on(certificate.tested_on):
        return []
    if not lab.accredited_until:
        detail = f"{lab} has no ISO/IEC 17025 accreditation on record."
    else:
        detail = (
            f"{lab}'s ISO/IEC 17025 accreditation ({lab.accreditation_body} "
            f"{lab.accreditation_id}, valid until {lab.accredited_until.isoformat()}) did not "
            f"cover the test date {certificate.tested_on.isoformat()}."
        )
    return [flag("lab_not_accredited", detail)]


def _alnum(text):
    """Letters and digits only: text layers split and hyphenate lot codes
    ("GMD - 0926", "GMD 0926"), so punctuation and spacing are ignored."""
    return re.sub(r"[\W_]+", "", text).upper()


def lot_not_in_document(certificate):
    text = certificate.document_text
    lots = list(certificate.batches.values_list("lot_code", flat=True))
    if not text.strip():
        return [
            flag(
                "lot_not_in_document",
                "The document has no readable text, so its lot code could not be checked.",
            )
        ]
    haystack = _alnum(text)
    missing = [lot for lot in lots if _alnum(lot) not in haystack]
    if not missing:
        return []
    return [
        flag("lot_not_in_document", f"Lot {', '.join(missing)} does not appear in the document.")
    ]


def result_rows(certificate):
    return list(certificate.results.select_related("analyte"))


def all_nd(certificate, results):
    if results and all(r.qualifier in EMPTY for r in results):
        return [flag("all_nd", f"All {len(results)} results are ND, below LOQ or absent.")]
    return []


def potency_only(certificate, results):
    panels = {r.analyte.panel for r in results}
    if panels == {"alkaloids"}:
        return [
            flag(
                "potency_only",
                "Only alkaloids are reported: no contaminant testing on this certificate.",
            )
        ]
    return []


def alkaloid_profile(certificate, results):
    by_code = {r.analyte.code: r for r in results}
    mit, oh = by_code.get("mitragynine"), by_code.get("7-hydroxymitragynine")
    if not mit or not oh or mit.qualifier or oh.qualifier:
        return []
    ratio = oh.value_canonical / mit.value_canonical if mit.value_canonical else None
    if ratio is not None and ratio <= LEAF_RATIO_LIMIT:
        return []
    shown = "undefined" if ratio is None else f"{ratio * 100:.1f} %"
    return [
        flag(
            "alkaloid_profile",
            f"7-OH is {shown} of mitragynine ({oh.display()} vs {mit.display()}); leaf "
            f"rarely exceeds {LEAF_RATIO_LIMIT * 100:.0f} %. Possible added 7-OH.",
        )
    ]


def run(certificate, *, today=None):
    """Every check's findings, in a stable order."""
    results = result_rows(certificate)
    findings = []
    findings += duplicate_file(certificate)
    findings += duplicate_report_number(certificate)
    findings += impossible_dates(certificate, today)
    findings += lab_not_accredited(certificate)
    findings += lot_not_in_document(certificate)
    findings += all_nd(certificate, results)
    findings += alkaloid_profile(certificate, results)
    findings += potency_only(certificate, results)
    return findings


def refresh(certificate, *, today=None):
    certificate.flags = run(certificate, today=today)
    Certificate.objects.filter(pk=certificate.pk).update(flags=certificate.flags)
    return certificate.flags
