"""The testing side of the registry: labs, certificates and their results, the
analyte catalogue, standards with their requirements, stored verdicts and the
review trail.

Rules live in plain modules (``units``, ``evaluation``, ``review``,
``verdicts``); the models hold data and the constraints that must always hold.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from vendors.models import Batch, Product, Vendor

from .evaluation import accredited_on, effective_status


class Panel(models.TextChoices):
    ALKALOIDS = "alkaloids", "Alkaloids"
    HEAVY_METALS = "heavy_metals", "Heavy metals"
    MICROBIALS = "microbials", "Microbials"
    PESTICIDES = "pesticides", "Pesticides"
    RESIDUAL_SOLVENTS = "residual_solvents", "Residual solvents"
    MYCOTOXINS = "mycotoxins", "Mycotoxins"
    ADULTERANTS = "adulterants", "Adulterants"


class VerdictStatus(models.TextChoices):
    CURRENT = "current", "Current"
    FAILS_LIMITS = "fails_limits", "Fails limits"
    STALE = "stale", "Out of date"
    INCOMPLETE = "incomplete", "Incomplete"
    UNTESTED = "untested", "Untested"


class Lab(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    address = models.CharField(max_length=300, blank=True)
    website = models.URLField(blank=True)
    accreditation_body = models.CharField(
        max_length=100, blank=True, help_text="ISO/IEC 17025 accreditation body, e.g. A2LA."
    )
    accreditation_id = models.CharField("accreditation certificate", max_length=100, blank=True)
    accredited_from = models.DateField(null=True, blank=True)
    accredited_until = models.DateField(
        null=True, blank=True, help_text="Last day the ISO/IEC 17025 accreditation is valid."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(accredited_from__isnull=True)
                | Q(accredited_until__isnull=True)
                | Q(accredited_from__lte=F("accredited_until")),
                name="lab_accreditation_period_ordered",
            )
        ]

    def __str__(self):
        return self.name

    def accredited_on(self, day):
        return accredited_on(self.accredited_from, self.accredited_until, day)


class Analyte(models.Model):
    code = models.SlugField(max_length=64, unique=True, help_text="Stable code, e.g. 'lead'.")
    name = models.CharField(max_length=120)
    panel = models.CharField(max_length=24, choices=Panel.choices)
    unit = models.CharField(
        "canonical unit", max_length=16, blank=True, help_text="Empty for qualitative analytes."
    )
    qualitative = models.BooleanField(
        default=False, help_text="Reported as absent / present rather than as a number."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["panel", "position", "name"]

    def __str__(self):
        return self.name


class AnalyteSynonym(models.Model):
    analyte = models.ForeignKey(Analyte, on_delete=models.CASCADE, related_name="synonyms")
    name = models.CharField(max_length=120, help_text="As printed on certificates, e.g. 'Pb'.")
    key = models.CharField(max_length=120, unique=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        from .catalogue import synonym_key

        self.key = synonym_key(self.name)
        super().save(*args, **kwargs)


class Standard(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    source = models.TextField(help_text="Where the numbers come from (statute, rule, guidance).")
    effective_on = models.DateField(null=True, blank=True)
    max_age_days = models.PositiveIntegerField(
        default=365, help_text="A certificate older than this (by tested date) is out of date."
    )
    requires_accreditation = models.BooleanField(
        default=True, help_text="Count only labs accredited to ISO/IEC 17025 on the test date."
    )
    is_default = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_standard"
            ),
            models.CheckConstraint(condition=Q(max_age_days__gt=0), name="standard_max_age_pos"),
        ]

    def __str__(self):
        return self.name


class Requirement(models.Model):
    class Basis(models.TextChoices):
        CONCENTRATION = "concentration", "Concentration"
        PER_SERVING = "per_serving", "Per serving"
        PER_DAY = "per_day", "Per day"
        ALKALOID_SHARE = "alkaloid_share", "Share of alkaloids"
        ALKALOID_TOTAL = "alkaloid_total", "Total alkaloids"
        QUALITATIVE = "qualitative", "Absent / present"

    class Comparison(models.TextChoices):
        LT = "lt", "<"
        LE = "le", "≤"

    standard = models.ForeignKey(Standard, on_delete=models.CASCADE, related_name="requirements")
    analyte = models.ForeignKey(Analyte, on_delete=models.PROTECT, related_name="requirements")
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.CONCENTRATION)
    limit = models.DecimalField(
        max_digits=24,
        decimal_places=9,
        null=True,
        blank=True,
        help_text="Empty: the analyte must only be reported.",
    )
    comparison = models.CharField(max_length=2, choices=Comparison.choices, default="le")
    unit = models.CharField(max_length=16, blank=True, help_text="Unit the limit is written in.")
    required = models.BooleanField(
        default=True, help_text="Optional requirements are judged when reported."
    )
    forms = models.JSONField(
        default=list, blank=True, help_text="Product forms it applies to; empty means all."
    )
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["standard", "analyte__panel", "analyte__position", "basis"]
        constraints = [
            # The same analyte may carry different limits for different forms
            # (USP: total aerobic count 10^5 for dried leaf, 10^4 for extracts).
            models.UniqueConstraint(
                fields=["standard", "analyte", "basis", "forms"], name="unique_requirement"
            ),
            models.CheckConstraint(
                condition=Q(basis="qualitative", limit__isnull=True)
                | Q(basis="concentration")
                | (~Q(basis__in=["qualitative", "concentration"]) & Q(limit__isnull=False)),
                name="requirement_limit_fits_basis",
            ),
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | ~Q(unit=""), name="requirement_limit_has_unit"
            ),
            models.CheckConstraint(
                condition=Q(limit__isnull=True) | Q(limit__gte=0), name="requirement_limit_pos"
            ),
        ]

    def __str__(self):
        if self.limit is None:
            return f"{self.analyte} reported"
        return f"{self.analyte} {self.get_comparison_display()} {self.limit} {self.unit}"


class CertificateQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(state=Certificate.State.APPROVED)

    def public(self):
        """Certificates anyone may see: approved ones and withdrawn ones (whose
        withdrawal and reason are part of the public history)."""
        return self.filter(state__in=[Certificate.State.APPROVED, Certificate.State.WITHDRAWN])

    def visible_to(self, user):
        if user.is_staff:
            return self.all()
        if user.is_authenticated:
            return self.filter(Q(vendor__members=user) | Q(state__in=Certificate.PUBLIC_STATES))
        return self.public()


def certificate_upload_to(instance, filename):
    """A random name under a dated folder; the uploaded name is never used on
    disk (it is kept in ``original_filename`` for display only)."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in {".pdf", ".png", ".jpg", ".webp"}:
        suffix = ""
    now = timezone.now()
    return f"certificates/{now:%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Certificate(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    PUBLIC_STATES = (State.APPROVED, State.WITHDRAWN)

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="certificates")
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="certificates")
    batches = models.ManyToManyField(Batch, through="CertificateBatch", related_name="certificates")
    report_number = models.CharField(max_length=100, db_index=True)
    sampled_on = models.DateField(null=True, blank=True)
    tested_on = models.DateField(help_text="Last day of testing as the report gives it.")
    issued_on = models.DateField(null=True, blank=True)
    file = models.FileField(upload_to=certificate_upload_to, max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    original_filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected or withdrawn.")
    flags = models.JSONField(default=list, blank=True, help_text="Trust-check findings.")
    preview = models.FileField(max_length=200, blank=True, help_text="First page as PNG.")
    page_count = models.PositiveIntegerField(default=1)
    document_text = models.TextField(
        blank=True, help_text="The document's text layer, for the lot-code check and extraction."
    )
    extracted = models.JSONField(
        null=True, blank=True, help_text="Results suggested by extraction (coa/1), for review."
    )
    replaces = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The rejected upload this one replaces.",
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-tested_on", "-id"]
        indexes = [
            models.Index(fields=["state", "created"]),  # the review queue
            # Public reads at scale: recent approvals (home), certificates
            # per lab (labs page, the lab filter), tested since (filters).
            models.Index(fields=["state", "decided_at"], name="certificate_decided"),
            models.Index(fields=["lab", "state"], name="certificate_lab_state"),
            models.Index(fields=["state", "tested_on"], name="certificate_tested"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "approved", "rejected", "withdrawn"]),
                name="certificate_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["rejected", "withdrawn"]) | ~Q(reason=""),
                name="certificate_decision_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="certificate_sha256_hex"
            ),
        ]

    def __str__(self):
        return f"{self.lab} report {self.report_number}"

    def get_absolute_url(self):
        return reverse("certificate_detail", args=[self.pk])

    @property
    def counts(self):
        """Whether the verdicts count this certificate: approved, from a lab
        whose accreditation covered the test date (every shipped standard
        asks for it)."""
        return self.state == self.State.APPROVED and accredited_on(
            self.lab.accredited_from, self.lab.accredited_until, self.tested_on
        )


