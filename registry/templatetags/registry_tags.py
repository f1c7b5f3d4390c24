"""Small server-rendered pictures for the public pages: a result against its
limit, the alkaloid trend across batches, the QR code. Plain SVG, no script,
readable without colour (every mark has a text equivalent beside it)."""

import functools
from decimal import Decimal, InvalidOperation

import segno
from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

VERDICT_WORDS = {
    "current": (
        "✔",
        "Tested & current",
        "Every required panel is present, recent and within limits.",
    ),
    "fails_limits": ("✖", "Fails limits", "At least one result is over its limit."),
    "stale": ("↻", "Out of date", "The testing is older than the standard allows."),
    "incomplete": ("◐", "Incomplete testing", "A required panel is missing or cannot be judged."),
    "untested": ("?", "Untested", "No approved certificate covers what is on sale."),
}


@register.filter
def verdict_words(status):
    return VERDICT_WORDS.get(status, VERDICT_WORDS["untested"])[1]


@register.simple_tag
def verdict_badge(status):
    """A verdict in words with an icon, never colour alone."""
    icon, words, _ = VERDICT_WORDS.get(status, VERDICT_WORDS["untested"])
    return format_html(
        '<span class="verdict verdict-{}"><span aria-hidden="true">{}</span> {}</span>',
        status if status in VERDICT_WORDS else "untested",
        icon,
        words,
    )


@register.filter
def verdict_explained(status):
    return VERDICT_WORDS.get(status, VERDICT_WORDS["untested"])[2]


@register.filter
def num(value):
    """A stored decimal as people write it: 1.5200000000 → 1.52, 1E+7 → 10000000."""
    number = _dec(value) if not isinstance(value, Decimal) else value
    if number is None:
        return value if value is not None else ""
    return format(number.normalize(), "f")


@register.filter
def panel_name(code):
    return (code or "").replace("_", " ").capitalize()


@register.filter
def panel_names(codes):
    """Panels in a sentence: ("heavy_metals", "microbials") → "heavy metals, microbials"."""
    return ", ".join((code or "").replace("_", " ") for code in codes or ())


# How each result reads in the product page's table: what was found, the
# limit it is held to and what came of it, in words (never a colour alone).
BASIS_NOTES = {
    "alkaloid_share": "share of alkaloids",
    "per_serving": "per serving",
    "per_day": "per day",
}


@register.filter
def basis_note(judgement):
    note = BASIS_NOTES.get(judgement.get("basis"))
    return format_html(' <span class="muted">({})</span>', note) if note else ""


@register.filter
def result_text(judgement):
    """What the certificate reported: ND, <LOQ and the qualitative findings
    as what they are, a number with its unit otherwise."""
    qualifier, measured, unit = (judgement.get(k) for k in ("qualifier", "measured", "unit"))
    if qualifier == "ND":
        return "Not detected"
    if qualifier == "<LOQ":
        if not measured:
            return "below LOQ"
        return format_html("below LOQ (&lt;{} {})", num(measured), unit)
    if qualifier == "absent":
        return "Absent"
    if qualifier == "present":
        return mark_safe("<strong>Present</strong>")  # noqa: S308 - a constant
    if measured:
        return format_html("{} {}", num(measured), unit)
    return "not tested" if judgement.get("outcome") == "missing" else "—"


@register.filter
def limit_text(judgement):
    if judgement.get("limit"):
        sign = "<" if judgement.get("comparison") == "lt" else "≤"
        return format_html("{} {} {}", sign, num(judgement["limit"]), judgement.get("unit"))
    return "absent" if judgement.get("basis") == "qualitative" else "no limit"


