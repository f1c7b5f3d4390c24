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


@register.simple_tag
def trend_chart(points):
    """Mitragynine and 7-OH (% w/w) per batch, oldest to newest, as two
    labelled polylines with the numbers in a table beside it."""
    if len(points) < 2:
        return ""
    width, height, pad = 480, 160, 30
    values = [p[k] for p in points for k in ("mitragynine", "seven_oh") if p.get(k) is not None]
    top = (max(values) * Decimal("1.15") if values else 0) or Decimal(1)
    step = (width - 2 * pad) / (len(points) - 1)

    def line(key, colour, dash):
        coords = [
            (pad + i * step, height - pad - float(p[key] / top) * (height - 2 * pad))
            for i, p in enumerate(points)
            if p.get(key) is not None
        ]
        if not coords:
            return ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="3" fill="{}"/>',
            ((f"{x:.1f}", f"{y:.1f}", colour) for x, y in coords),
        )
        return format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>{}',
            path,
            colour,
            mark_safe(f' stroke-dasharray="{dash}"' if dash else ""),  # noqa: S308 - a constant
            dots,
        )

    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        ((f"{pad + i * step:.1f}", height - 8, p["lot"][:10]) for i, p in enumerate(points)),
    )
    return format_html(
        '<svg class="trend" viewBox="0 0 {w} {h}" role="img" aria-labelledby="trend-title">'
        '<title id="trend-title">Alkaloids by batch, % w/w: solid mitragynine, dashed 7-OH'
        "</title>"
        '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="#555d66"/>'
        '<text x="{p}" y="14" font-size="10">max {top}% w/w</text>{mit}{oh}{labels}</svg>',
        w=width,
        h=height,
        p=pad,
        r=width - pad,
        b=height - pad,
        top=f"{top.normalize():f}"[:6],
        mit=line("mitragynine", "#0b5cad", ""),
        oh=line("seven_oh", "#b45309", "5 3"),
        labels=labels,
    )


@register.simple_tag
def qr_svg(url):
    """The page's address as a QR code, inline SVG."""
    return mark_safe(_qr(url))  # noqa: S308 - segno's own SVG of our URL


@functools.lru_cache(maxsize=4096)
def _qr(url):
    # A fixed mask skips scoring all eight (most of the cost); any mask scans.
    code = segno.make(url, error="m", mask=0)
    return code.svg_inline(scale=3, dark="#1b1f24", light="#ffffff", title="QR code for this page")
