"""The product page says only what its evidence shows: each jurisdiction's
verdict as that standard's own and what the standard leaves out, no "pass"
without a limit, which lot the verdict, panels, results and dose describe
(one lot for all of them), a dose calculator that lands on its answer, never
shows "?" for a number and is not bound by someone else's query string, a
7-OH trend on a scale of its own that is readable on a phone, and tables
that become cards at 360 px."""

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.utils import timezone

from registry import dose, jurisdictions
from registry.templatetags.registry_tags import limit_text, outcome_text, trend_chart

from .factories import BatchFactory, ProductFactory, certificate, full_panel_results

# 7-OH at 0.66 % of the alkaloids: within Oklahoma's 1 % share as well.
LOW_7OH = {"value": "0.01", "unit": "%"}
ALKALOIDS_ONLY = [
    {"analyte": "mitragynine", "value": "1.52", "unit": "%"},
    {"analyte": "7-hydroxymitragynine", **LOW_7OH},
]


class _Tables(HTMLParser):
    """Every table's rows as lists of cells: ``(tag, attrs, text)``; the
    tables' own attributes in ``attrs``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.attrs, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([])
            self.attrs.append(attrs)
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = [tag, attrs, ""]
        elif tag == "br" and self._cell:
            self._cell[2] += " "

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell:
            tag, attrs, text = self._cell
            self.tables[-1][-1].append((tag, attrs, " ".join(text.split())))
            self._cell = None

    def handle_data(self, data):
        if self._cell:
            self._cell[2] += data


def section(page, heading):
    """The HTML of the page's section labelled by ``heading``."""
    start = page.index(f'aria-labelledby="{heading}"')
    return page[start : page.index("</section>", start)]


def tables(html):
    parser = _Tables()
    parser.feed(html)
    return parser


def rows_by_header(html):
    """{row header text: [cell texts]} of the first table in ``html``."""
    return {
        row[0][2]: [text for _, _, text in row[1:]]
        for row in tables(html).tables[0]
        if row and row[0][0] == "th" and row[0][1].get("scope") == "row"
    }


def get(client, product, **query):
    response = client.get(product.get_absolute_url(), query)
    assert response.status_code == 200
    return response.content.decode()


# 1. The jurisdictions table: each verdict by its standard's own rules, and
#    what each standard does not require that the baseline does.


def test_a_standard_that_checks_alkaloids_only_says_what_it_does_not_require(client, db):
    """Oklahoma, Georgia and the KCPA require alkaloids only: their ✔ for a
    product never tested for metals or microbes says so beside it."""
    batch = BatchFactory(product__form="capsule", product__serving_size_g=Decimal("2.5"))
    certificate(batch, results=ALKALOIDS_ONLY)
    page = get(client, batch.product)
    table = section(page, "jurisdiction-heading")
    assert "by that standard's own rules" in table
    assert "Verdict by its own rules" in table
    rows = rows_by_header(table)
    by_name = {name.split(" ")[0]: cells for name, cells in rows.items()}
    for name in ("Oklahoma", "Georgia", "Kratom"):  # Kratom Consumer Protection Act
        verdict, left_out = by_name[name]
        assert "Tested & current" in verdict, name  # the verdict itself is unchanged
        assert left_out == "heavy metals, microbials", name
    assert "Incomplete testing" in by_name["Registry"][0]
    assert by_name["Czech"][1] == "microbials"
    assert by_name["USP"][1] == "alkaloids"
    assert by_name["Utah"][1] == "—"


def test_a_looser_limit_is_named_where_a_standard_passes_what_the_baseline_fails(client, db):
    """An extract with lead at 1.6 ppm (baseline ≤ 1.2): Oklahoma and the KCPA
    pass it without requiring metals at all; Czech judges metals, under a
    looser limit (3 mg/kg), and the row says so."""
    batch = BatchFactory(product__form="extract", product__serving_size_g=Decimal("0.5"))
    results = full_panel_results(
        lead={"value": "1.6", "unit": "ppm"}, **{"7-hydroxymitragynine": LOW_7OH}
    )
    certificate(batch, results=results)
    page = get(client, batch.product)
    rows = {
        name.split(" ")[0]: cells
        for name, cells in rows_by_header(section(page, "jurisdiction-heading")).items()
    }
    assert "Fails limits" in rows["Registry"][0]
    for name in ("Oklahoma", "Kratom"):
        assert "Tested & current" in rows[name][0]
        assert rows[name][1] == "heavy metals, microbials"
    assert "Within its limits but over the baseline's: heavy metals" in rows["Czech"][1]


def test_a_looser_limit_is_claimed_only_when_both_verdicts_describe_one_batch():
    def row(code, default, batch, within):
        panels = [{"panel": "heavy_metals", "required": True, "within_limits": within}]
        return SimpleNamespace(
            standard=SimpleNamespace(code=code, is_default=default),
            status_on=lambda day: "current",
            panels=panels,
            batch_id=batch,
        )

    same = jurisdictions.readings([row("b", True, 1, False), row("cz", False, 1, True)], None)
    other = jurisdictions.readings([row("b", True, 1, False), row("cz", False, 2, True)], None)
    assert same[1].looser == ("heavy_metals",)
    assert other[1].looser == ()
    assert same[0].is_default and same[0].not_required == ()


