from django.contrib import admin, messages
from django.db import transaction

from . import services
from .models import Batch, Membership, Product, Vendor


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "website"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class BatchInline(admin.TabularInline):
    model = Batch
    extra = 0
    fields = ["lot_code", "on_sale", "produced_on"]
    readonly_fields = ["on_sale"]

    def get_readonly_fields(self, request, obj=None):
        return ["on_sale", "lot_code", "product"] if obj else ["on_sale"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "form", "serving_size_g", "gtin"]
    list_filter = ["form", "vendor"]
    search_fields = ["name", "vendor__name", "gtin", "batches__lot_code"]
    list_select_related = ["vendor"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [BatchInline]

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.product_changed(form.instance)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["lot_code", "product", "on_sale", "created"]
    list_filter = ["on_sale"]
    search_fields = ["lot_code", "product__name", "product__vendor__name"]
    list_select_related = ["product__vendor"]
    readonly_fields = ["on_sale"]
    actions = ["put_on_sale", "take_off_sale"]

    def get_readonly_fields(self, request, obj=None):
        # Certificates name a product's lots: a different code, or the same
        # code under another product, is a different batch. (Moving a batch
        # would also leave its stored verdicts computed for the wrong product.)
        return ["on_sale", "lot_code", "product"] if obj else ["on_sale"]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.product_changed(obj.product)

    def delete_model(self, request, obj):
        services.delete_batches([obj])

    def delete_queryset(self, request, queryset):
        services.delete_batches(queryset)

    @admin.action(description="Put on sale")
    @transaction.atomic
    def put_on_sale(self, request, queryset):
        for batch in queryset:
            services.set_on_sale(batch, True)
        messages.success(request, "Batches put on sale; verdicts refreshed.")

    @admin.action(description="Take off sale")
    @transaction.atomic
    def take_off_sale(self, request, queryset):
        for batch in queryset:
            services.set_on_sale(batch, False)
        messages.success(request, "Batches taken off sale; verdicts refreshed.")
