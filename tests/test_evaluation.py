"""The verdict engine, rule by rule (DESIGN.md "The rules"), then standard by
standard with the numbers of reference/standards.md as shipped in the data
migration."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import evaluation as ev
from registry.evaluation import (
    CertificateFacts,
    ProductFacts,
    RequirementSpec,
    ResultFacts,
    StandardSpec,
)

AS_OF = dt.date(2026, 11, 25)
POWDER = ProductFacts(form="powder", serving_size_g=D("3"), max_servings_per_day=3)


def cert(id=1, tested_on=dt.date(2026, 9, 4), state="approved", until=dt.date(2030, 1, 1), **kw):
    return CertificateFacts(
        id=id,
        tested_on=tested_on,
        state=state,
        lab_accredited_from=dt.date(2020, 1, 1),
        lab_accredited_until=until,
        **kw,
    )


PANEL = {
    "mitragynine": ("alkaloids", "%"),
    "7-hydroxymitragynine": ("alkaloids", "%"),
    "paynantheine": ("alkaloids", "%"),
    "lead": ("heavy_metals", "ppm"),
    "cadmium": ("heavy_metals", "ppm"),
    "salmonella": ("microbials", ""),
    "total-yeast-mold": ("microbials", "CFU/g"),
}


def res(analyte, value=None, *, qualifier="", loq=None, certificate=None):
    panel, unit = PANEL[analyte]
    return ResultFacts(
        analyte=analyte,
        panel=panel,
        certificate=certificate or cert(),
        value=None if value is None else D(value),
        qualifier=qualifier,
        loq=None if loq is None else D(loq),
        unit=unit,
    )


def req(analyte, limit=None, comparison="le", basis="concentration", unit=None, **kw):
    panel, canonical = PANEL[analyte]
    return RequirementSpec(
        analyte=analyte,
        panel=panel,
        basis=basis,
        limit=None if limit is None else D(limit),
        comparison=comparison,
        unit=unit if unit is not None else ("" if limit is None else canonical),
        **kw,
    )


def std(*requirements, max_age_days=365):
    return StandardSpec(code="t", requirements=requirements, max_age_days=max_age_days)


LEAD = std(req("lead", "1.2", "lt"))


def outcome(result, standard=LEAD, product=POWDER):
    verdict = ev.evaluate([result], product, standard, AS_OF)
    return verdict.judgements[0].outcome


# --- within limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (res("lead", "0.21"), "pass"),
        (res("lead", "1.19"), "pass"),
        (res("lead", "1.2"), "fail"),  # Utah's "<": equal to the limit fails
        (res("lead", "3"), "fail"),
        (res("lead", qualifier="ND"), "pass"),
        (res("lead", qualifier="<LOQ", loq="0.05"), "pass"),
        (res("lead", qualifier="<LOQ", loq="1.2"), "pass"),  # LOQ at the limit passes
        (res("lead", qualifier="<LOQ", loq="2"), "indeterminate"),
        (res("lead", qualifier="<LOQ"), "indeterminate"),  # no LOQ given
    ],
)
def test_concentration_limits(result, expected):
    assert outcome(result) == expected


def test_less_or_equal_passes_at_the_limit():
    assert outcome(res("lead", "3"), std(req("lead", "3", "le", unit="mg/kg"))) == "pass"


def test_limit_in_another_unit_is_normalised():
    """CZ writes mercury in mg/kg; 0.1 mg/kg == 100 ppb == 0.1 ppm."""
    standard = std(req("lead", "100", "le", unit="ppb"))
    assert outcome(res("lead", "0.1"), standard) == "pass"
    assert outcome(res("lead", "0.1001"), standard) == "fail"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (res("salmonella", qualifier="absent"), "pass"),
        (res("salmonella", qualifier="ND"), "pass"),
        (res("salmonella", qualifier="present"), "fail"),
        (res("salmonella", qualifier="<LOQ", loq="10"), "indeterminate"),
    ],
)
def test_qualitative_microbials(result, expected):
    assert outcome(result, std(req("salmonella", basis="qualitative"))) == expected


def test_reported_only_requirement_needs_presence_only():
    verdict = ev.evaluate([res("mitragynine", "45")], POWDER, std(req("mitragynine")), AS_OF)
    assert verdict.judgements[0].outcome == "reported"
    assert verdict.overall == "current"


# --- per serving / per day -----------------------------------------------


def test_per_serving_limit_uses_serving_size():
    """Georgia: mitragynine ≤ 150 mg per serving. 1.52 % of 3 g = 45.6 mg."""
    standard = std(req("mitragynine", "150", basis="per_serving", unit="mg"))
    verdict = ev.evaluate([res("mitragynine", "1.52")], POWDER, standard, AS_OF)
    assert verdict.judgements[0].outcome == "pass"
    assert verdict.judgements[0].measured == D("45.6")
    big = ProductFacts(form="powder", serving_size_g=D("9"))  # 136.8 mg
    assert ev.evaluate([res("mitragynine", "1.52")], big, standard, AS_OF).overall == "current"
    strong = ev.evaluate([res("mitragynine", "5.1")], POWDER, standard, AS_OF)
    assert strong.judgements[0].outcome == "fail"  # 153 mg


def test_per_serving_without_serving_size_is_indeterminate():
    standard = std(req("mitragynine", "150", basis="per_serving", unit="mg"))
    verdict = ev.evaluate(
        [res("mitragynine", "1.52")], ProductFacts(form="powder"), standard, AS_OF
    )
    assert verdict.judgements[0].outcome == "indeterminate"
    assert verdict.overall == "incomplete"
    assert verdict.panel("alkaloids").within_limits is None


def test_per_day_limit_uses_daily_intake():
    """USP ⟨2232⟩: lead 5 µg/day. At 3 g × 3 servings, 0.5 ppm = 4.5 µg."""
    standard = std(req("lead", "5", basis="per_day", unit="µg"))
    assert outcome(res("lead", "0.5"), standard) == "pass"
    assert outcome(res("lead", "0.6"), standard) == "fail"  # 5.4 µg
    no_max = ProductFacts(form="powder", serving_size_g=D("3"))
    assert outcome(res("lead", "0.5"), standard, no_max) == "indeterminate"


# --- alkaloid share ------------------------------------------------------

SHARE = std(
    req("7-hydroxymitragynine"), req("7-hydroxymitragynine", "2", basis="alkaloid_share", unit="%")
)


def share_judgement(results):
    verdict = ev.evaluate(results, POWDER, SHARE, AS_OF)
    return next(j for j in verdict.judgements if j.basis == "alkaloid_share")


def test_share_within_one_certificate():
    leaf = share_judgement([res("mitragynine", "1.5"), res("7-hydroxymitragynine", "0.02")])
    assert leaf.outcome == "pass"
    assert leaf.measured == D("1.316")  # 0.02 / 1.52
    spiked = share_judgement([res("mitragynine", "0.4"), res("7-hydroxymitragynine", "2.5")])
    assert spiked.outcome == "fail"


def test_share_exactly_at_limit_passes_le():
    assert (
        share_judgement([res("mitragynine", "0.98"), res("7-hydroxymitragynine", "0.02")]).outcome
        == "pass"
    )


def test_share_never_mixes_certificates():
    """7-OH from one certificate and mitragynine from another cannot form a
    ratio: the rule is judged within one certificate."""
    a, b = cert(1), cert(2)
    judged = share_judgement(
        [
            res("mitragynine", "1.5", certificate=a),
            res("7-hydroxymitragynine", "0.02", certificate=b),
        ]
    )
    assert judged.outcome == "indeterminate"


def test_share_uses_newest_certificate_reporting_both():
    old, new = cert(1, dt.date(2026, 3, 1)), cert(2, dt.date(2026, 9, 1))
    results = [
        res("mitragynine", "0.5", certificate=old),
        res("7-hydroxymitragynine", "0.5", certificate=old),  # 50 %: fails
        res("mitragynine", "1.5", certificate=new),
        res("7-hydroxymitragynine", "0.01", certificate=new),
    ]
    assert share_judgement(results).outcome == "pass"


def test_share_with_nd_and_loq():
    assert (
        share_judgement(
            [res("mitragynine", "1.5"), res("7-hydroxymitragynine", qualifier="ND")]
        ).outcome
        == "pass"
    )
    small_loq = [
        res("mitragynine", "1.5"),
        res("7-hydroxymitragynine", qualifier="<LOQ", loq="0.01"),
    ]
    assert share_judgement(small_loq).outcome == "pass"
    big_loq = [res("mitragynine", "0.1"), res("7-hydroxymitragynine", qualifier="<LOQ", loq="0.05")]
    assert share_judgement(big_loq).outcome == "indeterminate"


# --- present and current -------------------------------------------------

BASE = std(
    req("mitragynine"),
    req("7-hydroxymitragynine"),
    req("lead", "1.2", "lt"),
    req("cadmium", "0.82", "lt"),
    req("salmonella", basis="qualitative"),
    req("total-yeast-mold", "100000", required=False),
)


def full(certificate=None, **values):
    certificate = certificate or cert()
    base = {
        "mitragynine": ("1.5", ""),
        "7-hydroxymitragynine": ("0.02", ""),
        "lead": ("0.2", ""),
        "cadmium": (None, "ND"),
        "salmonella": (None, "absent"),
    }
    base.update(values)
    return [res(a, v, qualifier=q, certificate=certificate) for a, (v, q) in base.items() if v or q]


def test_everything_present_current_and_within():
    verdict = ev.evaluate(full(), POWDER, BASE, AS_OF)
    assert verdict.overall == "current"
    assert verdict.current_until == dt.date(2027, 9, 4)
    assert [p.panel for p in verdict.panels] == ["alkaloids", "heavy_metals", "microbials"]
    assert all(p.within_limits is True for p in verdict.panels)


def test_missing_analyte_makes_panel_missing():
    results = [r for r in full() if r.analyte != "cadmium"]
    verdict = ev.evaluate(results, POWDER, BASE, AS_OF)
    metals = verdict.panel("heavy_metals")
    assert metals.present is False and metals.missing_analytes == ("cadmium",)
    assert metals.state(AS_OF) == "missing"
    assert verdict.overall == "incomplete"


def test_optional_analyte_absent_is_fine_but_judged_when_reported():
    assert ev.evaluate(full(), POWDER, BASE, AS_OF).overall == "current"
    moldy = full() + [res("total-yeast-mold", "200000")]
    verdict = ev.evaluate(moldy, POWDER, BASE, AS_OF)
    assert verdict.overall == "fails_limits"
    assert verdict.panel("microbials").within_limits is False


def test_panels_combine_across_certificates_and_oldest_decides_currency():
    chem, micro = cert(1, dt.date(2026, 9, 4)), cert(2, dt.date(2026, 9, 11))
    results = [r for r in full(chem) if r.panel != "microbials"]
    results += [res("salmonella", qualifier="absent", certificate=micro)]
    verdict = ev.evaluate(results, POWDER, BASE, AS_OF)
    assert verdict.overall == "current"
    assert verdict.panel("microbials").current_until == dt.date(2027, 9, 11)
    assert verdict.current_until == dt.date(2027, 9, 4)  # the earliest panel


def test_staleness_is_a_date_comparison():
    verdict = ev.evaluate(full(cert(tested_on=dt.date(2025, 11, 1))), POWDER, BASE, AS_OF)
    assert verdict.status == "current"  # what is stored
    assert verdict.current_until == dt.date(2026, 11, 1)
    assert verdict.overall == "stale"
    assert ev.effective_status("current", verdict.current_until, dt.date(2026, 11, 1)) == "current"
    assert ev.effective_status("current", verdict.current_until, dt.date(2026, 11, 2)) == "stale"
    assert verdict.panel("alkaloids").state(AS_OF) == "stale"


def test_newest_result_per_analyte_counts():
    old, new = cert(1, dt.date(2026, 1, 1)), cert(2, dt.date(2026, 9, 1))
    results = full(old, lead=("2.0", "")) + [res("lead", "0.3", certificate=new)]
    verdict = ev.evaluate(results, POWDER, BASE, AS_OF)
    assert verdict.overall == "current"
    assert verdict.panel("heavy_metals").certificates == (1, 2)


@pytest.mark.parametrize("state", ["pending", "rejected", "withdrawn"])
def test_only_approved_certificates_count(state):
    verdict = ev.evaluate(full(cert(state=state)), POWDER, BASE, AS_OF)
    assert verdict.overall == "untested"


def test_lab_must_be_accredited_on_the_test_date():
    lapsed = cert(tested_on=dt.date(2026, 9, 4), until=dt.date(2026, 6, 30))
    assert ev.evaluate(full(lapsed), POWDER, BASE, AS_OF).overall == "untested"
    on_last_day = cert(tested_on=dt.date(2026, 6, 30), until=dt.date(2026, 6, 30))
    assert ev.evaluate(full(on_last_day), POWDER, BASE, AS_OF).overall == "current"
    relaxed = StandardSpec(code="x", requirements=BASE.requirements, requires_accreditation=False)
    assert ev.evaluate(full(lapsed), POWDER, relaxed, AS_OF).overall == "current"


def test_no_results_is_untested():
    verdict = ev.evaluate([], POWDER, BASE, AS_OF)
    assert verdict.overall == "untested"
    assert all(p.state(AS_OF) == "missing" for p in verdict.panels)


def test_precedence_fails_over_incomplete_over_stale():
    old = cert(tested_on=dt.date(2025, 1, 1))
    failing_and_incomplete = [r for r in full(old, lead=("5", "")) if r.analyte != "cadmium"]
    assert ev.evaluate(failing_and_incomplete, POWDER, BASE, AS_OF).overall == "fails_limits"
    stale_and_incomplete = [r for r in full(old) if r.analyte != "cadmium"]
    assert ev.evaluate(stale_and_incomplete, POWDER, BASE, AS_OF).overall == "incomplete"


def test_indeterminate_is_at_best_incomplete():
    results = full(lead=(None, "<LOQ"))
    verdict = ev.evaluate(results, POWDER, BASE, AS_OF)
    assert verdict.overall == "incomplete"
    assert verdict.panel("heavy_metals").within_limits is None


def test_requirement_for_other_forms_does_not_apply():
    extract_only = std(req("lead", "1", forms=("extract",)))
    verdict = ev.evaluate([res("lead", "5")], POWDER, extract_only, AS_OF)
    assert verdict.judgements == ()


# --- label accuracy ------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "claim", "accuracy", "flagged"),
    [
        ("1.5", "45", "100.0", False),
        ("1.2", "45", "80.0", False),
        ("1.19", "45", "79.3", True),
        ("1.81", "45", "120.7", True),
    ],
)
def test_label_accuracy_flags_outside_twenty_percent(percent, claim, accuracy, flagged):
    product = ProductFacts(form="powder", serving_size_g=D("3"), label_mitragynine_mg=D(claim))
    verdict = ev.evaluate(full(mitragynine=(percent, "")), product, BASE, AS_OF)
    assert verdict.label_accuracy == D(accuracy)
    assert verdict.label_flagged is flagged
    assert verdict.overall == "current"  # flagged, never failed


# --- products ------------------------------------------------------------

NOV = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("batches", "expected", "deciding"),
    [
        ([], "untested", None),
        ([("untested", None)], "untested", 0),
        ([("current", NOV), ("fails_limits", None)], "fails_limits", 1),
        ([("current", NOV), ("incomplete", None)], "incomplete", 1),
        ([("current", dt.date(2027, 1, 1)), ("current", NOV)], "current", 1),
        ([("current", NOV), ("untested", None)], "incomplete", 1),
        ([("incomplete", None), ("fails_limits", None), ("current", NOV)], "fails_limits", 1),
    ],
)
def test_worst_batch_on_sale_decides(batches, expected, deciding):
    combined = ev.combine(batches)
    assert combined.status == expected
    assert combined.deciding == deciding


def test_product_goes_stale_with_its_first_stale_batch():
    combined = ev.combine([("current", dt.date(2027, 1, 1)), ("current", NOV)])
    assert combined.current_until == NOV
    assert ev.effective_status(combined.status, combined.current_until, AS_OF) == "stale"


# --- properties ----------------------------------------------------------

values = st.decimals(min_value=D("0"), max_value=D("100"), places=3)


@given(values, values)
def test_lower_value_never_judged_worse(low, high):
    low, high = sorted([low, high])
    rank = {"pass": 0, "fail": 1}
    assert rank[outcome(res("lead", str(low)))] <= rank[outcome(res("lead", str(high)))]


@given(st.lists(st.sampled_from(["current", "fails_limits", "incomplete", "untested"]), max_size=6))
def test_product_never_better_than_a_tested_batch(statuses):
    batches = [(s, NOV if s == "current" else None) for s in statuses]
    combined = ev.combine(batches)
    tested = [s for s in statuses if s != "untested"]
    if tested:
        assert ev.RANK[combined.status] >= max(ev.RANK[s] for s in tested)
    else:
        assert combined.status == "untested"


def test_total_alkaloids_with_a_loq_is_judged_by_its_upper_bound():
    """Oklahoma's 3.5 % cap: 3.4 % measured plus an alkaloid <LOQ 0.5 % may
    be 3.9 %, so it cannot pass; with <LOQ 0.05 % it stays under."""
    cap = std(RequirementSpec("mitragynine", "alkaloids", "alkaloid_total", D("3.5"), "le", "%"))
    near = [res("mitragynine", "3.4"), res("paynantheine", qualifier="<LOQ", loq="0.5")]
    assert ev.evaluate(near, POWDER, cap, AS_OF).judgements[0].outcome == "indeterminate"
    small = [res("mitragynine", "3.4"), res("paynantheine", qualifier="<LOQ", loq="0.05")]
    assert ev.evaluate(small, POWDER, cap, AS_OF).judgements[0].outcome == "pass"
    over = [res("mitragynine", "3.6"), res("paynantheine", qualifier="<LOQ", loq="0.05")]
    assert ev.evaluate(over, POWDER, cap, AS_OF).judgements[0].outcome == "fail"


# --- several standards at once -----------------------------------------------

# Standards that overlap the way the shipped ones do: equal requirements in
# several standards, two standards with equal rules, a shorter maximum age,
# one that does not require accreditation, a requirement for one form only.
SHARED_LEAD = req("lead", "1", "le")
PLAN_STANDARDS = [
    std(SHARED_LEAD, req("salmonella", basis="qualitative"), req("mitragynine")),
    std(SHARED_LEAD, req("salmonella", basis="qualitative"), req("mitragynine")),
    std(
        SHARED_LEAD,
        req("cadmium", "0.3", "lt", required=False),
        req("7-hydroxymitragynine", "2", basis="alkaloid_share"),
        max_age_days=180,
    ),
    StandardSpec(
        code="no-accreditation",
        requirements=(SHARED_LEAD, req("total-yeast-mold", "10000")),
        requires_accreditation=False,
    ),
    std(
        req("mitragynine", "60", basis="per_serving", unit="mg", forms=("capsules",)),
        req("lead", "0.5", "lt", basis="per_day", unit="ug"),
    ),
]

certificates = st.builds(
    cert,
    id=st.integers(1, 4),
    tested_on=st.sampled_from([dt.date(2025, 6, 1), dt.date(2026, 3, 1), dt.date(2026, 9, 4)]),
    state=st.sampled_from(["approved", "approved", "pending", "withdrawn"]),
    until=st.sampled_from([dt.date(2030, 1, 1), dt.date(2025, 12, 31)]),
)
readings = st.one_of(
    st.builds(lambda v: {"value": str(v)}, values),
    st.sampled_from(
        [
            {"qualifier": "ND"},
            {"qualifier": "<LOQ", "loq": "0.05"},
            {"qualifier": "<LOQ", "loq": "5"},
            {"qualifier": "absent"},
            {"qualifier": "present"},
        ]
    ),
)
batch_results = st.lists(
    st.builds(
        lambda analyte, reading, certificate: res(analyte, certificate=certificate, **reading),
        st.sampled_from(sorted(PANEL)),
        readings,
        certificates,
    ),
    max_size=12,
)
products = st.builds(
    ProductFacts,
    form=st.sampled_from(["powder", "capsules"]),
    serving_size_g=st.sampled_from([None, D("0.5"), D("3")]),
    max_servings_per_day=st.sampled_from([None, 1, 4]),
    label_mitragynine_mg=st.sampled_from([None, D("20")]),
)


@given(batch_results, products)
def test_a_plan_judges_as_each_standard_alone(results, product):
    """The shared work of a plan (equal rules, equal requirements, equal
    panels, one count of the results per accreditation rule) never changes
    a verdict."""
    together = SHARED_PLAN.evaluate(results, product, AS_OF)
    alone = [ev.evaluate(results, product, standard, AS_OF) for standard in PLAN_STANDARDS]
    assert together == alone


# One plan for every example, as a refresh keeps one for every batch: what it
# remembers from one product (untested verdicts per form) must hold for the next.
SHARED_PLAN = ev.Plan(PLAN_STANDARDS)
