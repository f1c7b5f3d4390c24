"""The verdict engine: results + product facts + a standard + a date → verdict.

A pure function with no ORM in it (``verdicts.py`` loads the facts and stores
what this returns). The rules, from DESIGN.md "The rules":

* Only results from *approved* certificates count, and, when the standard
  requires it (every shipped one does), only from labs whose ISO/IEC 17025
  accreditation covered the certificate's ``tested_on`` date.
* For each analyte the newest counted result is used (by ``tested_on``, then
  ``issued_on``, then the certificate's id): a lab may report metals and
  microbials on separate certificates.
* A panel is *present* when every analyte the standard requires in it has a
  result; it is *current* while its oldest counted result's ``tested_on`` is
  no more than ``max_age_days`` before the date. ``current_until`` is stored so
  staleness is a date comparison when read.
* Within limits, after unit normalisation: a number compared with ``<`` or
  ``≤`` as the standard writes it (Utah's metal limits are strict); ``ND``
  passes; ``<LOQ`` passes when the LOQ is at or below the limit and is
  otherwise *indeterminate*; qualitative microbials pass on absent and fail on
  present. Per-serving and per-day limits need the serving size (and the
  maximum servings per day); without them the requirement is indeterminate.
* Ratio rules (7-OH as a share of the alkaloids) are judged within one
  certificate: the newest counted one reporting 7-OH and another alkaloid.
* Overall: ``fails_limits`` > ``incomplete`` > ``stale`` > ``current``;
  ``untested`` when no certificate counts. Anything indeterminate makes the
  verdict at best ``incomplete``: the registry never shows a pass it cannot
  prove.
* Label accuracy (measured mitragynine per serving against the claim) is
  flagged outside ±20 %, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from . import units

APPROVED = "approved"

CURRENT = "current"
FAILS_LIMITS = "fails_limits"
STALE = "stale"
INCOMPLETE = "incomplete"
UNTESTED = "untested"

# Worse verdicts rank higher. ``stale`` never appears as a stored status: it is
# ``current`` read after ``current_until``.
RANK = {CURRENT: 0, STALE: 1, INCOMPLETE: 2, FAILS_LIMITS: 3}

PASS = "pass"  # noqa: S105 - an outcome, not a password
FAIL = "fail"
INDETERMINATE = "indeterminate"
MISSING = "missing"
REPORTED = "reported"

LABEL_TOLERANCE = Decimal("20")  # percent either side of the label claim

ALKALOID_PANEL = "alkaloids"
SEVEN_OH = "7-hydroxymitragynine"
MITRAGYNINE = "mitragynine"
TOTAL_ALKALOIDS = "total-alkaloids"


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    id: int
    tested_on: date
    state: str = APPROVED
    issued_on: date | None = None
    lab_accredited_from: date | None = None
    lab_accredited_until: date | None = None


@dataclass(slots=True)
class ResultFacts:
    """One result, its numbers already in the analyte's canonical ``unit``."""

    analyte: str
    panel: str
    certificate: CertificateFacts
    value: Decimal | None = None
    qualifier: str = ""
    loq: Decimal | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class ProductFacts:
    form: str
    serving_size_g: Decimal | None = None
    max_servings_per_day: int | None = None
    label_mitragynine_mg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RequirementSpec:
    analyte: str
    panel: str
    basis: str = "concentration"
    limit: Decimal | None = None
    comparison: str = "le"
    unit: str = ""
    required: bool = True
    forms: tuple[str, ...] = ()

    def applies_to(self, form):
        return not self.forms or form in self.forms


@dataclass(frozen=True, slots=True)
class StandardSpec:
    code: str
    requirements: tuple[RequirementSpec, ...]
    max_age_days: int = 365
    requires_accreditation: bool = True

    def rules(self):
        """What decides a verdict under this standard (equal rules, equal
        verdicts: Utah's limits and the baseline's may coincide)."""
        return (self.requirements, self.max_age_days, self.requires_accreditation)

    def layout(self, form):
        """The requirements that apply to ``form`` and the panels they make:
        ``(name, required, needed analytes, considered analytes)``."""
        requirements = tuple(q for q in self.requirements if q.applies_to(form))
        panels = []
        for name in dict.fromkeys(q.panel for q in requirements):
            reqs = [q for q in requirements if q.panel == name]
            needed = tuple(
                sorted({q.analyte for q in reqs if q.required and q.basis != "alkaloid_total"})
            )
            considered = needed or tuple(sorted({q.analyte for q in reqs}))
            panels.append((name, any(q.required for q in reqs), needed, considered))
        return requirements, tuple(panels)