# 2. A result with no limit never reads as a pass.


def test_a_result_with_no_limit_reads_as_reported_not_pass(client, db):
    batch = BatchFactory()
    certificate(batch, results=full_panel_results())
    rows = rows_by_header(section(get(client, batch.product), "results-heading"))
    for analyte in ("Mitragynine", "7-Hydroxymitragynine"):
        result, limit, _bar, outcome = rows[analyte]
        assert limit == "no limit"
        assert outcome == "— reported; no limit in Registry baseline"
    assert rows["7-Hydroxymitragynine (share of alkaloids)"][3] == "✔ pass"
    assert rows["Lead"][3] == "✔ pass"


@pytest.mark.parametrize(
    ("judgement", "limit", "outcome"),
    [
        ({"limit": "1.2", "unit": "ppm", "outcome": "pass"}, "≤ 1.2 ppm", "✔ pass"),
        (
            {"limit": "1.2", "unit": "ppm", "outcome": "fail"},
            "≤ 1.2 ppm",
            "<strong>✖ over the limit</strong>",
        ),
        (
            {"basis": "qualitative", "qualifier": "present", "outcome": "fail"},
            "absent",
            "<strong>✖ fails: must be absent</strong>",
        ),
        (
            {"limit": "1", "comparison": "lt", "unit": "ppm", "outcome": "indeterminate"}
            | {"note": "LOQ above the limit"},
            "&lt; 1 ppm",
            "? cannot tell (LOQ above the limit)",
        ),
        ({"outcome": "missing", "required": True}, "no limit", "✖ missing"),
        ({"outcome": "missing"}, "no limit", "— optional, not tested"),
        (
            {"measured": "0.021", "unit": "%", "outcome": "reported"},
            "no limit",
            "— reported; no limit in Utah R70-580",
        ),
    ],
)
def test_every_outcome_kind_reads_as_what_it_is(judgement, limit, outcome):
    assert str(limit_text(judgement)) == limit
    assert str(outcome_text(judgement, "Utah R70-580")) == outcome


# 3. One lot for the verdict, panels, results and dose calculator, and the
#    page names it.


def test_the_page_names_the_lot_it_describes_and_the_dose_uses_that_lot(client, db):
    """Two lots on sale: the new one's certificate is still pending, the old
    one's counts. The verdict is the new lot's (the worst on sale), and so are
    the panels, the results and the dose calculator: it no longer reads the
    old lot's figures while everything above it describes the new one."""
    product = ProductFactory()
    old = BatchFactory(product=product, lot_code="RIV-OLD-01")
    certificate(old, results=full_panel_results())
    new = BatchFactory(product=product, lot_code="RIV-2612-01")
    certificate(new, results=full_panel_results(), approve=False)
    page = get(client, product, grams="3")
    verdict = section(page, "verdict-heading")
    assert "This verdict describes lot <strong>RIV-2612-01</strong>" in verdict
    assert "the worst of the 2 batches on sale (RIV-2612-01, RIV-OLD-01)" in verdict
    assert "Lot RIV-2612-01, the batch that decides the verdict." in section(page, "panels-heading")
    calculator = section(page, "dose-heading")
    assert "Lot RIV-2612-01, the lot the verdict above describes, has no counted" in calculator
    assert "contains about" not in calculator and "RIV-OLD-01" not in calculator
    batches = rows_by_header(section(page, "batches-heading"))
    assert "RIV-2612-01 (decides the verdict)" in batches


def test_the_dose_is_worked_out_from_the_lot_that_decides_the_verdict(client, db):
    """The newest-tested lot on sale passes; an older one on sale fails lead,
    so it decides the verdict, and the calculator uses its 2.00 % mitragynine
    (60 mg in 3 g), not the newest lot's 1.52 % (45.6 mg)."""
    today = timezone.localdate()
    product = ProductFactory()
    failing = BatchFactory(product=product, lot_code="LOT-FAILS")
    certificate(
        failing,
        results=full_panel_results(
            mitragynine={"value": "2.00", "unit": "%"}, lead={"value": "2.4", "unit": "ppm"}
        ),
        tested_on=today - dt.timedelta(days=30),
    )
    passing = BatchFactory(product=product, lot_code="LOT-PASSES")
    certificate(passing, results=full_panel_results(), tested_on=today - dt.timedelta(days=5))
    page = get(client, product, grams="3")
    assert "This verdict describes lot <strong>LOT-FAILS</strong>" in page
    status = re.search(r'<p role="status">(.*?)</p>', page, re.S).group(1)
    assert "3 g of lot LOT-FAILS contains about <strong>60 mg mitragynine</strong>" in status
    assert "Grams of product (lot LOT-FAILS)" in page
    assert "45.6" not in status


# 4. The calculator's answer is in view after Calculate, without script.


