"""The refusal matrix end to end: each bad file posted through the portal
gets a 4xx with its message, leaves no row and no stored file, and the
server still answers. Plus the two faults: a full disk and a locked
database."""

import io
import sqlite3
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from registry.models import Certificate

from . import factories
from .factories import BatchFactory, LabFactory
from .test_uploads import (
    ACTIVE,
    ENCRYPTED,
    UNSUPPORTED,
    build_pdf,
    fpdf_bytes,
    fpdf_document,
    image_bytes,
    page_objects,
    png_claiming,
    stream,
)


def encrypted():
    pdf = fpdf_document()
    pdf.set_encryption(owner_password="owner", user_password="")
    return bytes(pdf.output())


def javascript(escaped=False):
    objects = page_objects(catalog=b"/Open#41ction 6 0 R" if escaped else b"/OpenAction 6 0 R")
    objects.append(
        b"<< /S /J#61vaScript /J#53 (x) >>" if escaped else b"<< /S /JavaScript /JS (x) >>"
    )
    return build_pdf(objects)


def embedded():
    pdf = fpdf_document()
    pdf.embed_file(basename="results.txt", bytes=b"all clear")
    return bytes(pdf.output())


def xfa():
    objects = page_objects(catalog=b"/AcroForm << /Fields [] /XFA 6 0 R >>")
    objects.append(stream(b"<xdp:xdp/>"))
    return build_pdf(objects)


def truncated(fmt):
    data = image_bytes(fmt, size=(200, 200), noise=True)
    return data[: len(data) * 6 // 10]


CASES = [
    # Django's form field refuses an empty file before the registry's checks.
    ("empty file", lambda: b"", "coa.pdf", "The submitted file is empty."),
    ("HTML named .pdf", lambda: b"<html><script>alert(1)</script></html>", "coa.pdf", UNSUPPORTED),
    ("PNG bytes named .pdf", lambda: image_bytes("PNG"), "coa.pdf", "The file's name says PDF"),
    (
        "PNG header then HTML",
        lambda: b"\x89PNG\r\n\x1a\n<html></html>",
        "coa.png",
        "not a valid one",
    ),
    ("SVG", lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", "coa.png", UNSUPPORTED),
    ("double extension", fpdf_bytes, "coa.pdf.html", 'The file name ends in ".html"'),
    # Django's multipart parser drops unprintable characters (NUL, bidi
    # controls) before the registry sees the name; what is left is judged.
    (
        "NUL in name",
        fpdf_bytes,
        "coa.pdf\x00.png",
        "The file's name says PNG but its content is PDF",
    ),
    ("right-to-left override", fpdf_bytes, "coa\u202efdp.exe", 'The file name ends in ".exe"'),
    ("pixel flood", lambda: png_claiming(100_000, 100_000), "coa.png", "pixels; the limit is"),
    ("truncated JPEG", lambda: truncated("JPEG"), "coa.jpg", "truncated or damaged"),
    ("truncated PNG", lambda: truncated("PNG"), "coa.png", "truncated or damaged"),
    ("BMP named .png", lambda: image_bytes("BMP"), "coa.png", UNSUPPORTED),
    ("encrypted PDF", encrypted, "coa.pdf", ENCRYPTED),
    ("JavaScript and OpenAction", javascript, "coa.pdf", ACTIVE),
    ("hex-escaped names", lambda: javascript(escaped=True), "coa.pdf", ACTIVE),
    ("embedded file", embedded, "coa.pdf", ACTIVE),
    ("XFA form", xfa, "coa.pdf", ACTIVE),
    ("%PDF- then garbage", lambda: b"%PDF-1.7\n" + b"junk\n" * 200, "coa.pdf", "not a valid one"),
]


@pytest.fixture
def member(db):
    membership = factories.MembershipFactory(user__username="vendor")
    return {
        "user": membership.user,
        "vendor": membership.vendor,
        "batch": BatchFactory(product__vendor=membership.vendor),
        "lab": LabFactory(),
    }


def post(client, member, data, name):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        reverse("portal_upload"),
        {
            "vendor": member["vendor"].slug,
            "file": handle,
            "batches": [member["batch"].pk],
            "lab": member["lab"].pk,
            "report_number": "EA-1",
            "tested_on": "2026-09-04",
        },
    )


def stored(media_root):
    root = Path(media_root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(("case", "make", "name", "message"), CASES, ids=[c[0] for c in CASES])
def test_refusal_through_the_portal(client, member, media_root, case, make, name, message):
    client.force_login(member["user"])
    response = post(client, member, make(), name)
    assert response.status_code == 400, case
    assert message in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert Certificate.objects.count() == 0
    assert stored(media_root) == []
    assert client.get("/healthz").content == b"ok"


def test_path_traversal_in_a_name_goes_nowhere(client, member, media_root):
    """Django's multipart parser keeps only the last path component, so the
    registry never receives "../../etc/passwd.pdf" over HTTP (``check_name``
    refuses it where a raw name arrives, see test_uploads); what is stored
    has a random name inside MEDIA_ROOT and shows "passwd.pdf"."""
    client.force_login(member["user"])
    assert post(client, member, fpdf_bytes(), "../../etc/passwd.pdf").status_code == 302
    certificate = Certificate.objects.get()
    assert certificate.original_filename == "passwd.pdf"
    assert "passwd" not in certificate.file.name
    files = stored(media_root)
    assert files and all(Path(media_root) in p.parents for p in files)


def test_locked_database_is_a_clear_error_and_leaves_no_file(
    client, member, media_root, transactional_db, reference_data
):
    """Another process holds SQLite's write lock past the busy timeout: the
    upload is refused with a 503 that says to try again, and the file that
    had already been written is removed."""
    if connection.vendor != "sqlite":
        pytest.skip("the lock is SQLite's; PostgreSQL locks rows, not the database")
    client.force_login(member["user"])
    client.get(reverse("portal"))  # open Django's connection
    connection.ensure_connection()
    connection.connection.execute("PRAGMA busy_timeout = 200")
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=1)
    try:
        other.execute("BEGIN IMMEDIATE")
        response = post(client, member, fpdf_bytes(), "coa.pdf")
    finally:
        other.rollback()
        other.close()
    assert response.status_code == 503
    assert "busy" in response.content.decode()
    assert Certificate.objects.count() == 0
    assert stored(media_root) == []