@register.filter
def outcome_text(judgement, standard=""):
    """Each outcome as what it is: only a result held to a limit can pass.
    ``reported`` (the standard sets no limit, it only asks for the result)
    names the standard that sets none; a qualitative failure is a finding
    that must be absent, not a number over a limit."""
    outcome = judgement.get("outcome")
    if outcome == "pass":
        return "✔ pass"
    if outcome == "reported":
        return f"— reported; no limit in {standard}" if standard else "— reported; no limit set"
    if outcome == "fail":
        if judgement.get("basis") == "qualitative":
            return mark_safe("<strong>✖ fails: must be absent</strong>")  # noqa: S308 - a constant
        return mark_safe("<strong>✖ over the limit</strong>")  # noqa: S308 - a constant
    if outcome == "indeterminate":
        note = judgement.get("note")
        return format_html("? cannot tell ({})", note) if note else "? cannot tell"
    return "✖ missing" if judgement.get("required") else "— optional, not tested"


def _dec(text):
    try:
        return Decimal(text) if text not in (None, "") else None
    except (InvalidOperation, TypeError):
        return None


@register.simple_tag
def limit_bar(judgement):
    """A bar from zero to 1.5 × the limit with the limit marked; the measured
    value (or the LOQ, for <LOQ) as a filled bar. Nothing drawn when there is
    no number to draw."""
    limit, measured = _dec(judgement.get("limit")), _dec(judgement.get("measured"))
    if not limit or measured is None:
        return ""
    width, height = 120, 14
    scale = width / (limit * Decimal("1.5"))
    fill = min(width, float(measured * scale))
    mark = float(limit * scale)
    colour = {"pass": "#2f7d46", "fail": "#b42318"}.get(judgement.get("outcome"), "#8a6d00")
    dashed = ' stroke-dasharray="3 2"' if judgement.get("qualifier") == "<LOQ" else ""
    return format_html(
        '<svg class="bar" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}"><rect x="0" y="3" width="{w}" height="8" fill="#eef0f2"/>'
        '<rect x="0" y="3" width="{fill}" height="8" fill="{colour}"{dashed}/>'
        '<line x1="{mark}" x2="{mark}" y1="0" y2="{h}" stroke="#1b1f24" stroke-width="2"/>'
        "</svg>",
        w=width,
        h=height,
        fill=f"{fill:.1f}",
        mark=f"{mark:.1f}",
        colour=colour,
        dashed=mark_safe(dashed),  # noqa: S308 - a constant
        label=f"{measured.normalize():f} against a limit of {limit.normalize():f}",
    )


# The trend chart's two series: key, name, colour, dash (never colour alone).
TREND_SERIES = (
    ("mitragynine", "Mitragynine", "#0b5cad", ""),
    ("seven_oh", "7-OH", "#b45309", "5 3"),
)