@dataclass(slots=True)
class Judgement:
    analyte: str
    panel: str
    basis: str
    required: bool
    outcome: str
    limit: Decimal | None = None
    comparison: str = "le"
    unit: str = ""
    measured: Decimal | None = None  # in ``unit`` when the basis converts
    certificate: int | None = None
    note: str = ""
    qualifier: str = ""  # the result's: ND, <LOQ (measured is then the LOQ), absent, present

    def as_dict(self):
        return {
            "analyte": self.analyte,
            "panel": self.panel,
            "basis": self.basis,
            "required": self.required,
            "outcome": self.outcome,
            "limit": _str(self.limit),
            "comparison": self.comparison,
            "unit": self.unit,
            "measured": _str(self.measured),
            "certificate": self.certificate,
            "note": self.note,
            "qualifier": self.qualifier,
        }


@dataclass(slots=True)
class PanelVerdict:
    panel: str
    required: bool
    present: bool
    within_limits: bool | None
    tested_on: date | None = None
    current_until: date | None = None
    missing_analytes: tuple[str, ...] = ()
    certificates: tuple[int, ...] = ()

    def state(self, as_of):
        return panel_state(self.present, self.current_until, as_of)

    def as_dict(self):
        return {
            "panel": self.panel,
            "required": self.required,
            "present": self.present,
            "within_limits": self.within_limits,
            "tested_on": _iso(self.tested_on),
            "current_until": _iso(self.current_until),
            "missing_analytes": list(self.missing_analytes),
            "certificates": list(self.certificates),
        }


@dataclass(slots=True)
class Verdict:
    """``status`` is the verdict before the date is applied (never ``stale``);
    ``overall`` is the verdict on ``as_of``."""

    status: str
    as_of: date
    current_until: date | None = None
    panels: tuple[PanelVerdict, ...] = ()
    judgements: tuple[Judgement, ...] = ()
    label_accuracy: Decimal | None = None
    label_flagged: bool = False

    @property
    def overall(self):
        return effective_status(self.status, self.current_until, self.as_of)

    def panel(self, name):
        return next(p for p in self.panels if p.panel == name)


def effective_status(status, current_until, as_of):
    if status == CURRENT and current_until is not None and current_until < as_of:
        return STALE
    return status


def panel_state(present, current_until, as_of):
    if not present:
        return "missing"
    if current_until is not None and current_until < as_of:
        return STALE
    return CURRENT


def accredited_on(accredited_from, accredited_until, day):
    """A lab counts as accredited on ``day`` when its ISO/IEC 17025
    accreditation covers that day; no end date means no accreditation."""
    if accredited_until is None or day is None:
        return False
    return (accredited_from is None or accredited_from <= day) and day <= accredited_until


def counts(certificate, requires_accreditation=True):
    """Whether a certificate's results count: approved and, when the standard
    requires it, from a lab accredited on the test date."""
    if certificate.state != APPROVED:
        return False
    if not requires_accreditation:
        return True
    return accredited_on(
        certificate.lab_accredited_from, certificate.lab_accredited_until, certificate.tested_on
    )


def _newness(certificate):
    return (certificate.tested_on, certificate.issued_on or certificate.tested_on, certificate.id)


def evaluate(results, product, standard, as_of):
    """Judge one batch against one standard: ``results`` are every result of
    every certificate that names the batch (any state; this decides what
    counts)."""
    return Plan((standard,)).evaluate(results, product, as_of)[0]


def evaluate_many(results, product, standards, as_of):
    """Judge one batch against several standards (a ``Plan`` made once
    serves many batches)."""
    return Plan(standards).evaluate(results, product, as_of)


# How bad an outcome is, when several requirements judge one analyte (a
# concentration limit and a share of the alkaloids): the worst one stands.
_SEVERITY = {REPORTED: 0, PASS: 1, INDETERMINATE: 2, FAIL: 3}


