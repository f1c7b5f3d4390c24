"""Whole-page caching for anonymous visitors, invalidated by any change.

A page's cache key holds the published version (``PublishedState``, bumped in
the transaction of every change that alters public pages) and today's date
(a verdict goes stale as days pass). Reading the version is one indexed
query; a hit then costs no other. Only anonymous GETs without cookies that
could carry messages are cached, and none of the cached pages use a CSP nonce.
"""

import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone

from .models import PublishedState

TIMEOUT = 3600


def bump():
    """Invalidate every cached public page (call inside the changing
    transaction)."""
    updated = PublishedState.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        PublishedState.objects.get_or_create(pk=1, defaults={"version": 1})


def version():
    # Raw SQL: this runs on every cached page view, and compiling the
    # equivalent ORM query costs more than the look-up itself.
    table = PublishedState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {table} WHERE id = 1")  # noqa: S608 - our table name
        row = cursor.fetchone()
    return row[0] if row else 0


def cacheable(request):
    # Pages know users only through the session cookie: without one the
    # visitor is anonymous, and ``request.user`` (a session look-up) is
    # never touched on a cache hit.
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def public_page(view):
    """Serve ``view`` from the cache for anonymous visitors."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not cacheable(request):
            return view(request, *args, **kwargs)
        raw = (
            f"{version()}|{timezone.localdate()}|{request.scheme}://{request.get_host()}"
            f"{request.get_full_path()}"
        )
        key = "page:" + hashlib.sha256(raw.encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            content, content_type, headers = hit
            response = HttpResponse(content, content_type=content_type)
            for name, value in headers.items():
                response[name] = value
            response["X-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            kept = {
                name: response[name]
                for name in (
                    "Cache-Control",
                    "Content-Security-Policy",
                    "Access-Control-Allow-Origin",
                )
                if name in response
            }
            cache.set(key, (response.content, response["Content-Type"], kept), TIMEOUT)
            response["X-Cache"] = "miss"
        return response

    return wrapped


def bump_on_change(sender, **kwargs):
    bump()


def connect_signals():
    """Edits made outside the verdict path (a lab renamed in the admin, a
    vendor's name, an analyte's) change public pages too."""
    from django.db.models.signals import post_delete, post_save

    from vendors.models import Batch, Product, Vendor

    from .models import Analyte, Certificate, Lab, Requirement, Standard

    for model in (Vendor, Product, Batch, Lab, Analyte, Certificate, Standard, Requirement):
        uid = f"registry.caching.{model.__name__}"
        post_save.connect(bump_on_change, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(bump_on_change, sender=model, dispatch_uid=uid + ".delete")
