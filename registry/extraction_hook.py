"""Where uploads meet extraction: suggested results for the review form.

Extraction runs synchronously during the upload, bounded by the upload's page
limit (and OCR's own per-page timeout). Why not a background task: Django 6's
tasks framework ships only immediate and dummy backends, and a worker that
survives restarts would add a process and a database-backed queue to a
deployment that today is one command; a reviewer opens an upload minutes or
hours after it arrives, so the few seconds extraction takes are paid once, by
the uploader, and never lost on a restart. If extraction fails the upload
still succeeds: the reviewer types the results.
"""

import logging

logger = logging.getLogger(__name__)


def suggest(checked):
    try:
        from . import extraction
        from .catalogue import Catalogue, UnknownAnalyte
    except ImportError:  # extraction not installed in this build
        return None
    catalogue = Catalogue.load()

    def resolve(name):
        try:
            return catalogue.resolve(name).code
        except UnknownAnalyte:
            return None

    try:
        return extraction.extract(checked.data, content_type=checked.content_type, resolve=resolve)
    except Exception:  # extraction is a convenience: never lose an upload to it
        logger.exception("extraction failed for an upload of %s bytes", len(checked.data))
        return None