def judge_results(results, product, standard):
    """Hold one certificate's ``results`` to ``standard``'s requirements for
    ``product``, on their own and whether or not the certificate counts
    towards a verdict (its page and the API show each number against its
    limit). ``{analyte: outcome}`` for the analytes a requirement judged;
    the worst outcome when several requirements judge one analyte."""
    results = list(results)
    requirements, _ = standard.layout(product.form)
    batch = _Batch(results, _newest(results), product)
    outcomes = {}
    for requirement in requirements:
        outcome = _judge_for(requirement)(batch).outcome
        if outcome == MISSING:
            continue
        held = outcomes.get(requirement.analyte)
        if held is None or _SEVERITY[outcome] > _SEVERITY[held]:
            outcomes[requirement.analyte] = outcome
    return outcomes


class Plan:
    """How to judge batches against several standards at once, sharing what
    they have in common, worked out once per product form:

    * standards with equal rules get one verdict (the same object);
    * standards with the same accreditation rule count the same results;
    * an equal requirement in several standards is judged once, by a
      function made for it when the plan is built (its basis, limit and
      unit decided once, not per batch);
    * an equal panel (same analytes, requirements and maximum age) is
      assessed once.

    ``evaluate`` gives the same verdicts as ``evaluate`` run per standard
    (a property test holds it to that); it is only quicker, which matters to
    a full refresh that judges every batch against every standard."""

    def __init__(self, standards):
        self.standards = tuple(standards)
        self._forms = {}
        self._untested = {}

    def _build(self, form):
        views = {}  # accreditation rule -> [unique requirements, panel specs, entries]
        entries = {}  # rules -> (view, entry index)
        order = []
        for standard in self.standards:
            rules = standard.rules()
            if rules not in entries:
                view = views.setdefault(standard.requires_accreditation, [{}, {}, [], {}])
                unique, panels, made, groups = view
                requirements, layout = standard.layout(form)
                positions = tuple(unique.setdefault(q, len(unique)) for q in requirements)
                age = timedelta(days=standard.max_age_days)
                panel_positions = []
                for name, required, needed, considered in layout:
                    mine = tuple(
                        p for p, q in zip(positions, requirements, strict=True) if q.panel == name
                    )
                    # Panels of the same analytes find the same results.
                    group = groups.setdefault((needed, considered), len(groups))
                    spec = (name, required, group, mine, age)
                    panel_positions.append(panels.setdefault(spec, len(panels)))
                made.append((positions, tuple(panel_positions)))
                entries[rules] = (standard.requires_accreditation, len(made) - 1)
            order.append(entries[rules])
        plan = (
            [
                (
                    rule,
                    tuple(_judge_for(q) for q in u),
                    tuple(g),
                    tuple(p),
                    tuple((_picker(j), _picker(k), j) for j, k in m),
                )
                for rule, (u, p, m, g) in views.items()
            ],
            order,
        )
        self._forms[form] = plan
        return plan

    def evaluate(self, results, product, as_of):
        views, order = self._forms.get(product.form) or self._build(product.form)
        made = {}
        for rule, judges, groups, panel_specs, entries in views:
            counted = _counted(results, rule)
            if not counted:
                # Nothing counts: every judgement is "missing", and the
                # verdicts depend on the form alone (which requirements
                # apply), so batches of a form share them.
                key = (rule, product.form, as_of)
                if key not in self._untested:
                    verdicts = _verdicts(judges, groups, panel_specs, entries, (), product, as_of)
                    self._untested[key] = verdicts
                made[rule] = self._untested[key]
            else:
                made[rule] = _verdicts(
                    judges, groups, panel_specs, entries, counted, product, as_of
                )
        return [made[rule][index] for rule, index in order]


def _counted(results, requires_accreditation):
    """The results that count, deciding once per certificate (a batch's
    results arrive certificate by certificate)."""
    counted = []
    last, ok = None, False
    for result in results:
        certificate = result.certificate
        if certificate is not last:
            last, ok = certificate, counts(certificate, requires_accreditation)
        if ok:
            counted.append(result)
    return counted


