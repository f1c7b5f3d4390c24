"""One FilterSet per list, shared by the pages and the API."""

import datetime as dt

import django_filters
from django import forms
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from vendors.models import Batch, Product, barcodes, fold_accents, normalize_lot

from .models import Certificate, CertificateBatch, Lab, Panel, VerdictStatus
from .selectors import CATALOGUE_ORDER, with_verdict_rank


def _through_chosen(queryset, **columns):
    """Columns of the product's verdict row (the ``chosen`` relation of
    ``selectors.products_with_verdict``) as aliases: conditions on them
    reuse its join, where ``filter(chosen__…)`` on the multi-valued relation
    would join the verdict table a second time."""
    return queryset.alias(**{name: F(f"chosen__{column}") for name, column in columns.items()})


class VerdictOrderingFilter(django_filters.OrderingFilter):
    """Sorting, where "verdict" ranks products best first by the joined
    verdict row (``selectors.with_verdict_rank``), joined only for it. Ties
    (many products share a verdict, a name or a day) fall back on the
    catalogue's order, so pages neither repeat nor skip a product."""

    def filter(self, qs, value):
        if not value:
            return qs
        if any(param.lstrip("-") == "verdict" for param in value):
            qs = with_verdict_rank(qs)
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, *CATALOGUE_ORDER)


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", label="Product, vendor, lot or barcode"
    )
    # A text box, not a list: the registry plans for thousands of vendors.
    vendor = django_filters.CharFilter(method="filter_vendor", label="Vendor")
    form = django_filters.ChoiceFilter(
        choices=Product.Form.choices, label="Form", empty_label="Any"
    )
    verdict = django_filters.ChoiceFilter(
        choices=VerdictStatus.choices, method="filter_verdict", label="Verdict", empty_label="Any"
    )
    panel = django_filters.ChoiceFilter(
        choices=Panel.choices,
        method="filter_panel",
        label="Panel tested and current",
        empty_label="Any",
        help_text="Products whose deciding batch has this panel present and current.",
    )
    lab = django_filters.ModelChoiceFilter(
        queryset=Lab.objects.order_by("name"),
        to_field_name="slug",
        method="filter_lab",
        label="Tested by lab",
        empty_label="Any",
    )
    tested_within = django_filters.NumberFilter(
        method="filter_tested_within",
        label="Tested within (days)",
        min_value=1,
        max_value=3650,
    )
    # A date picker on the page (and the ISO format the API reads); the
    # widget changes only how the form is drawn, not what is accepted.
    tested_after = django_filters.DateFilter(
        method="filter_tested_after",
        label="Tested on or after",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    ordering = VerdictOrderingFilter(
        fields=(
            ("name", "name"),
            ("vendor__name", "vendor"),
            ("created", "created"),
            ("verdict_rank", "verdict"),  # best first: current … fails limits
        ),
        label="Sort by",
        empty_label="Vendor and name",
    )

    class Meta:
        model = Product
        fields = ["search", "vendor", "form", "verdict", "panel", "lab", "tested_within"]

    def filter_verdict(self, queryset, name, value):
        """The stored status and date as plain conditions (indexable),
        equivalent to the ``verdict`` annotation the pages show."""
        today = timezone.localdate()
        queryset = _through_chosen(queryset, status="status", until="current_until")
        fresh = Q(until__gte=today) | Q(until__isnull=True)
        conditions = {
            "current": Q(status="current") & fresh,
            "stale": Q(status="current", until__lt=today),
            "untested": Q(status="untested") | Q(status__isnull=True),
        }
        return queryset.filter(conditions.get(value, Q(status=value)))

    def filter_vendor(self, queryset, name, value):
        value = value.strip()
        return (
            queryset.filter(Q(vendor__slug=value) | Q(vendor__name__iexact=value))
            if value
            else queryset
        )

    def filter_search(self, queryset, name, value):
        """Names by full-text search on PostgreSQL (stemmed, any word order,
        ranked first), by words as substrings on SQLite; lot codes and
        barcodes exactly."""
        value = value.strip()[:200]
        if not value:
            return queryset
        # Products with a lot of that code: one look-up in the lot-key index,
        # not a probe per product.
        lot = Batch.objects.filter(lot_key=normalize_lot(value)).values("product_id")
        exact = Q(gtin__in=barcodes(value)) | Q(pk__in=lot)
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchRank

            # The stored document of the product's and its vendor's names
            # (kept by a trigger, migration vendors.0006), which the GIN
            # index covers and the rank reads without parsing text again.
            query = SearchQuery(value, search_type="websearch", config="english")
            # The match (``@@``; ts_rank is never quite zero, so a rank
            # threshold would let everything through) in a subquery of its
            # own, which the GIN index answers; inside the OR it could not.
            matching = Product.objects.filter(search_document=query)
            return (
                queryset.filter(Q(pk__in=matching.values("pk")) | exact)
                .annotate(rank=SearchRank(F("search_document"), query))
                .order_by("-rank", *CATALOGUE_ORDER)
            )
        words = Q()  # SQLite: every word somewhere in the product's or vendor's name
        for word in fold_accents(value).split()[:10]:
            words &= Q(search_text__icontains=word)
        return queryset.filter(words | exact)

    def _certified(self, queryset, **conditions):
        """Products with a batch covered by an approved certificate meeting
        ``conditions``: the certificates are found once (by the lab's or the
        test date's index) and their products collected, where a correlated
        EXISTS made SQLite walk a lab's every certificate for each product."""
        approved = Certificate.objects.approved().filter(**conditions)
        covered = CertificateBatch.objects.filter(certificate__in=approved)
        return queryset.filter(pk__in=covered.values("batch__product_id"))

    @extend_schema_field(OpenApiTypes.STR)  # a lab's slug
    def filter_lab(self, queryset, name, value):
        return self._certified(queryset, lab=value)

    def filter_tested_after(self, queryset, name, value):
        return self._certified(queryset, tested_on__gte=value)

    def filter_tested_within(self, queryset, name, value):
        since = timezone.localdate() - dt.timedelta(days=int(value))
        return self._certified(queryset, tested_on__gte=since)

    def filter_panel(self, queryset, name, value):
        # The chosen panel's current-until date is kept per product verdict
        # row (see verdicts.PANEL_COLUMNS) so this stays one indexed join.
        queryset = _through_chosen(queryset, panel_until=f"{value}_until")
        return queryset.filter(panel_until__gte=timezone.localdate())


def labels_in_use(form, skip=("search",)):
    """Labels of the filters the visitor set (the list page's folded filter
    panel names them), ``skip`` aside. Raw values: no validation, no query."""
    return [
        field.label for field in form if field.name not in skip and field.data not in (None, "", [])
    ]
