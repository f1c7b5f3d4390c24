"""The vendor portal (``/portal/``): a member's products, batches and
uploads, the upload form, and their API token. Thin views over
``review.submit``; every object is looked up through the member's vendors so
someone else's is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import OperationalError
from django.db.models import Prefetch
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from vendors.models import Batch, Product, Vendor

from . import review, upload_limit, uploads
from .forms import UploadForm
from .models import Certificate, Lab

# Findings that name other vendors' certificates are shown to the uploader
# without those references.
VENDOR_WORDING = {
    "duplicate_file": "The same file is already registered elsewhere.",
    "duplicate_report_number": "This lab report number is already registered elsewhere.",
}


def vendor_flags(certificate):
    return [
        {"code": f["code"], "detail": VENDOR_WORDING.get(f["code"], f["detail"])}
        for f in certificate.flags or ()
    ]


def member_vendors(user):
    return Vendor.objects.filter(members=user).order_by("name")


def current_vendor(request):
    """The vendor a member is working for: the one named in ``?vendor=`` or
    their first. A user who belongs to none has no portal."""
    vendors = list(member_vendors(request.user))
    if not vendors:
        raise Http404("You are not a member of any vendor.")
    slug = request.GET.get("vendor") or request.POST.get("vendor")
    if slug:
        for vendor in vendors:
            if vendor.slug == slug:
                return vendor, vendors
        raise Http404("No such vendor among yours.")
    return vendors[0], vendors


@never_cache
@login_required
def home(request):
    if request.user.is_staff and not member_vendors(request.user).exists():
        return redirect("review_queue")  # where staff land after logging in
    vendor, vendors = current_vendor(request)
    products = Product.objects.filter(vendor=vendor).prefetch_related(
        Prefetch("batches", queryset=Batch.objects.order_by("-on_sale", "-created"))
    )
    uploads_ = (
        Certificate.objects.filter(vendor=vendor)
        .select_related("lab")
        .prefetch_related("batches__product")
        .order_by("-created")[:100]
    )
    for certificate in uploads_:
        certificate.vendor_flags = vendor_flags(certificate)
    token = Token.objects.filter(user=request.user).first()
    return render(
        request,
        "registry/portal/home.html",
        {
            "vendor": vendor,
            "vendors": vendors,
            "products": products,
            "uploads": uploads_,
            "token": token,
        },
    )


@never_cache
@login_required
def upload(request):
    vendor, vendors = current_vendor(request)
    replaces = None
    replaces_id = request.GET.get("replaces") or request.POST.get("replaces")
    if replaces_id:
        if not str(replaces_id).isdigit():
            return HttpResponseBadRequest("replaces must be a certificate id")
        replaces = get_object_or_404(
            Certificate.objects.filter(vendor=vendor, state=Certificate.State.REJECTED),
            pk=replaces_id,
        )
    initial = {}
    if replaces:
        initial = {
            "batches": list(replaces.batches.all()),
            "lab": replaces.lab,
            "report_number": replaces.report_number,
            "tested_on": replaces.tested_on,
            "sampled_on": replaces.sampled_on,
            "issued_on": replaces.issued_on,
        }
    form = UploadForm(request.POST or None, request.FILES or None, vendor=vendor, initial=initial)
    status = 200
    if request.method == "POST":
        if upload_limit.too_large(request):
            form.add_error("file", upload_limit.limit_message())
        elif form.is_valid():
            data = form.cleaned_data
            handle = data["file"]
            try:
                certificate = review.submit(
                    vendor=vendor,
                    user=request.user,
                    data=handle.read(),
                    filename=handle.name,
                    batches=list(data["batches"]),
                    lab=data["lab"],
                    report_number=data["report_number"],
                    tested_on=data["tested_on"],
                    sampled_on=data["sampled_on"],
                    issued_on=data["issued_on"],
                    replaces=replaces,
                )
            except uploads.UploadError as error:
                form.add_error("file", str(error))
            except review.ReviewError as error:
                form.add_error(None, str(error))
            except OperationalError:
                # e.g. SQLite's write lock held past the busy timeout; the
                # stored file has already been removed by review.submit.
                messages.error(
                    request, "The registry is busy right now. Please upload again in a minute."
                )
                status = 503
            except OSError:
                messages.error(request, "The upload could not be stored. Please try again later.")
                status = 503
            else:
                messages.success(
                    request,
                    f"Uploaded report {certificate.report_number}. It is pending review.",
                )
                return redirect("certificate_detail", pk=certificate.pk)
        if status == 200:
            status = 400
    return render(
        request,
        "registry/portal/upload.html",
        {
            "form": form,
            "vendor": vendor,
            "vendors": vendors,
            "replaces": replaces,
            "labs": Lab.objects.order_by("name"),
        },
        status=status,
    )


@login_required
@require_POST
def token(request):
    """Create (or replace) the member's API token, or revoke it."""
    current_vendor(request)  # members only
    Token.objects.filter(user=request.user).delete()
    if request.POST.get("action") == "revoke":
        messages.success(request, "Your API token is revoked.")
    else:
        Token.objects.create(user=request.user)
        messages.success(request, "A new API token is ready. The old one, if any, no longer works.")
    return redirect("portal")