class _Batch:
    """What the judges of one batch share: its counted results, the newest
    result per analyte, the product, and (worked out when first asked) its
    alkaloids grouped by certificate."""

    __slots__ = ("counted", "newest", "product", "_alkaloids", "_shares")

    def __init__(self, counted, newest, product):
        self.counted = counted
        self.newest = newest
        self.product = product
        self._alkaloids = None
        self._shares = None

    def alkaloids(self):
        if self._alkaloids is None:
            self._alkaloids = _alkaloids_by_certificate(self.counted)
        return self._alkaloids

    def share(self, analyte):
        """``_share_of`` this analyte, worked out once for every standard
        with a share rule on it (they differ in the limit only)."""
        if self._shares is None:
            self._shares = {}
        found = self._shares.get(analyte)
        if found is None:
            found = self._shares[analyte] = _share_of(analyte, self.counted, self.alkaloids())
        return found

    def intake(self, per_day):
        """Grams of product in a serving, or in a day's servings; ``None``
        when the product does not say."""
        grams = self.product.serving_size_g
        if per_day and grams is not None:
            servings = self.product.max_servings_per_day
            grams = grams * servings if servings else None
        return grams


def _newest(counted):
    newest = {}
    for result in counted:
        held = newest.get(result.analyte)
        # (the same certificate is never newer than itself)
        newer = held is None or (
            result.certificate is not held.certificate
            and _newness(result.certificate) > _newness(held.certificate)
        )
        if newer:
            newest[result.analyte] = result
    return newest


def _picker(positions):
    """A function taking the items at ``positions`` of a list, as a tuple."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        (position,) = positions
        return lambda items: (items[position],)
    return lambda items: ()


_NONE = frozenset()


def _verdicts(judges, groups, panel_specs, entries, counted, product, as_of):
    """One verdict per entry (distinct rules) for one batch's counted results."""
    newest = _newest(counted)
    batch = _Batch(counted, newest, product)
    judged = [judge(batch) for judge in judges]
    # Which judgements fail or cannot be judged, looked at once for every
    # panel and entry (most batches have neither).
    outcomes = [j.outcome for j in judged]
    failing = {i for i, o in enumerate(outcomes) if o == FAIL} if FAIL in outcomes else _NONE
    unsure = (
        {i for i, o in enumerate(outcomes) if o == INDETERMINATE}
        if INDETERMINATE in outcomes
        else _NONE
    )
    found = [_found(needed, considered, newest) for needed, considered in groups]
    panels = [_panel(spec, found, failing, unsure) for spec in panel_specs]
    accuracy = label_accuracy(newest.get(MITRAGYNINE), product)
    flagged = accuracy is not None and abs(accuracy - 100) > LABEL_TOLERANCE
    tested = bool(counted)
    return [
        _verdict(
            tested,
            pick_judgements(judged),
            pick_panels(panels),
            accuracy,
            flagged,
            as_of,
            bool(failing) and not failing.isdisjoint(positions),
            bool(unsure) and not unsure.isdisjoint(positions),
        )
        for pick_judgements, pick_panels, positions in entries
    ]


def _verdict(tested, judgements, panels, accuracy, flagged, as_of, fails, unsure):
    if not tested:
        status, until = UNTESTED, None
    elif fails:
        status, until = FAILS_LIMITS, None
    elif unsure or any(p.required and not p.present for p in panels):
        status, until = INCOMPLETE, None
    else:
        deciding = [p for p in panels if p.required] or [p for p in panels if p.present]
        status, until = CURRENT, min((p.current_until for p in deciding), default=None)
    # positional: in the order of Verdict's fields
    return Verdict(status, as_of, until, panels, judgements, accuracy, flagged)


def _found(needed, considered, newest):
    """What a panel of these analytes finds among the newest results:
    ``(present, missing analytes, oldest test date, certificates)``."""
    found, missing = [], []
    for analyte in considered:
        result = newest.get(analyte)
        if result is not None:
            found.append(result)
        elif needed:  # then ``considered`` is ``needed``
            missing.append(analyte)
    present = bool(found) and not missing
    tested_on = min([r.certificate.tested_on for r in found]) if present else None
    ids = {r.certificate.id for r in found}
    return (
        present,
        tuple(missing),
        tested_on,
        tuple(sorted(ids)) if len(ids) > 1 else tuple(ids),
    )