def test_the_dose_form_submits_to_the_calculator(client, db):
    batch = BatchFactory()
    certificate(batch, results=full_panel_results())
    page = get(client, batch.product)
    assert '<section id="dose" aria-labelledby="dose-heading">' in page
    assert re.search(r'<form method="get" action="#dose"[^>]*>\s*<label for="id_grams"', page)


# 5. Never "?" for a number.


def test_a_small_dose_shows_the_7oh_it_contains_not_a_question_mark(client, db):
    """0.1 g of 0.021 % 7-OH is 0.021 mg: rounding to 0.1 mg made it 0.0,
    which the page showed as "?"."""
    batch = BatchFactory()
    certificate(batch, results=full_panel_results())
    status = re.search(
        r'<p role="status">(.*?)</p>', get(client, batch.product, grams="0.1"), re.S
    ).group(1)
    assert "<strong>1.52 mg mitragynine</strong>" in status
    assert "<strong>0.021 mg 7-hydroxymitragynine</strong>" in status
    assert "?" not in status


def test_a_dose_that_cannot_be_worked_out_says_why(client, db):
    batch = BatchFactory()
    results = full_panel_results(
        **{"7-hydroxymitragynine": {"qualifier": "ND", "loq": "0.001", "unit": "%"}}
    )
    certificate(batch, results=results)
    status = re.search(
        r'<p role="status">(.*?)</p>', get(client, batch.product, grams="3"), re.S
    ).group(1)
    assert "<strong>45.6 mg mitragynine</strong>" in status
    assert (
        "The 7-hydroxymitragynine in 3 g cannot be worked out: "
        "the lab reported it as not detected." in status
    )
    assert "?" not in status


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("45.6", "45.6"),
        ("0.0210", "0.021"),
        ("0.00123456", "0.00123"),
        ("1520.4", "1520"),
        ("0", "0"),
    ],
)
def test_amounts_keep_three_significant_figures(value, rounded):
    assert format(dose.significant(Decimal(value)).normalize(), "f") == rounded


# 6. Only the calculator's own field binds it.


def test_a_query_string_of_someone_elses_does_not_bind_the_dose_form(client, db):
    batch = BatchFactory()
    certificate(batch, results=full_panel_results())
    page = get(client, batch.product, utm_source="qr")
    calculator = section(page, "dose-heading")
    assert "This field is required." not in calculator
    assert 'role="status"' not in calculator
    empty = get(client, batch.product, grams="")
    assert "This field is required." in section(empty, "dose-heading")


# 7. The trend: 7-OH on a scale of its own, text readable on a phone.


def _points():
    today = timezone.localdate()
    return [
        {
            "lot": "SHARED-0926",
            "tested_on": today,
            "mitragynine": Decimal("1.52"),
            "seven_oh": Decimal("0.021"),
        },
        {
            "lot": "EXA-2611-01",
            "tested_on": today,
            "mitragynine": Decimal("1.31"),
            "seven_oh": Decimal("0.02"),
        },
    ]


def test_7oh_has_a_scale_of_its_own_and_the_text_is_readable_at_360_px():
    chart = str(trend_chart(_points()))
    words = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert {"Mitragynine", "7-OH", "2", "0.025"} <= set(words)  # each its own top
    # The lowest axis is 7-OH's: its points sit well above it, not on zero.
    axes = [float(a) for a, b in re.findall(r'<line[^>]* y1="([\d.]+)"[^>]* y2="([\d.]+)"', chart)]
    seven_oh = [float(y) for y in re.findall(r'cy="([\d.]+)" r="3" fill="#b45309"', chart)]
    assert seven_oh and all(max(axes) - y > 20 for y in seven_oh)
    # At 360 px the chart is 328 px wide (16 px page padding each side).
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', chart).group(1))
    size = float(re.search(r'font-size="([\d.]+)"', chart).group(1))
    assert size * 328 / width >= 12
    assert '<title id="trend-title">' in chart and '<desc id="trend-desc">' in chart
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", chart).group(1)
    assert "Mitragynine from 1.31 % to 1.52 %" in desc
    assert "7-OH from 0.02 % to 0.021 %" in desc


# 8. The batches and chart-data tables become cards on a phone.


@pytest.mark.parametrize("heading", ["batches-heading", "trend-heading"])
def test_the_batches_and_trend_tables_are_cards_with_labels(client, db, heading):
    product = ProductFactory()
    for lot in ("LOT-A", "LOT-B"):
        certificate(BatchFactory(product=product, lot_code=lot), results=full_panel_results())
    found = tables(section(get(client, product), heading))
    (attrs,) = found.attrs
    assert "cards" in attrs["class"].split() and attrs["role"] == "table"
    header, *body = found.tables[0]
    assert all(a.get("role") == "columnheader" for tag, a, _ in header)
    assert len(body) == 2
    for row in body:
        first, *cells = row
        assert first[0] == "th" and first[1]["role"] == "rowheader"
        assert all(a.get("role") == "cell" for _, a, _ in cells)
        # Each cell under its column's name, but for a verdict badge, which
        # names itself and needs the card's full width at 360 px.
        labelled = [text for _, a, text in cells if a.get("data-label")]
        assert len(labelled) == len(cells) - (heading == "batches-heading")
