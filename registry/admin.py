"""Staff tools. Saves that change what a verdict depends on (a lab's
accreditation, a standard or its requirements) refresh the stored verdicts in
the same transaction."""

from django.contrib import admin
from django.db import transaction

from . import verdicts
from .models import (
    Analyte,
    AnalyteSynonym,
    BatchVerdict,
    Certificate,
    CertificateBatch,
    Lab,
    ProductVerdict,
    Requirement,
    Result,
    ReviewEvent,
    Standard,
)


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ["name", "accreditation_body", "accreditation_id", "accredited_until"]
    search_fields = ["name", "accreditation_id"]
    list_filter = ["accreditation_body"]
    prepopulated_fields = {"slug": ["name"]}

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"accredited_from", "accredited_until"} & set(form.changed_data):
            verdicts.refresh_for_lab(obj)


class SynonymInline(admin.TabularInline):
    model = AnalyteSynonym
    extra = 1


@admin.register(Analyte)
class AnalyteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "panel", "unit", "qualitative"]
    list_filter = ["panel", "qualitative"]
    search_fields = ["code", "name", "synonyms__name"]
    inlines = [SynonymInline]

    def get_readonly_fields(self, request, obj=None):
        # Stored results are kept in the analyte's canonical unit and judged
        # in its panel: once results exist, these would silently change them.
        if obj is not None and obj.results.exists():
            return ["code", "panel", "unit", "qualitative"]
        return []


class RequirementInline(admin.TabularInline):
    model = Requirement
    extra = 0
    autocomplete_fields = ["analyte"]


@admin.register(Standard)
class StandardAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "jurisdiction", "max_age_days", "is_default"]
    search_fields = ["code", "name", "jurisdiction"]
    inlines = [RequirementInline]

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        verdicts.refresh_for_standards()

    @transaction.atomic
    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        verdicts.refresh_for_standards()


class ResultInline(admin.TabularInline):
    model = Result
    extra = 0
    fields = ["analyte", "value", "unit", "qualifier", "loq", "basis", "raw"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CertificateBatchInline(admin.TabularInline):
    model = CertificateBatch
    extra = 0
    raw_id_fields = ["batch"]
    readonly_fields = ["batch"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = ReviewEvent
    extra = 0
    readonly_fields = [
        "created",
        "actor",
        "action",
        "from_state",
        "to_state",
        "reason_code",
        "reason",
    ]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Certificates change state only through the review workflow: the admin
    shows them, it does not edit what was approved."""

    list_display = ["report_number", "lab", "vendor", "tested_on", "state", "created"]
    list_filter = ["state", "lab", "tested_on"]
    search_fields = ["report_number", "sha256", "vendor__name", "batches__lot_code"]
    date_hierarchy = "tested_on"
    list_select_related = ["lab", "vendor"]
    inlines = [CertificateBatchInline, ResultInline, EventInline]
    readonly_fields = [f.name for f in Certificate._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a correction is a withdrawal, never a deletion


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    list_display = ["created", "certificate", "action", "from_state", "to_state", "actor"]
    list_filter = ["action", "to_state"]
    search_fields = ["certificate__report_number", "reason"]
    list_select_related = ["certificate", "actor"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail is append-only


@admin.register(BatchVerdict)
class BatchVerdictAdmin(admin.ModelAdmin):
    list_display = ["batch", "standard", "status", "current_until", "computed_at"]
    list_filter = ["standard", "status"]
    search_fields = ["batch__lot_code", "batch__product__name"]
    list_select_related = ["batch__product__vendor", "standard"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # derived data: refresh_verdicts rewrites it


@admin.register(ProductVerdict)
class ProductVerdictAdmin(BatchVerdictAdmin):
    list_display = ["product", "standard", "status", "current_until", "computed_at"]
    search_fields = ["product__name", "product__vendor__name"]
    list_select_related = ["product__vendor", "standard"]
