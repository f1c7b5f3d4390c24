"""Public pages: thin views over ``selectors``; nothing is evaluated here."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from vendors.models import Batch, Product, barcodes, clean_lot_code, looks_like_lot

from . import caching, dose, jurisdictions, review, selectors, uploads
from .api import database_answers
from .evaluation import UNTESTED
from .filters import ProductFilter, labels_in_use
from .forms import DoseForm, ReportForm
from .models import Analyte, Certificate, Lab, Standard
from .pagination import page_of
from .portal import vendor_flags
from .templatetags.registry_tags import verdict_words


def livez(request):
    """The process answers (no database): a liveness probe, and the trivial
    view page benchmarks compare against."""
    return HttpResponse("ok", content_type="text/plain")


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
@caching.public_page
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
def search(request):
    """The home page's one box. A lot code printed on a package lands on that
    lot, a barcode on its product; anything else lists matching products."""
    query = request.GET.get("q", "").strip()
    if not query:
        return redirect("product_list")
    if Batch.objects.with_lot(query).exists():
        return redirect(f"{reverse('lot_list')}?{urlencode({'code': query})}")
    by_barcode = list(Product.objects.filter(gtin__in=barcodes(query)).select_related("vendor")[:2])
    if len(by_barcode) == 1:
        return redirect(by_barcode[0].get_absolute_url())
    return redirect(f"{reverse('product_list')}?{urlencode({'search': query})}")


@require_safe
@caching.public_page
def product_list(request):
    catalogue = selectors.products_with_verdict()
    products = ProductFilter(request.GET, queryset=catalogue.order_by(*selectors.CATALOGUE_ORDER))
    context = {"filter": products, "in_use": labels_in_use(products.form)}
    if not products.is_valid():
        # Nothing is listed (all products would read as a filtered result)
        # and the answer is 400, as the API's for the same parameters: the
        # request cannot be answered as asked. The page says why, and an
        # error page is never kept in the page cache (only 200s are).
        return render(request, "registry/product_list.html", context, status=400)
    # A page of ids first: sorting carries no more than the sort keys, and
    # each verdict is read for the fifty products shown, not for every match.
    ids = products.qs.values_list("pk", flat=True)
    page = page_of(ids, request)
    page.object_list = selectors.in_order(catalogue, page.object_list)
    typed = products.form.cleaned_data
    if not page.paginator.count:
        # Nothing found: part of a vendor's name (the filter wants all of
        # it) leads to that vendor, or to a choice of vendors; a search
        # that reads as a lot code gets a lot code's advice.
        named = selectors.vendors_named(typed["vendor"]) if typed.get("vendor") else []
        if len(named) == 1:
            # To what the filter matches, never to itself: the name, or the
            # slug when a stored name has spaces around it (the form strips
            # what is typed, so that name could never match).
            name = named[0].name
            target = name if name == name.strip() else named[0].slug
            if target.casefold() != typed["vendor"].casefold():
                query = request.GET.copy()
                query["vendor"] = target
                query.pop("page", None)
                return redirect(f"{reverse('product_list')}?{query.urlencode()}")
        context["vendors_named"] = named
        context["lot_like"] = looks_like_lot(typed.get("search") or "")
    return render(request, "registry/product_list.html", {**context, "page": page})


@require_safe
@caching.public_page
def product_detail(request, vendor, product):
    as_of = timezone.localdate()
    product = get_object_or_404(
        Product.objects.select_related("vendor"), vendor__slug=vendor, slug=product
    )
    # Every standard's row is read for the jurisdictions table; the default
    # standard's gives the verdict the page leads with.
    rows = selectors.product_verdicts(product)
    default = next((row for row in rows if row.standard.is_default), None)
    standard = default.standard if default else Standard.objects.filter(is_default=True).first()
    batches = (
        selectors.batches_with_verdict(product, standard, as_of, panels=False, judgements=True)
        if standard
        else []
    )
    # One batch for the panels, each result against its limit and the dose
    # calculator: the one that decides the verdict (the worst on sale).
    deciding = next((b for b in batches if default and b.pk == default.batch_id), None)
    judgements = (deciding.judgements or []) if deciding else []
    links = selectors.certificate_links(product)
    # Bound only by its own field: a QR code's ?utm_source=qr is no calculation.
    dose_form = DoseForm(request.GET if "grams" in request.GET else None)
    grams = dose_form.cleaned_data["grams"] if dose_form.is_valid() else None
    figures = dose.figures(judgements)
    analytes = dict(Analyte.objects.values_list("code", "name"))
    return render(
        request,
        "registry/product_detail.html",
        {
            "product": product,
            "verdict": default,
            "status": default.status_on(as_of) if default else UNTESTED,
            "panels": [
                {**p, "missing_names": [analytes.get(a, a) for a in p["missing_analytes"]]}
                for p in selectors.panels_on(default.panels if default else [], as_of)
            ],
            "judgements": [
                {**j, "name": analytes.get(j["analyte"], j["analyte"])} for j in judgements
            ],
            "standard": standard,
            "deciding": deciding,
            "on_sale": [b for b in batches if b.on_sale],
            "label_accuracy": deciding.label_accuracy if deciding else None,
            "jurisdictions": jurisdictions.readings(rows, as_of),
            "batches": batches,
            "certificates": selectors.certificate_history(product, links=links),
            "trend": selectors.alkaloid_trend(product, links=links),
            "dose_figures": figures,
            "dose_form": dose_form,
            "dose": dose.amounts(figures, grams),
            "as_of": as_of,
            "page_url": request.build_absolute_uri(product.get_absolute_url()),
        },
    )


@require_safe
@caching.public_page
def lot_list(request):
    code = clean_lot_code(request.GET.get("code", ""))  # as the look-up reads it
    batches = list(selectors.lot_batches(code)) if code else []
    return render(request, "registry/lot_list.html", {"code": code, "batches": batches})


@require_safe
@caching.public_page
def vendor_detail(request, slug):
    vendor = get_object_or_404(selectors.vendors_with_share(), slug=slug)
    products = selectors.products_with_verdict().filter(vendor=vendor).order_by("name")
    return render(request, "registry/vendor_detail.html", {"vendor": vendor, "products": products})


@require_safe
@caching.public_page
def lab_list(request):
    labs = selectors.labs_with_counts()
    return render(request, "registry/lab_list.html", {"labs": labs, "today": timezone.localdate()})


def _visible_certificate(request, pk):
    queryset = Certificate.objects.visible_to(request.user).distinct()
    return get_object_or_404(queryset.select_related("lab", "vendor"), pk=pk)


@require_safe
def certificate_detail(request, pk):
    return _certificate_page(request, _visible_certificate(request, pk))


def _certificate_page(request, certificate, *, report_form=None, status=200):
    """The certificate page: for its own GET, and for the report form's
    answer when a report cannot be taken (the form shown again with its
    errors). A page only the uploading vendor and staff may see (pending,
    rejected) is marked private and not to be stored, so no shared cache
    between them and the site keeps it; public ones keep their headers."""
    user = request.user
    own = user.is_authenticated and certificate.vendor.members.filter(pk=user.pk).exists()
    public = certificate.state in Certificate.PUBLIC_STATES
    response = render(
        request,
        "registry/certificate_detail.html",
        {
            "certificate": certificate,
            **selectors.certificate_page(certificate),
            "events": certificate.events.exclude(action="claimed"),
            "own": own,
            "flags": certificate.flags
            if user.is_staff
            else (vendor_flags(certificate) if own else []),
            "report_form": report_form or ReportForm(),
            "public": public,
        },
        status=status,
    )
    if not public:
        add_never_cache_headers(response)
    return response


@require_POST
def report_problem(request, pk):
    """Anyone may report a problem with a published certificate; CSRF-checked
    like every POST, and limited per address in ``review.report_problem``."""
    certificate = _visible_certificate(request, pk)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            review.report_problem(
                certificate,
                message=form.cleaned_data["message"],
                email=form.cleaned_data["email"],
                address=request.META.get("REMOTE_ADDR", ""),
            )
        except review.ReviewError as error:
            form.add_error(None, str(error))
            status = 429 if "Too many" in str(error) else 400
            return _certificate_page(request, certificate, report_form=form, status=status)
        messages.success(request, "Thank you. Registry staff will look into it.")
        return redirect("certificate_detail", pk=pk)
    return _certificate_page(request, certificate, report_form=form, status=400)


@require_safe
def certificate_preview(request, pk):
    certificate = _visible_certificate(request, pk)
    if not certificate.preview:
        raise Http404("No preview for this certificate.")
    return _serve(
        certificate.preview,
        "image/png",
        f"certificate-{certificate.pk}-preview.png",
        public=certificate.state in Certificate.PUBLIC_STATES,
    )


@require_safe
def certificate_file(request, pk):
    """The original document, only for those who may see the certificate,
    under a name the server chooses and with a policy that stops it acting
    as a page of this site."""
    certificate = _visible_certificate(request, pk)
    extension = {
        "application/pdf": "pdf",
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/webp": "webp",
    }.get(certificate.content_type, "bin")
    return _serve(
        certificate.file,
        certificate.content_type,
        f"certificate-{certificate.pk}.{extension}",
        public=certificate.state in Certificate.PUBLIC_STATES,
    )


def _serve(field, content_type, filename, *, public):
    if not uploads.within_storage(field.name):
        raise Http404("No such file.")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    response = FileResponse(handle, content_type=content_type, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "public, max-age=3600" if public else "private, no-store"
    return response


BADGE_COLOURS = {
    "current": "#14532d",
    "fails_limits": "#7f1d1d",
    "stale": "#7c2d12",
    "incomplete": "#5c3d00",
    "untested": "#33393f",
}


@require_safe
@caching.public_page
def badge(request, vendor, product):
    """A live status badge for vendors' own sites: the product's verdict under
    the default standard, cacheable for an hour at most."""
    product = get_object_or_404(
        selectors.products_with_verdict(), vendor__slug=vendor, slug=product
    )
    words = verdict_words(product.verdict)
    label = "kratom test registry"
    left, right = 7 * len(label) + 12, 7 * len(words) + 14
    svg = render_to_string(
        "registry/badge.svg",
        {
            "label": label,
            "words": words,
            "left": left,
            "right": right,
            "width": left + right,
            "colour": BADGE_COLOURS.get(product.verdict, BADGE_COLOURS["untested"]),
            "product": product,
        },
    )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Access-Control-Allow-Origin"] = "*"
    return response
