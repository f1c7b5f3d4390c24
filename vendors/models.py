"""Who sells what: vendors, their members, products and batches.

This app knows nothing about certificates or verdicts; the registry app builds
on it. Changes to batches that can alter a verdict go through
``vendors.services`` which announces them with ``batches_changed``.
"""

import re
import unicodedata

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse


def barcodes(text):
    """The GTIN spellings a typed barcode may be stored as: spaces and dashes
    (as printed under the bars) dropped, and the same number with the
    leading zeros of GTIN-8, -12 (UPC), -13 (EAN) or -14. Empty when the text
    is not a barcode."""
    digits = re.sub(r"[\s-]+", "", text)
    if not digits.isdigit() or not 8 <= len(digits) <= 14:
        return set()
    core = digits.lstrip("0")
    return {core.zfill(n) for n in (8, 12, 13, 14) if len(core) <= n}


def fold_accents(text):
    """Text without its accents ("Pražská" → "Prazska"), for searching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text_of(product_name, vendor_name):
    """What a product is found by: its and its vendor's names, and the same
    without accents when they have any, so "prazska" finds "Pražská"."""
    text = f"{product_name} {vendor_name}"
    folded = fold_accents(text)
    return text if folded == text else f"{text} {folded}"


def clean_lot_code(code):
    """A lot code as typed, scanned or pasted, fit to show: compatibility
    forms folded (NFKC: a phone keyboard's fullwidth "ＥＸＡ-２６１２" is
    "EXA-2612"), control and format characters (a NUL, a zero-width space,
    a right-to-left override) dropped, runs of spaces made one."""
    text = " ".join(unicodedata.normalize("NFKC", code).split())
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))


def normalize_lot(code):
    """The key lot codes are matched on (every look-up, page or API, goes
    through ``Batch.objects.with_lot``): the cleaned code's letters and
    digits only, upper case. Someone reading a package types "gmd 0926" for
    "GMD-0926"; case, spaces, punctuation and character widths never tell
    two prints apart on real labels."""
    return re.sub(r"[\W_]+", "", clean_lot_code(code)).upper()


LOT_LENGTH = 64  # the lot_code and lot_key columns


def lot_code_problem(code):
    """Why ``code`` cannot be registered as a lot, or "" when it can: the one
    rule for the portal, the API and ``import_coa``. Folding can lengthen a
    code (NFKC makes one "ﷺ" 18 letters), so the key is measured as well as
    the code; a key longer than its column would fail at the database."""
    key = normalize_lot(code)
    if not key:
        return "A lot code needs at least one letter or digit."
    if len(code) > LOT_LENGTH or len(key) > LOT_LENGTH:
        return f"A lot code can be at most {LOT_LENGTH} characters."
    return ""


def looks_like_lot(text):
    """Whether a search reads as a lot code rather than words: one or two
    parts (as typed from a package), a digit among them, and not a barcode.
    Only chooses what a failed search suggests; it finds nothing itself."""
    key = normalize_lot(text)
    return (
        len(clean_lot_code(text).split()) <= 2
        and 3 <= len(key) <= 64
        and any(c.isdigit() for c in key)
        and not barcodes(text)
    )


class Vendor(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    website = models.URLField(blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="vendors", blank=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # Lists are sorted by vendor name (the catalogue's default order).
        indexes = [models.Index(fields=["name"], name="vendor_name")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # The vendor's name is part of every product's search text.
        products = list(self.products.only("pk", "name", "search_text"))
        for product in products:
            product.vendor = self
            product.search_text = product.searchable_text()
        Product.objects.bulk_update(products, ["search_text"], batch_size=500)

    def get_absolute_url(self):
        return reverse("vendor_detail", args=[self.slug])


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "vendor"], name="unique_vendor_membership")
        ]

    def __str__(self):
        return f"{self.user} @ {self.vendor}"


class ProductQuerySet(models.QuerySet):
    def of_member(self, user):
        """Products of the vendors ``user`` belongs to."""
        return self.filter(vendor__members=user)


class Product(models.Model):
    class Form(models.TextChoices):
        POWDER = "powder", "Powder"
        CAPSULE = "capsule", "Capsule"
        TABLET = "tablet", "Tablet"
        EXTRACT = "extract", "Extract"
        LIQUID = "liquid", "Liquid"
        GUMMY = "gummy", "Gummy"

    # Forms made of plain leaf: standards that speak of "kratom leaf" products
    # (e.g. Oklahoma's total-alkaloid cap) apply to these.
    LEAF_FORMS = (Form.POWDER, Form.CAPSULE, Form.TABLET)

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    form = models.CharField(max_length=16, choices=Form.choices)
    serving_size_g = models.DecimalField(
        "serving size (g)",
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Grams of product in one serving as the label states it.",
    )
    max_servings_per_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The label's maximum number of servings per day."
    )
    label_mitragynine_mg = models.DecimalField(
        "label claim: mitragynine (mg per serving)",
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
    )
    gtin = models.CharField(
        "GTIN / UPC", max_length=14, blank=True, db_index=True, help_text="Barcode digits."
    )
    created = models.DateTimeField(auto_now_add=True)
    # What a product is found by: its name and its vendor's, in one column so
    # PostgreSQL can index the full-text search (a GIN index, migration 0003).
    search_text = models.TextField(blank=True, default="", editable=False)
    # PostgreSQL keeps the full-text document of ``search_text`` here, by a
    # trigger (migration 0006), for the search to match by its GIN index and
    # rank without parsing every match's text again. SQLite leaves it empty
    # and searches ``search_text`` itself.
    search_document = SearchVectorField(null=True, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["vendor__name", "name"]
        # With ``vendor_name``, the catalogue's order (vendor name, name) is
        # walked from the indexes instead of sorting every product.
        indexes = [models.Index(fields=["vendor", "name"], name="product_vendor_name")]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "slug"], name="unique_product_slug"),
            models.CheckConstraint(
                condition=Q(serving_size_g__isnull=True) | Q(serving_size_g__gt=0),
                name="product_serving_size_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_servings_per_day__isnull=True) | Q(max_servings_per_day__gt=0),
                name="product_max_servings_positive",
            ),
            models.CheckConstraint(
                condition=Q(gtin="") | Q(gtin__regex=r"^[0-9]{8,14}$"),
                name="product_gtin_digits",
            ),
        ]

    def __str__(self):
        return f"{self.vendor.name} — {self.name}"

    def save(self, *args, **kwargs):
        self.search_text = self.searchable_text()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("product_detail", args=[self.vendor.slug, self.slug])

    def searchable_text(self):
        return search_text_of(self.name, self.vendor.name)


class BatchQuerySet(models.QuerySet):
    def on_sale(self):
        return self.filter(on_sale=True)

    def with_lot(self, code):
        return self.filter(lot_key=normalize_lot(code))


class Batch(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="batches")
    lot_code = models.CharField(
        max_length=64, help_text="The lot or batch code exactly as printed on the package."
    )
    lot_key = models.CharField(max_length=64, editable=False, db_index=True)
    on_sale = models.BooleanField(default=True, help_text="Batches on sale decide the verdict.")
    produced_on = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["product", "-created", "-id"]
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_key"], name="unique_lot_per_product"),
            models.CheckConstraint(condition=~Q(lot_key=""), name="batch_lot_not_empty"),
        ]

    def __str__(self):
        return f"{self.product} · lot {self.lot_code}"

    def save(self, *args, **kwargs):
        self.clean()
        super().save(*args, **kwargs)

    def clean(self):
        self.lot_code = self.lot_code.strip()
        self.lot_key = normalize_lot(self.lot_code)
