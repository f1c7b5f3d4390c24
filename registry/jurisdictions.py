"""How the product page's "by jurisdiction" table reads each standard's verdict.

Every shipped standard judges a product by its own rules (DESIGN.md "The
rules", the Standard and Requirement rows): Oklahoma, Georgia and the KCPA
require alkaloid testing only, so a product never tested for heavy metals or
microbes is "Tested & current" under them, and an extract with lead over the
baseline's 1.2 ppm is too. Each such verdict is right by its standard and
misleading when read as "safe" or "legal here".

Decision: the verdicts stay as computed (they are what that jurisdiction's
rules say, the table's point); the words around them change. The column says
"by its own rules", and each row names what the standard leaves out that the
default standard holds this product to, from the stored verdict rows alone
(no query):

* ``not_required`` - panels the default standard requires for this product's
  form that this standard does not require (a panel's ``required`` flag comes
  from the standard's requirements for the form, never from the batch);
* ``looser`` - panels both judge whose results are within this standard's
  limits and over the default's (Czech lead 3 mg/kg against 1.2 ppm). Only
  said when both verdicts describe the same batch, so the same results are
  compared.

Panels, not analytes: one short line per row stays readable at 360 px, and a
panel is what a consumer asks about ("were metals tested?").
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reading:
    """One row of the table: a standard, its verdict on the day, and what it
    does not hold the product to that the default standard does."""

    standard: object
    status: str
    is_default: bool
    not_required: tuple[str, ...] = ()
    looser: tuple[str, ...] = ()


def readings(rows, as_of):
    """``rows`` are a product's stored verdict rows (``ProductVerdict``, with
    ``standard``, ``status_on``, ``panels`` and ``batch_id``), default first."""
    default = next((row for row in rows if row.standard.is_default), None)
    base = {p["panel"]: p for p in (default.panels or ())} if default else {}
    base_required = [name for name, p in base.items() if p["required"]]
    made = []
    for row in rows:
        if row is default:
            made.append(Reading(row.standard, row.status_on(as_of), True))
            continue
        panels = row.panels or ()
        required = {p["panel"] for p in panels if p["required"]}
        same_batch = default is not None and row.batch_id == default.batch_id
        looser = tuple(
            p["panel"]
            for p in panels
            if same_batch
            and p["within_limits"] is True
            and base.get(p["panel"], {}).get("within_limits") is False
        )
        made.append(
            Reading(
                row.standard,
                row.status_on(as_of),
                False,
                tuple(name for name in base_required if name not in required),
                looser,
            )
        )
    return made
