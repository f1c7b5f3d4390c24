"""Whole-page caching for anonymous visitors, invalidated by any change.

A page's cache key holds the published version (``PublishedState``, bumped in
the transaction of every change that alters public pages) and today's date
(a verdict goes stale as days pass). Reading the version is one indexed
query; each process keeps what it read for ``PAGE_CACHE_VERSION_SECONDS``
(one second by default), so a hit usually costs no query at all. The process
that makes a change forgets its copy at once and again when the change
commits; another process (a second app server, a management command) may
serve its old pages for up to that long after the change commits. A version
read inside a transaction, which may be that transaction's own uncommitted
bump, is used but never kept. Only anonymous GETs without cookies that
could carry messages are cached, and none of the cached pages use a CSP nonce.
Views mark their pages with ``@public_page``; ``PageCacheMiddleware`` keeps
and serves them.
"""

import functools
import hashlib
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
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
    # Forget now, so this transaction's own reads see the new version, and
    # again on commit: a page read in between may have kept the old one.
    forget()
    transaction.on_commit(forget)


# The published version as this process last read it: (value, read until),
# and how many times it has been forgotten. A read stores its value only if
# nothing was forgotten while its query ran: otherwise a thread that read
# the old version just before a change committed could store it again just
# after, and keep serving the old pages for the rest of the window.
_remembered = (0, float("-inf"))
_forgotten = 0
_lock = threading.Lock()

# The memo's clock; tests turn it.
clock = time.monotonic


def forget():
    global _remembered, _forgotten
    with _lock:
        _forgotten += 1
        _remembered = (0, float("-inf"))


def version():
    global _remembered
    value, until = _remembered
    now = clock()
    if now < until:
        return value
    generation = _forgotten
    # Raw SQL: compiling the equivalent ORM query costs more than the
    # look-up itself.
    table = PublishedState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {table} WHERE id = 1")  # noqa: S608 - our table name
        row = cursor.fetchone()
    value = row[0] if row else 0
    # Inside a transaction the value may be one this transaction bumped and
    # may yet roll back: use it, but do not keep it.
    if not connection.in_atomic_block:
        with _lock:
            if _forgotten == generation:
                _remembered = (value, now + settings.PAGE_CACHE_VERSION_SECONDS)
    return value


def cacheable(request):
    # Pages know users only through the session cookie: without one (and
    # without credentials in the request) the visitor is anonymous, and
    # ``request.user`` (a session look-up) is never touched on a cache hit.
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def public_page(view):
    """Mark ``view``'s pages as public: ``PageCacheMiddleware`` keeps them for
    anonymous visitors. A page that sets a cookie is never kept."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.public_page = True
        return response

    wrapped.public_page = True
    return wrapped


# Where the ``@public_page`` views live (registry/urls.py): only these paths
# are looked up, so the API, the portal and the probes pay nothing. A test
# holds the list and the decorated views in step.
PUBLIC_PREFIXES = ("/products/", "/lots/", "/vendors/", "/labs/", "/badge/")


def looked_up(path):
    return path == "/" or path.startswith(PUBLIC_PREFIXES)


@functools.cache
def release():
    """What this deploy renders pages with: ``RELEASE`` from the environment,
    or a digest of the project's templates and code. Part of every page key,
    so a deploy that changes how pages look never serves the old ones."""
    if settings.RELEASE:
        return settings.RELEASE
    root = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    for folder in ("templates", "registry", "vendors"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in {".html", ".py", ".svg"} and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def page_key(request):
    raw = (
        f"{release()}|{version()}|{timezone.localdate()}"
        f"|{request.scheme}://{request.get_host()}{request.get_full_path()}"
    )
    return "page:" + hashlib.sha256(raw.encode()).hexdigest()


class PageCacheMiddleware:
    """Whole public pages from the cache, served before the session,
    authentication, CSRF, message and CSP middleware and the URL resolver
    run: a hit costs one cache read, and the published-version query when
    this process's copy of it is older than ``PAGE_CACHE_VERSION_SECONDS``.

    Placed right after the security and static-file middleware, it stores a
    page on the way out with every header the inner middleware added
    (content security policy, frame options, …), so a hit answers exactly as
    the miss did. Only anonymous GET and HEAD requests without credentials
    are looked up; only views marked ``@public_page`` answering 200 without
    cookies are stored."""

    SKIPPED_HEADERS = {"x-cache", "set-cookie"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (looked_up(request.path_info) and cacheable(request)):
            return self.get_response(request)
        key = page_key(request)
        hit = cache.get(key)
        if hit is not None:
            content, headers = hit
            response = HttpResponse(content, headers=headers)
            response["X-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if (
            getattr(response, "public_page", False)
            and response.status_code == 200
            and not response.streaming
            and not response.cookies
        ):
            headers = {
                name: value
                for name, value in response.items()
                if name.lower() not in self.SKIPPED_HEADERS
            }
            cache.set(key, (response.content, headers), TIMEOUT)
            response["X-Cache"] = "miss"
        return response


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
