"""The dose calculator: milligrams of mitragynine and 7-OH in a number of grams
of product (1 % w/w of 1 g is 10 mg).

One rule with the verdict: the figures are those of the batch that decides
the product's verdict (``ProductVerdict.batch``, the worst batch on sale),
read from its stored judgements under the default standard - the newest
counted result per analyte, the very numbers in the page's results table.
The calculator once took the newest on-sale lot with alkaloid figures
instead, so it could describe a lot the verdict, panels and results did not.

Never a "?" for a number: an amount is a number rounded to three significant
figures (lab results carry two or three; a fixed 0.1 mg turned 0.021 mg of
7-OH into 0.0, which the page then showed as "?"), or a reason it cannot be
worked out (not detected, below the lab's limit of quantitation, not on the
certificate).
"""

from dataclasses import dataclass
from decimal import Decimal

from . import units
from .evaluation import MITRAGYNINE, SEVEN_OH

ANALYTES = (MITRAGYNINE, SEVEN_OH)

NOT_REPORTED = "no counted certificate for this lot reports it"
NOT_DETECTED = "the lab reported it as not detected"
BELOW_LOQ = "the lab reported it as below its limit of quantitation"
NO_UNIT = "the certificate gives it in a unit that cannot be converted to mg per g"


@dataclass(frozen=True, slots=True)
class Figure:
    """One alkaloid of a batch: ``mg_per_g`` when the lab gave a number,
    else ``reason`` says why there is none."""

    analyte: str
    mg_per_g: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Amount:
    analyte: str
    mg: Decimal | None
    reason: str = ""


def figures(judgements):
    """Mitragynine and 7-OH of a batch from its stored judgements (dicts as
    ``Judgement.as_dict``): the concentration ones, where a result with no
    limit is shown as measured. ``None`` when the batch has no counted
    alkaloid result at all, so there is nothing to calculate from."""
    found = {
        j["analyte"]: j
        for j in judgements or ()
        if j.get("analyte") in ANALYTES
        and j.get("basis") == "concentration"
        and j.get("outcome") != "missing"
    }
    if not found:
        return None
    return [_figure(analyte, found.get(analyte)) for analyte in ANALYTES]


def _figure(analyte, judgement):
    if judgement is None:
        return Figure(analyte, reason=NOT_REPORTED)
    qualifier = judgement.get("qualifier")
    if qualifier == "ND":
        return Figure(analyte, reason=NOT_DETECTED)
    if qualifier == "<LOQ":
        return Figure(analyte, reason=BELOW_LOQ)
    measured = judgement.get("measured")
    if measured in (None, ""):
        return Figure(analyte, reason=NOT_REPORTED)
    try:
        factor = units.factor(judgement.get("unit") or "", "mg/g")
    except units.UnitError:
        return Figure(analyte, reason=NO_UNIT)
    return Figure(analyte, mg_per_g=Decimal(measured) * factor)


@dataclass(frozen=True, slots=True)
class Dose:
    """``known``: the amounts worked out; ``unknown``: those that cannot be,
    each with its reason (a sentence of its own on the page)."""

    grams: Decimal
    known: tuple[Amount, ...]
    unknown: tuple[Amount, ...]


def amounts(batch_figures, grams):
    """Each figure times ``grams``, or the figure's reason."""
    if not batch_figures or grams is None:
        return None
    made = [
        Amount(f.analyte, None if f.mg_per_g is None else significant(f.mg_per_g * grams), f.reason)
        for f in batch_figures
    ]
    return Dose(
        grams,
        tuple(a for a in made if a.mg is not None),
        tuple(a for a in made if a.mg is None),
    )


def significant(value, digits=3):
    """``value`` rounded to ``digits`` significant figures (zero stays zero)."""
    if not value:
        return Decimal(0)
    return value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1))
