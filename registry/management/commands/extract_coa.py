import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.catalogue import Catalogue, UnknownAnalyte
from registry.extraction import extract
from registry.uploads import UploadError, sniff


class Command(BaseCommand):
    help = (
        "Print the coa/1 document read from a certificate (PDF text layer, or OCR for images "
        "and scanned PDFs), with a confidence and the source snippet for every result."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: cannot be read: {error}") from None
        try:
            content_type, _extension = sniff(data)
        except UploadError as error:
            raise CommandError(f"{path}: {error}") from None
        catalogue = Catalogue.load()

        def resolve(name):
            try:
                return catalogue.resolve(name).code
            except UnknownAnalyte:
                return None

        doc = extract(data, content_type=content_type, resolve=resolve)
        for warning in doc["warnings"]:
            self.stderr.write(f"{path.name}: {warning}")
        self.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False))