def _panel(spec, found, failing, unsure):
    name, required, group, positions, age = spec
    present, missing, tested_on, certificates = found[group]
    if failing and not failing.isdisjoint(positions):
        within = False
    elif not present or (unsure and not unsure.isdisjoint(positions)):
        within = None
    else:
        within = True
    # positional: in the order of PanelVerdict's fields
    return PanelVerdict(
        name,
        required,
        present,
        within,
        tested_on,
        None if tested_on is None else tested_on + age,
        missing,
        certificates,
    )


def _judge_for(requirement):
    """The function that judges ``requirement`` for a batch (``_Batch``):
    its basis and limit are looked at here, once per plan."""
    basis = requirement.basis
    if basis == "alkaloid_share":
        return lambda batch: _judge_share(requirement, batch.share(requirement.analyte))
    if basis == "alkaloid_total":
        return lambda batch: _judge_total(requirement, batch.counted, batch.alkaloids())
    # One "missing" judgement per requirement, shared by every batch without
    # a result for it (judgements are never changed once made).
    missing = _judgement(requirement, MISSING)
    analyte = requirement.analyte
    if basis == "concentration" and requirement.limit is not None:
        return _concentration_judge(requirement, missing)
    if basis in ("per_serving", "per_day") and requirement.limit is not None:
        return _intake_judge(requirement, missing)
    if basis == "qualitative":
        judge = _judge_qualitative
    elif requirement.limit is None:

        def judge(requirement, result, product):
            return _judgement(requirement, REPORTED, result=result)

    else:

        def judge(requirement, result, product):
            raise ValueError(f"Unknown basis '{basis}'")

    def judged(batch):
        result = batch.newest.get(analyte)
        if result is None:
            return missing
        return judge(requirement, result, batch.product)

    return judged


def _measured(requirement, measured, strict, certificate):
    """A number in the limit's unit held to the limit: passes or fails."""
    q = requirement
    passed = measured < q.limit if strict else measured <= q.limit
    return Judgement(  # positional: in the order of Judgement's fields
        q.analyte,
        q.panel,
        q.basis,
        q.required,
        PASS if passed else FAIL,
        q.limit,
        q.comparison,
        q.unit,
        measured,
        certificate,
        "",
        "",
    )


def _concentration_judge(requirement, missing):
    """The commonest requirement (a limit on a concentration), with a
    measured number judged inline and anything else by ``_judge_number``."""
    q = requirement
    analyte, strict = q.analyte, q.comparison == "lt"
    factors = {}  # the result's unit -> the factor to the limit's unit

    def judged(batch):
        result = batch.newest.get(analyte)
        if result is None:
            return missing
        if result.qualifier:
            return _judge_number(q, result, grams=None)
        factor = factors.get(result.unit)
        if factor is None:
            factor = factors[result.unit] = units.factor(result.unit, q.unit)
        measured = result.value * factor
        return _measured(q, measured, strict, result.certificate.id)

    return judged


def _intake_judge(requirement, missing):
    """A limit per serving or per day: the concentration times the grams
    taken (``_in_limit_unit``), a measured number judged inline."""
    q = requirement
    analyte, strict = q.analyte, q.comparison == "lt"
    per_day = q.basis == "per_day"
    note = "needs the daily intake" if per_day else "needs the serving size"
    factors = {}  # the result's unit -> the factor to mg per g; "mg" -> mg to the limit's unit

    def judged(batch):
        result = batch.newest.get(analyte)
        if result is None:
            return missing
        grams = batch.intake(per_day)
        if grams is None:
            return _judgement(q, INDETERMINATE, result=result, note=note)
        if result.qualifier:
            return _judge_number(q, result, grams=grams)
        to_mg = factors.get(result.unit)
        if to_mg is None:
            to_mg = factors[result.unit] = units.factor(result.unit, "mg/g")
        to_limit = factors.get("mg")
        if to_limit is None:
            to_limit = factors["mg"] = units.factor("mg", q.unit)
        measured = result.value * to_mg * grams * to_limit
        return _measured(q, measured, strict, result.certificate.id)

    return judged