class CertificateBatch(models.Model):
    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE)
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "batch"], name="unique_certificate_batch"
            )
        ]

    def __str__(self):
        return f"certificate {self.certificate_id} covers batch {self.batch_id}"


class Result(models.Model):
    class Qualifier(models.TextChoices):
        NUMBER = "", "Number"
        ND = "ND", "Not detected"
        BELOW_LOQ = "<LOQ", "Below LOQ"
        ABSENT = "absent", "Absent"
        PRESENT = "present", "Present"

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="results")
    analyte = models.ForeignKey(Analyte, on_delete=models.PROTECT, related_name="results")
    value = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    qualifier = models.CharField(max_length=8, choices=Qualifier.choices, blank=True)
    loq = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    basis = models.CharField(max_length=32, blank=True, help_text="Sample mass, e.g. '25 g'.")
    raw = models.CharField(max_length=200, blank=True, help_text="The text as printed.")
    # The same numbers in the analyte's canonical unit, so evaluation and
    # queries never convert on the read path.
    value_canonical = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)
    loq_canonical = models.DecimalField(max_digits=28, decimal_places=10, null=True, blank=True)

    class Meta:
        ordering = ["analyte__panel", "analyte__position"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "analyte"], name="unique_result"),
            models.CheckConstraint(
                condition=(Q(qualifier="") & Q(value__isnull=False))
                | (~Q(qualifier="") & Q(value__isnull=True)),
                name="result_value_or_qualifier",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | ~Q(unit=""), name="result_value_has_unit"
            ),
        ]

    def __str__(self):
        return f"{self.analyte}: {self.display()}"

    def display(self):
        if self.qualifier == "<LOQ" and self.loq is not None:
            return f"<{self.loq.normalize():f} {self.unit}".strip()
        if self.qualifier:
            return self.get_qualifier_display()
        return f"{self.value.normalize():f} {self.unit}".strip()


