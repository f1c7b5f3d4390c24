from django.urls import reverse
from rest_framework import serializers

from vendors.models import Product, Vendor

from . import verdicts
from .models import Analyte, Certificate, Lab, Requirement, Result, Standard
from .review import REJECT_REASONS


def absolute(request, path):
    return request.build_absolute_uri(path) if request else path


class VendorRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["slug", "name"]


class ProductListSerializer(serializers.ModelSerializer):
    vendor = VendorRefSerializer(read_only=True)
    verdict = serializers.CharField(read_only=True)
    api_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "vendor", "form", "verdict", "api_url", "url"]

    def get_api_url(self, product) -> str:
        return absolute(
            self.context.get("request"), reverse("api:product-detail", args=[product.pk])
        )

    def get_url(self, product) -> str:
        return absolute(
            self.context.get("request"),
            reverse("product_detail", args=[product.vendor.slug, product.slug]),
        )


class ProductDetailSerializer(ProductListSerializer):
    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields,
            "serving_size_g",
            "max_servings_per_day",
            "label_mitragynine_mg",
            "gtin",
        ]


class VendorSerializer(serializers.ModelSerializer):
    product_count = serializers.IntegerField(read_only=True)
    current_count = serializers.IntegerField(read_only=True)
    current_share = serializers.SerializerMethodField()
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:vendor-detail", lookup_field="slug"
    )

    class Meta:
        model = Vendor
        fields = [
            "slug",
            "name",
            "website",
            "product_count",
            "current_count",
            "current_share",
            "api_url",
        ]

    def get_current_share(self, vendor) -> float | None:
        if not vendor.product_count:
            return None
        return round(vendor.current_count / vendor.product_count, 4)


class LabSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lab
        fields = [
            "id",
            "slug",
            "name",
            "address",
            "accreditation_body",
            "accreditation_id",
            "accredited_from",
            "accredited_until",
        ]


class AnalyteSerializer(serializers.ModelSerializer):
    synonyms = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Analyte
        fields = ["code", "name", "panel", "unit", "qualitative", "synonyms"]


class RequirementSerializer(serializers.ModelSerializer):
    analyte = serializers.SlugRelatedField(read_only=True, slug_field="code")
    panel = serializers.CharField(source="analyte.panel", read_only=True)

    class Meta:
        model = Requirement
        fields = [
            "analyte",
            "panel",
            "basis",
            "limit",
            "comparison",
            "unit",
            "required",
            "forms",
            "source",
        ]


class StandardSerializer(serializers.ModelSerializer):
    requirements = RequirementSerializer(many=True, read_only=True)

    class Meta:
        model = Standard
        fields = [
            "code",
            "name",
            "jurisdiction",
            "description",
            "source",
            "effective_on",
            "max_age_days",
            "requires_accreditation",
            "is_default",
            "requirements",
        ]


class ResultSerializer(serializers.ModelSerializer):
    analyte = serializers.SlugRelatedField(read_only=True, slug_field="code")
    within_limits = serializers.SerializerMethodField(
        help_text="The result against the default standard's limit for the product it "
        "covers: true, false, or null (no limit, not decidable, or products judged apart)."
    )

    class Meta:
        model = Result
        fields = ["analyte", "value", "unit", "qualifier", "loq", "basis", "raw", "within_limits"]

    def get_within_limits(self, result) -> bool | None:
        # Worked out once per certificate and request, from the prefetched
        # results and batches; the default standard is read once per request.
        context = self.context
        if "default_standard" not in context:
            context["default_standard"] = verdicts.load_standards()[0][1]
        answers = context.setdefault("within_limits", {})
        if result.certificate_id not in answers:
            answers[result.certificate_id] = verdicts.results_within_limits(
                result.certificate, context["default_standard"]
            )
        return answers[result.certificate_id].get(result.analyte.code)


class CertificateSerializer(serializers.ModelSerializer):
    lab = LabSerializer(read_only=True)
    results = ResultSerializer(many=True, read_only=True)
    batches = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()

    def to_representation(self, certificate):
        data = super().to_representation(certificate)
        if data["flags"] is None:
            del data["flags"]  # only the uploader and staff see trust findings
        return data

    def get_flags(self, certificate) -> list[dict] | None:
        show = self.context.get("show_flags")
        return show(certificate) if show else None

    class Meta:
        model = Certificate
        fields = [
            "id",
            "state",
            "lab",
            "report_number",
            "sampled_on",
            "tested_on",
            "issued_on",
            "sha256",
            "batches",
            "results",
            "reason",
            "file_url",
            "flags",
        ]

    def get_batches(self, certificate) -> list[dict]:
        return [
            {
                "id": b.pk,
                "lot": b.lot_code,
                "product": b.product.slug,
                "vendor": b.product.vendor.slug,
            }
            for b in certificate.batches.all()
        ]

    def get_file_url(self, certificate) -> str:
        return absolute(
            self.context.get("request"), reverse("certificate_file", args=[certificate.pk])
        )


class LotSerializer(serializers.Serializer):
    """Schema only: the lot view builds its rows from stored verdicts."""

    id = serializers.IntegerField()
    lot = serializers.CharField()
    on_sale = serializers.BooleanField()
    verdict = serializers.CharField()


class UploadSerializer(serializers.Serializer):
    """``POST /api/v1/certificates/``: a file for one batch, named by id or by
    product id and lot code (a new lot becomes a batch on sale)."""

    file = serializers.FileField()
    batch = serializers.IntegerField(required=False)
    product = serializers.IntegerField(required=False)
    lot = serializers.CharField(required=False, max_length=64)
    lab = serializers.PrimaryKeyRelatedField(queryset=Lab.objects.all())
    report_number = serializers.CharField(max_length=100)
    tested_on = serializers.DateField()
    sampled_on = serializers.DateField(required=False, allow_null=True)
    issued_on = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        from vendors.models import Batch, Product, lot_code_problem

        if attrs.get("batch") is not None:
            batch = (
                Batch.objects.select_related("product__vendor").filter(pk=attrs["batch"]).first()
            )
            if batch is None:
                raise serializers.ValidationError({"batch": ["No such batch."]})
            attrs["batch"], attrs["product"] = batch, batch.product
        elif attrs.get("product") is not None and attrs.get("lot", "").strip():
            if problem := lot_code_problem(attrs["lot"]):
                raise serializers.ValidationError({"lot": [problem]})
            product = Product.objects.select_related("vendor").filter(pk=attrs["product"]).first()
            if product is None:
                raise serializers.ValidationError({"product": ["No such product."]})
            attrs["batch"] = Batch.objects.with_lot(attrs["lot"]).filter(product=product).first()
            attrs["product"] = product
        else:
            raise serializers.ValidationError(
                {"batch": ["Give a batch id, or a product id and a lot code."]}
            )
        return attrs


class RejectSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(REJECT_REASONS))
    reason = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
