"""Public pages: thin views over ``selectors``; nothing is evaluated here."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from vendors.models import Batch, Product

from . import selectors
from .api import database_answers
from .filters import ProductFilter
from .models import Certificate, Lab, Standard


@require_safe
def healthz(request):
    try:
        ok = database_answers()
    except Exception:  # any database failure means "not healthy", never a 500 page
        ok = False
    return HttpResponse(
        "ok" if ok else "database unavailable", status=200 if ok else 503, content_type="text/plain"
    )


@require_safe
def home(request):
    recent = (
        Certificate.objects.approved()
        .select_related("lab", "vendor")
        .order_by("-decided_at", "-id")[:8]
    )
    counts = {
        "products": Product.objects.count(),
        "batches": Batch.objects.count(),
        "certificates": Certificate.objects.approved().count(),
        "labs": Lab.objects.count(),
    }
    return render(request, "registry/home.html", {"recent": recent, "counts": counts})


@require_safe
def product_list(request):
    products = ProductFilter(
        request.GET,
        queryset=selectors.products_with_verdict().order_by("vendor__name", "name", "pk"),
    )
    page = Paginator(products.qs, 50).get_page(request.GET.get("page"))
    return render(request, "registry/product_list.html", {"filter": products, "page": page})


@require_safe
def product_detail(request, vendor, product):
    as_of = timezone.localdate()
    product = get_object_or_404(
        selectors.products_with_verdict(as_of=as_of), vendor__slug=vendor, slug=product
    )
    rows = selectors.product_verdicts(product)
    default = rows[0] if rows else None
    standard = default.standard if default else Standard.objects.filter(is_default=True).first()
    batches = list(selectors.batches_with_verdict(product, standard, as_of)) if standard else []
    return render(
        request,
        "registry/product_detail.html",
        {
            "product": product,
            "verdict": default,
            "panels": selectors.panels_on(default.panels if default else [], as_of),
            "jurisdictions": [(row.standard, row.status_on(as_of)) for row in rows],
            "batches": batches,
            "as_of": as_of,
        },
    )


@require_safe
def lot_list(request):
    code = request.GET.get("code", "").strip()
    batches = list(selectors.lot_batches(code)) if code else []
    return render(request, "registry/lot_list.html", {"code": code, "batches": batches})


@require_safe
def vendor_detail(request, slug):
    vendor = get_object_or_404(selectors.vendors_with_share(), slug=slug)
    products = selectors.products_with_verdict().filter(vendor=vendor).order_by("name")
    return render(request, "registry/vendor_detail.html", {"vendor": vendor, "products": products})


@require_safe
def lab_list(request):
    labs = Lab.objects.annotate(certificate_count=Count("certificates")).order_by("name")
    return render(request, "registry/lab_list.html", {"labs": labs, "today": timezone.localdate()})


def _visible_certificate(request, pk):
    queryset = Certificate.objects.visible_to(request.user).distinct()
    return get_object_or_404(queryset.select_related("lab", "vendor"), pk=pk)


@require_safe
def certificate_detail(request, pk):
    certificate = _visible_certificate(request, pk)
    return render(
        request,
        "registry/certificate_detail.html",
        {
            "certificate": certificate,
            "results": certificate.results.select_related("analyte"),
            "batches": certificate.batches.select_related("product__vendor"),
            "events": certificate.events.all(),
        },
    )


@require_safe
def certificate_file(request, pk):
    """The original document, only for those who may see the certificate,
    under a name the server chooses and with a policy that stops it acting
    as a page of this site."""
    certificate = _visible_certificate(request, pk)
    try:
        handle = certificate.file.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    extension = {
        "application/pdf": "pdf",
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/webp": "webp",
    }
    filename = f"certificate-{certificate.pk}.{extension.get(certificate.content_type, 'bin')}"
    response = FileResponse(handle, content_type=certificate.content_type, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; object-src 'self'"
    response["Cache-Control"] = (
        "private, no-store"
        if certificate.state not in Certificate.PUBLIC_STATES
        else "public, max-age=3600"
    )
    return response
