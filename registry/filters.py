"""One FilterSet per list, shared by the pages and the API."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from vendors.models import Batch, Product, normalize_lot

from .models import Certificate, VerdictStatus


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Product, vendor, lot or GTIN")
    vendor = django_filters.CharFilter(field_name="vendor__slug", label="Vendor (slug)")
    form = django_filters.ChoiceFilter(choices=Product.Form.choices)
    verdict = django_filters.ChoiceFilter(choices=VerdictStatus.choices, field_name="verdict")
    lab = django_filters.CharFilter(method="filter_lab", label="Tested by lab (slug or id)")
    tested_after = django_filters.DateFilter(
        method="filter_tested_after", label="Has an approved certificate tested on or after"
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("vendor__name", "vendor"),
            ("created", "created"),
            ("verdict", "verdict"),
        )
    )

    class Meta:
        model = Product
        fields = ["search", "vendor", "form", "verdict", "lab", "tested_after"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        lot = Batch.objects.filter(product=OuterRef("pk"), lot_key=normalize_lot(value))
        return queryset.filter(
            Q(name__icontains=value)
            | Q(vendor__name__icontains=value)
            | Q(gtin=value)
            | Exists(lot)
        )

    def _certified(self, **conditions):
        return Exists(
            Certificate.objects.approved().filter(batches__product=OuterRef("pk"), **conditions)
        )

    def filter_lab(self, queryset, name, value):
        lab = Q(lab__slug=value) | (Q(lab__pk=value) if value.isdigit() else Q(pk__in=[]))
        return queryset.filter(
            Exists(Certificate.objects.approved().filter(lab, batches__product=OuterRef("pk")))
        )

    def filter_tested_after(self, queryset, name, value):
        return queryset.filter(self._certified(tested_on__gte=value))