@register.simple_tag
def trend_chart(points):
    """Mitragynine and 7-OH (% w/w) per batch, oldest to newest, as two small
    charts one above the other, each named and on its own scale from 0 to a
    round number: 7-OH runs at about a hundredth of mitragynine, so on one
    shared scale its line always sat on zero. They share the lots along the
    bottom (the first and last in full, all of them when there is room).

    Drawn 340 units wide with 13-unit text, so that on a 360 px phone (the
    SVG about 330 px wide) the text is still about 12.5 px; the 480-unit
    chart it replaces shrank its 12-unit text to 8 px there. ``<title>`` and
    ``<desc>`` say in words what it shows; the page puts every number in a
    table below it."""
    if len(points) < 2:
        return ""
    width, left, right, font = 340, 44, 12, 13
    title_h, plot_h, gap = 28, 64, 14
    plot_w = width - left - right
    step = plot_w / (len(points) - 1)

    def x(i):
        return left + i * step

    panels = []
    ranges = []
    for index, (key, name, colour, dash) in enumerate(TREND_SERIES):
        top_y = index * (title_h + plot_h + gap)
        plot_top, base = top_y + title_h, top_y + title_h + plot_h
        values = [p[key] for p in points if p.get(key) is not None]
        top = _round_up(max(values) * Decimal("1.1")) if values else Decimal(1)
        if values:
            ranges.append(f"{name} from {num(min(values))} % to {num(max(values))} %")
        else:
            ranges.append(f"{name}: no figures")

        def y(value, top=top, base=base):
            return base - float(value / top) * plot_h

        coords = [(x(i), y(p[key])) for i, p in enumerate(points) if p.get(key) is not None]
        if coords:
            drawn = format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>{}',
                " ".join(f"{a:.1f},{b:.1f}" for a, b in coords),
                colour,
                mark_safe(f' stroke-dasharray="{dash}"' if dash else ""),  # noqa: S308 - a constant
                format_html_join(
                    "",
                    '<circle cx="{}" cy="{}" r="3" fill="{}"/>',
                    ((f"{a:.1f}", f"{b:.1f}", colour) for a, b in coords),
                ),
            )
        else:
            drawn = format_html(
                '<text x="{}" y="{}" text-anchor="middle" fill="#555d66">no figures</text>',
                left + plot_w / 2,
                plot_top + plot_h / 2,
            )
        panels.append(
            format_html(
                '<text x="{l}" y="{ty}" font-weight="600">{name}</text>'
                '<text x="{r}" y="{ty}" text-anchor="end" fill="#555d66">% w/w</text>'
                '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#555d66"/>'
                '<line x1="{l}" y1="{t}" x2="{r}" y2="{t}" stroke="#d0d5da"'
                ' stroke-dasharray="2 3"/>'
                '<text x="{lx}" y="{b}" text-anchor="end" dy="4">0</text>'
                '<text x="{lx}" y="{t}" text-anchor="end" dy="4">{top}</text>{drawn}',
                ty=top_y + 14,
                name=name,
                l=left,
                r=width - right,
                b=base,
                t=plot_top,
                lx=left - 5,
                top=f"{top.normalize():f}",
                drawn=drawn,
            )
        )
    height = len(TREND_SERIES) * (title_h + plot_h + gap) + 12
    # Every lot when there is room for its code, else the first and the last;
    # the ends anchored inwards so that no code is cut at the edge.
    room = step >= 90
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="{}">{}</text>',
        (
            (f"{x(i):.1f}", height - 10, _anchor(i, len(points)), p["lot"])
            for i, p in enumerate(points)
            if room or i in (0, len(points) - 1)
        ),
    )
    return format_html(
        '<svg class="trend" viewBox="0 0 {w} {h}" role="img" aria-labelledby="trend-title"'
        ' aria-describedby="trend-desc" font-size="{font}">'
        '<title id="trend-title">Alkaloids by batch, % w/w: mitragynine above, 7-OH below,'
        " each on its own scale</title>"
        '<desc id="trend-desc">{desc} across {n} lots, oldest ({first}) to newest ({last}).'
        " The table below lists every value.</desc>"
        "{panels}{labels}</svg>",
        w=width,
        h=height,
        font=font,
        desc="; ".join(ranges),
        n=len(points),
        first=points[0]["lot"],
        last=points[-1]["lot"],
        panels=format_html_join("", "{}", ((p,) for p in panels)),
        labels=labels,
    )


def _anchor(index, count):
    if index == 0:
        return "start"
    return "end" if index == count - 1 else "middle"


def _round_up(value):
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above
    ``value``: a scale a reader takes in at a glance."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (value.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if power * factor >= value:
            return power * factor
    return power * 10


@register.simple_tag
def qr_svg(url):
    """The page's address as a QR code, inline SVG."""
    return mark_safe(_qr(url))  # noqa: S308 - segno's own SVG of our URL


@functools.lru_cache(maxsize=4096)
def _qr(url):
    # A fixed mask skips scoring all eight (most of the cost); any mask scans.
    code = segno.make(url, error="m", mask=0)
    return code.svg_inline(scale=3, dark="#1b1f24", light="#ffffff", title="QR code for this page")