class VerdictQuerySet(models.QuerySet):
    def with_effective_status(self, as_of=None):
        """Annotate ``effective_status``: the stored status, except that a
        verdict whose ``current_until`` has passed reads as stale. Staleness is
        a date comparison here, so nothing needs recomputing as days pass."""
        as_of = as_of or timezone.localdate()
        return self.annotate(
            effective_status=Case(
                When(
                    status=VerdictStatus.CURRENT,
                    current_until__lt=as_of,
                    then=Value(VerdictStatus.STALE.value),
                ),
                default=F("status"),
                output_field=models.CharField(),
            )
        )


class WrittenJSONField(models.JSONField):
    """JSON that only the verdict refresh writes, encoded by orjson and so
    valid by construction: no per-row ``JSON_VALID`` check on SQLite, which
    cost a sixth of a full refresh's writes (benchmarks/refresh_verdicts.py)."""

    def db_check(self, connection):
        return None


class VerdictBase(models.Model):
    # No index of its own: each table's covering index leads with it.
    standard = models.ForeignKey(
        Standard, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(
        max_length=16,
        choices=VerdictStatus.choices,
        help_text="As computed, before the date is applied: never 'stale' here.",
    )
    current_until = models.DateField(null=True, blank=True)
    panels = WrittenJSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)

    objects = VerdictQuerySet.as_manager()

    class Meta:
        abstract = True

    def status_on(self, day):
        return effective_status(self.status, self.current_until, day)


