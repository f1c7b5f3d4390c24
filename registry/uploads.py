"""Certificate files: what a file is (decided from its bytes, never from its
name or declared type), its SHA-256, and storing it under a random name.

Storing is paired with removal: a caller that fails after ``store`` calls
``discard`` so no file is left without a row.
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from .models import certificate_upload_to

# Leading bytes of the formats the registry accepts, with the extension the
# stored file gets.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


class UploadError(ValueError):
    """A file the registry refuses; the message is shown to the uploader."""


def sniff(data):
    """(content type, extension) from the bytes, or UploadError."""
    if not data:
        raise UploadError("The file is empty.")
    for signature, content_type, extension in SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    raise UploadError("Only PDF, PNG, JPEG and WebP files are accepted.")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def store(data, *, extension):
    """Save ``data`` under a fresh random name; returns the storage name."""
    return default_storage.save(
        certificate_upload_to(None, f"upload{extension}"), ContentFile(data)
    )


def discard(name):
    if name and default_storage.exists(name):
        default_storage.delete(name)
