"""The JSON API (API.md, "/api/v1/"): thin views over selectors and services."""

import csv

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, parsers, permissions, renderers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response

from vendors.models import Batch, Product, clean_lot_code
from vendors.services import create_batch

from . import review, selectors, serializers, uploads
from .filters import ProductFilter
from .models import Analyte, Certificate, Lab, Standard
from .upload_limit import limit_message, too_large


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``Accept: text/csv`` reach the export (which streams its own
    response); an error answered to such a request comes as CSV too."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        writer = csv.writer(_Echo())
        lines = [writer.writerow(["field", "message"])]
        for field, messages in (data if isinstance(data, dict) else {"detail": data}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                lines.append(writer.writerow([field, cell(str(message))]))
        return "".join(lines).encode()


def cell(value):
    """A text cell a spreadsheet will not run: one starting with = + - @ or
    a tab or carriage return is a formula to Excel and LibreOffice, so it
    gets a leading apostrophe (OWASP's advice for CSV injection)."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


# Ids in URLs: ASCII digits only (``str.isdigit`` also takes "²" and "١").
ID = "[0-9]+"


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ProductListSerializer
    filterset_class = ProductFilter
    lookup_value_regex = ID

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Product.objects.none()
        return selectors.products_with_verdict().order_by(*selectors.CATALOGUE_ORDER)

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def export_csv(self, request):
        """Every product matching the same filters as the list, as CSV."""
        return csv_response(self.filter_queryset(self.get_queryset()), request)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "standard", OpenApiTypes.STR, description="Standard code (default: baseline)"
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def retrieve(self, request, pk=None):
        as_of = timezone.localdate()
        product = get_object_or_404(selectors.products_with_verdict(as_of=as_of), pk=pk)
        rows = selectors.product_verdicts(product)
        standards = list(Standard.objects.order_by("-is_default", "position", "code"))
        code = request.query_params.get("standard")
        chosen = next((s for s in standards if s.code == code), None) if code else standards[0]
        if chosen is None:
            known = ", ".join(s.code for s in standards)
            raise exceptions.ValidationError(
                {"standard": [f"Unknown standard '{code}'. Known: {known}."]}
            )
        by_standard = {row.standard_id: row for row in rows}
        row = by_standard.get(chosen.pk)
        batches = selectors.batches_with_verdict(product, chosen, as_of)
        data = serializers.ProductDetailSerializer(product, context={"request": request}).data
        data["status"] = {
            "verdict": row.status_on(as_of) if row else "untested",
            "standard": chosen.code,
            "as_of": as_of.isoformat(),
            "valid_until": row.current_until.isoformat() if row and row.current_until else None,
            "panels": [
                panel_json(p, request)
                for p in selectors.panels_on(row.panels if row else [], as_of)
            ],
            "batches": [
                {
                    "id": b.pk,
                    "lot": b.lot_code,
                    "on_sale": b.on_sale,
                    "verdict": b.verdict,
                    "api_url": request.build_absolute_uri(
                        "/api/v1/lots/?" + urlencode({"code": b.lot_code})
                    ),
                }
                for b in batches
            ],
        }
        data["verdicts"] = {
            s.code: by_standard[s.pk].status_on(as_of) if s.pk in by_standard else "untested"
            for s in standards
        }
        return Response(data)


class _Echo:
    def write(self, value):
        return value


def csv_response(products, request):
    writer = csv.writer(_Echo())
    header = [
        "id",
        "vendor",
        "vendor_slug",
        "name",
        "slug",
        "form",
        "verdict",
        "valid_until",
        "url",
    ]

    def rows():
        yield writer.writerow(header)
        for p in products.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    p.pk,
                    cell(p.vendor.name),
                    p.vendor.slug,
                    cell(p.name),
                    p.slug,
                    p.form,
                    p.verdict,
                    p.verdict_until.isoformat()
                    if p.verdict_until and p.verdict == "current"
                    else "",
                    request.build_absolute_uri(p.get_absolute_url()),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kratom-products.csv"'
    return response


def one_path_per_decision(endpoints):
    """Schema hook: the decisions answer with and without a trailing slash
    (API.md writes them without); document each once, as the router does."""
    return [
        e
        for e in endpoints
        if not e[0].rstrip("/").endswith(("approve", "reject", "withdraw")) or e[0].endswith("/")
    ]


def flags_are_optional(result, generator, request, public):
    """Schema hook: a certificate carries ``flags`` only for its uploader and
    staff (API.md), so the schema must not call them required."""
    component = result.get("components", {}).get("schemas", {}).get("Certificate", {})
    if "flags" in component.get("required", []):
        component["required"].remove("flags")
    return result


def panel_json(panel, request):
    """A stored panel (with its state on the day) as API.md shapes it."""
    return {
        "panel": panel["panel"],
        "required": panel["required"],
        "state": panel["state"],
        "within_limits": panel["within_limits"],
        "tested_on": panel["tested_on"],
        "current_until": panel["current_until"],
        "missing_analytes": panel["missing_analytes"],
        "certificates": [
            request.build_absolute_uri(f"/api/v1/certificates/{pk}/")
            for pk in panel["certificates"]
        ],
    }


class LotViewSet(viewsets.GenericViewSet):
    """Every batch printed with a lot code (several vendors may share one)."""

    serializer_class = serializers.LotSerializer
    queryset = Batch.objects.none()  # rows are built in list(); this names the model

    @extend_schema(parameters=[OpenApiParameter("code", OpenApiTypes.STR, required=True)])
    def list(self, request):
        code = clean_lot_code(request.query_params.get("code", ""))  # as the page reads it
        if not code:
            raise exceptions.ValidationError({"code": ["A lot code is required."]})
        as_of = timezone.localdate()
        batches = selectors.lot_batches(code, as_of)
        page = self.paginate_queryset(batches)
        rows = [
            {
                "id": b.pk,
                "lot": b.lot_code,
                "on_sale": b.on_sale,
                "product": {
                    "id": b.product.pk,
                    "slug": b.product.slug,
                    "name": b.product.name,
                    "api_url": request.build_absolute_uri(f"/api/v1/products/{b.product.pk}/"),
                },
                "vendor": {"slug": b.product.vendor.slug, "name": b.product.vendor.name},
                "verdict": b.verdict,
                "panels": [panel_json(p, request) for p in selectors.panels_on(b.panels, as_of)],
            }
            for b in page
        ]
        return self.get_paginated_response(rows)


class VendorViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.VendorSerializer
    lookup_field = "slug"

    @extend_schema(parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        queryset = selectors.vendors_with_share().order_by("name")
        if self.action == "list" and mine(self.request):
            queryset = queryset.filter(members=self.request.user)
        return queryset


TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def mine(request):
    """``?mine=``: true asks for the caller's own (and needs a caller);
    anything that is neither true nor false is an error, not ignored."""
    given = request.query_params.get("mine")
    if given is None or given.strip().lower() in FALSE:
        return False
    if given.strip().lower() not in TRUE:
        raise exceptions.ValidationError({"mine": ["Use mine=1 (your own) or mine=0."]})
    if not request.user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return True


class LabViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.LabSerializer
    queryset = Lab.objects.order_by("name")


class AnalyteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.AnalyteSerializer
    queryset = Analyte.objects.prefetch_related("synonyms").order_by("panel", "position", "code")
    lookup_field = "code"


class StandardViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.StandardSerializer
    queryset = Standard.objects.prefetch_related("requirements__analyte").order_by(
        "-is_default", "position", "code"
    )
    lookup_field = "code"


class IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_staff)


class CertificateViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Certificates: published ones for anyone; vendors upload and follow
    their own; staff review. Writes call the same services as the pages."""

    serializer_class = serializers.CertificateSerializer
    lookup_value_regex = ID
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]

    def get_permissions(self):
        if self.action in ("results", "approve", "reject", "withdraw"):
            return [permissions.IsAuthenticated(), IsStaff()]
        if self.action == "create":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    def get_queryset(self):
        queryset = Certificate.objects.visible_to(self.request.user)
        if self.action == "list":
            if mine(self.request):
                queryset = Certificate.objects.filter(vendor__members=self.request.user)
            else:
                queryset = Certificate.objects.public()
        return (
            queryset.distinct()
            .select_related("lab")
            .prefetch_related("results__analyte", "batches__product__vendor")
            .order_by("-created", "-id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_flags"] = self._show_flags
        return context

    def _show_flags(self, certificate):
        user = self.request.user
        if user.is_staff:
            return certificate.flags
        if user.is_authenticated and certificate.vendor.members.filter(pk=user.pk).exists():
            from .portal import vendor_flags

            return vendor_flags(certificate)
        return None

    @extend_schema(parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=serializers.UploadSerializer, responses={201: serializers.CertificateSerializer}
    )
    def create(self, request):
        upload = serializers.UploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        if too_large(request._request):
            raise exceptions.ValidationError({"file": [limit_message()]})
        vendor = data["product"].vendor
        if not vendor.members.filter(pk=request.user.pk).exists():
            raise exceptions.PermissionDenied(
                "You can only upload certificates for your own batches."
            )
        handle = data["file"]
        try:
            with transaction.atomic():
                # A new lot becomes a batch on sale; if the upload is refused
                # the batch is rolled back with it.
                batch = data["batch"] or create_batch(data["product"], lot_code=data["lot"])
                certificate = self._submit(request, vendor, batch, handle, data)
        except uploads.UploadError as error:
            raise exceptions.ValidationError({"file": [str(error)]}) from None
        except review.ReviewError as error:
            raise exceptions.ValidationError({"non_field_errors": [str(error)]}) from None
        except OperationalError:
            return Response(
                {"detail": "The registry is busy right now. Upload again in a minute."}, status=503
            )
        except OSError:
            return Response(
                {"detail": "The upload could not be stored. Try again later."}, status=503
            )
        body = self.get_serializer(certificate).data
        return Response(body, status=201)

    @staticmethod
    def _submit(request, vendor, batch, handle, data):
        return review.submit(
            vendor=vendor,
            user=request.user,
            data=handle.read(),
            filename=handle.name,
            batches=[batch],
            lab=data["lab"],
            report_number=data["report_number"],
            tested_on=data["tested_on"],
            sampled_on=data.get("sampled_on"),
            issued_on=data.get("issued_on"),
        )

    def _decide(self, request, pk, action):
        certificate = get_object_or_404(Certificate, pk=pk)
        try:
            action(certificate)
        except review.ReviewError as error:
            return Response({"detail": str(error)}, status=409)
        certificate.refresh_from_db()
        return Response(self.get_serializer(certificate).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=serializers.CertificateSerializer)
    @action(detail=True, methods=["put"], url_path="results")
    def results(self, request, pk=None):
        items = request.data.get("results") if isinstance(request.data, dict) else request.data
        if not isinstance(items, list):
            raise exceptions.ValidationError({"results": ["Send a list of coa/1 result objects."]})
        return self._decide(request, pk, lambda c: review.set_results(c, items, by=request.user))

    @extend_schema(request=None, responses=serializers.CertificateSerializer)
    @action(detail=True, methods=["post"], url_path="approve")
    def approve(self, request, pk=None):
        return self._decide(request, pk, lambda c: review.approve(c, by=request.user))

    @extend_schema(
        request=serializers.RejectSerializer, responses=serializers.CertificateSerializer
    )
    @action(detail=True, methods=["post"], url_path="reject")
    def reject(self, request, pk=None):
        body = serializers.RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._decide(
            request,
            pk,
            lambda c: review.reject(
                c,
                by=request.user,
                code=body.validated_data["code"],
                reason=body.validated_data["reason"],
            ),
        )

    @extend_schema(
        request=serializers.ReasonSerializer, responses=serializers.CertificateSerializer
    )
    @action(detail=True, methods=["post"], url_path="withdraw")
    def withdraw(self, request, pk=None):
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._decide(
            request,
            pk,
            lambda c: review.withdraw(c, by=request.user, reason=body.validated_data["reason"]),
        )


class LockedOut(exceptions.Throttled):
    default_detail = "Too many failed log-ins for this username: it is locked for a while."


class TokenView(ObtainAuthToken):
    """``POST`` username and password, receive ``{"token": "…"}``.

    The log-in lockout (django-axes) counts these attempts with the site's
    log-in form; a locked-out caller gets 429, as the form answers, not the
    400 of a wrong password (which would tell a guesser nothing changed).
    Axes marks the request DRF passes to ``authenticate``, not the one its
    middleware sees, so the view reads the mark itself."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT}
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(wait=settings.AXES_COOLOFF_TIME * 3600) from None
            raise


def database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)