class BatchVerdict(VerdictBase):
    # Indexed as the first column of the unique (batch, standard) pair.
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="verdicts", db_index=False
    )
    judgements = WrittenJSONField(default=list)
    label_accuracy = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "standard"], name="unique_batch_verdict")
        ]
        indexes = [models.Index(fields=["standard", "status"])]

    def __str__(self):
        return f"batch {self.batch_id} under standard {self.standard_id}: {self.status}"


class ProductVerdict(VerdictBase):
    # Indexed as the first column of the unique (product, standard) pair.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="verdicts", db_index=False
    )
    batch = models.ForeignKey(
        Batch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The batch on sale whose verdict decides the product's.",
    )
    # Each panel's current-until date on the deciding batch (empty when the
    # panel is missing), so "products with heavy metals tested and current"
    # is an indexed date comparison rather than a search inside ``panels``.
    alkaloids_until = models.DateField(null=True, blank=True)
    heavy_metals_until = models.DateField(null=True, blank=True)
    microbials_until = models.DateField(null=True, blank=True)
    pesticides_until = models.DateField(null=True, blank=True)
    residual_solvents_until = models.DateField(null=True, blank=True)
    mycotoxins_until = models.DateField(null=True, blank=True)
    adulterants_until = models.DateField(null=True, blank=True)
    # A digest of everything this verdict and its batches' verdicts under
    # this standard were computed from (the engine's code, the standard's
    # rules, the product, its batches and their counted results): a refresh
    # whose inputs digest the same leaves the rows as they are.
    inputs = models.CharField(max_length=16, blank=True, default="", editable=False)
    # A digest of the rows as stored (this one and its batches' under this
    # standard): a refresh that judges the same leaves them as they are, so
    # ``refresh_verdicts --force`` recomputes everything but writes only
    # what differs.
    outputs = models.CharField(max_length=16, blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "standard"], name="unique_product_verdict")
        ]
        # Covering for the list's verdict filter and its count: the status
        # conditions and the product id come from the index alone, never
        # from the row with its panels.
        indexes = [
            models.Index(
                fields=["standard", "status", "current_until", "product"],
                name="productverdict_status_cover",
            )
        ]

    def __str__(self):
        return f"product {self.product_id} under standard {self.standard_id}: {self.status}"


class ReviewEvent(models.Model):
    """One state change of a certificate: who, when, from, to, why."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.action}: {self.from_state or '—'} → {self.to_state}"


class ConsumerReport(models.Model):
    """A problem with a certificate reported by anyone; staff work them in
    their own queue."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="reports")
    message = models.TextField(max_length=4000)
    email = models.EmailField(blank=True, help_text="Optional, to hear back.")
    client_key = models.CharField(
        max_length=64, db_index=True, help_text="Salted hash of the reporter's address."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    note = models.TextField(blank=True, help_text="What staff did about it.")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["open", "resolved", "dismissed"]), name="report_state_valid"
            )
        ]

    def __str__(self):
        return f"Report on {self.certificate_id}: {self.message[:40]}"


class PublishedState(models.Model):
    """One row: a counter bumped in the same transaction as any change to
    what public pages show (verdicts, certificates, standards). Cached pages
    are keyed by it, so every app server sees an invalidation at once."""

    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="published_state_single_row")]

    def __str__(self):
        return f"published version {self.version}"