def _judgement(requirement, outcome, *, result=None, measured=None, note="", certificate=None):
    if certificate is None and result is not None:
        certificate = result.certificate.id
    unit = requirement.unit
    if outcome == REPORTED:  # no limit: show the result as measured
        measured, unit = result.value, result.unit
    return Judgement(  # positional: in the order of Judgement's fields
        requirement.analyte,
        requirement.panel,
        requirement.basis,
        requirement.required,
        outcome,
        requirement.limit,
        requirement.comparison,
        unit,
        measured,
        certificate,
        note,
        result.qualifier if result is not None else "",
    )


def within(value, limit, comparison):
    return value < limit if comparison == "lt" else value <= limit


def _in_limit_unit(amount, result_unit, requirement, grams):
    """Express a canonical concentration (or its LOQ) in the requirement's
    unit: as a concentration, or as a mass in ``grams`` of product."""
    if grams is None:
        return amount * units.factor(result_unit, requirement.unit)
    per_gram_mg = amount * units.factor(result_unit, "mg/g")
    return per_gram_mg * grams * units.factor("mg", requirement.unit)


def _judge_number(requirement, result, *, grams):
    limit, comparison = requirement.limit, requirement.comparison
    if result.qualifier == "ND" or result.qualifier == "absent":
        return _judgement(requirement, PASS, result=result)
    if result.qualifier == "present":
        return _judgement(requirement, INDETERMINATE, result=result, note="reported as present")
    if result.qualifier == "<LOQ":
        if result.loq is None:
            return _judgement(requirement, INDETERMINATE, result=result, note="LOQ not given")
        loq = _in_limit_unit(result.loq, result.unit, requirement, grams)
        if loq <= limit:
            return _judgement(requirement, PASS, result=result, measured=loq, note="below LOQ")
        return _judgement(
            requirement, INDETERMINATE, result=result, measured=loq, note="LOQ above the limit"
        )
    measured = _in_limit_unit(result.value, result.unit, requirement, grams)
    outcome = PASS if within(measured, limit, comparison) else FAIL
    return _judgement(requirement, outcome, result=result, measured=measured)


def _judge_qualitative(requirement, result, product=None):
    if result.qualifier in ("absent", "ND"):
        return _judgement(requirement, PASS, result=result)
    if result.qualifier == "present":
        return _judgement(requirement, FAIL, result=result)
    if result.qualifier == "" and result.value is not None:
        return _judgement(requirement, PASS if result.value == 0 else FAIL, result=result)
    return _judgement(requirement, INDETERMINATE, result=result, note="not reported as absent")


def _alkaloids_by_certificate(counted):
    by_certificate = {}
    for result in counted:
        if result.panel == ALKALOID_PANEL and result.analyte != TOTAL_ALKALOIDS:
            by_certificate.setdefault(result.certificate, {})[result.analyte] = result
    return sorted(by_certificate.items(), key=lambda item: _newness(item[0]), reverse=True)


def _amount(result):
    """The number a result contributes to a sum: ND, <LOQ count as zero."""
    return result.value if result.qualifier == "" and result.value is not None else Decimal(0)


def _share_of(target, counted, ranked):
    """What the newest counted certificate reporting ``target`` beside
    another alkaloid says of its share of the alkaloids measured there:
    ``(kind, its result, the share in %)``, the share exact (rounded only
    when shown)."""
    for _certificate, alkaloids in ranked:
        if target not in alkaloids or len(alkaloids) < 2:
            continue
        mine = alkaloids[target]
        others = sum((_amount(r) for a, r in alkaloids.items() if a != target), Decimal(0))
        if mine.qualifier == "ND":
            return ("nd", mine, Decimal(0))
        if mine.qualifier == "<LOQ":
            if mine.loq is None or others + mine.loq == 0:
                return ("below-loq", mine, None)
            return ("upper", mine, mine.loq * 100 / (others + mine.loq))
        amount = _amount(mine)
        total = others + amount
        if total == 0:
            return ("nothing", mine, None)
        return ("share", mine, amount * 100 / total)
    if any(r.analyte == target for r in counted):
        return ("alone", None, None)
    return ("missing", None, None)


def _judge_share(requirement, share):
    kind, mine, value = share
    if kind == "nd":
        return _judgement(requirement, PASS, result=mine, measured=value)
    if kind == "below-loq":
        return _judgement(requirement, INDETERMINATE, result=mine, note="below LOQ")
    if kind == "upper":
        # A <LOQ 7-OH may be anywhere up to its LOQ: it passes only if its
        # upper bound does, and never fails on a bound.
        inside = within(value, requirement.limit, requirement.comparison)
        outcome = PASS if inside else INDETERMINATE
        return _judgement(requirement, outcome, result=mine, measured=_round(value))
    if kind == "nothing":
        return _judgement(requirement, INDETERMINATE, result=mine, note="no alkaloids measured")
    if kind == "share":
        outcome = PASS if within(value, requirement.limit, requirement.comparison) else FAIL
        return _judgement(requirement, outcome, result=mine, measured=_round(value))
    if kind == "alone":
        return _judgement(
            requirement, INDETERMINATE, note="no certificate reports it beside other alkaloids"
        )
    return _judgement(requirement, MISSING)


def _judge_total(requirement, counted, ranked):
    reported = [r for r in counted if r.analyte == TOTAL_ALKALOIDS]
    if reported:
        newest = max(reported, key=lambda r: _newness(r.certificate))
        return _judge_number(requirement, newest, grams=None)
    if not ranked:
        return _judgement(requirement, MISSING)
    certificate, alkaloids = ranked[0]
    total = sum((_amount(r) for r in alkaloids.values()), Decimal(0))
    # A <LOQ alkaloid may be anywhere up to its LOQ: the sum is only proven
    # within the limit if it stays there with every LOQ added.
    below = [r.loq for r in alkaloids.values() if r.qualifier == "<LOQ"]
    upper = None if None in below else total + sum(below, Decimal(0))
    unit = next(iter(alkaloids.values())).unit
    factor = units.factor(unit, requirement.unit)
    measured = total * factor
    if not within(measured, requirement.limit, requirement.comparison):
        outcome = FAIL
    elif upper is not None and within(upper * factor, requirement.limit, requirement.comparison):
        outcome = PASS
    else:
        outcome = INDETERMINATE
    return _judgement(
        requirement, outcome, measured=measured, certificate=certificate.id, note="sum measured"
    )


def label_accuracy(mitragynine, product):
    """Measured mitragynine per serving as a percentage of the label claim."""
    if (
        mitragynine is None
        or mitragynine.qualifier != ""
        or not product.serving_size_g
        or not product.label_mitragynine_mg
    ):
        return None
    per_gram = mitragynine.value * units.factor(mitragynine.unit, "mg/g")
    measured_mg = per_gram * product.serving_size_g
    return (measured_mg * 100 / product.label_mitragynine_mg).quantize(Decimal("0.1"))


@dataclass
class ProductAggregate:
    status: str
    current_until: date | None = None
    deciding: int | None = None  # index into the input list
    batches: list = field(default_factory=list)


def combine(batch_statuses):
    """A product's verdict from its batches on sale: ``batch_statuses`` is a
    list of ``(status, current_until)`` as stored (never ``stale``). The worst
    decides; among ``current`` ones, the one that goes stale first. A batch on
    sale that is untested while others are tested leaves the product
    incomplete; no batch on sale, or none tested, leaves it untested."""
    if not batch_statuses:
        return ProductAggregate(UNTESTED)
    if all(s == UNTESTED for s, _ in batch_statuses):
        # The first batch on sale stands for the product: its panels show
        # what is missing.
        return ProductAggregate(UNTESTED, None, 0)

    def badness(item):
        status, until = item[1]
        status = INCOMPLETE if status == UNTESTED else status
        return (RANK[status], -(until.toordinal() if until else 0))

    index, (status, until) = max(enumerate(batch_statuses), key=badness)
    status = INCOMPLETE if status == UNTESTED else status
    return ProductAggregate(status, until if status == CURRENT else None, index)


def _round(value):
    return value.quantize(Decimal("0.001"))


def _str(value):
    return None if value is None else format(value, "f")


def _iso(day):
    return day.isoformat() if day else None
