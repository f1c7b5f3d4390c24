import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry import coa_pdf
from registry.catalogue import Catalogue
from registry.importing import DocumentError, import_document, read_document
from registry.uploads import UploadError

ORIGINAL_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".webp")


def original_for(path, doc, clean):
    """The lab's own document for a coa/1 file: the one its ``file`` names, or
    one beside it with the same stem. Without one, the registry renders a
    transcript of the record so no certificate exists without a file."""
    if clean.file:
        named = (path.parent / clean.file).resolve()
        if path.parent.resolve() not in named.parents:
            raise DocumentError("file", "must name a file in the document's own folder")
        if not named.is_file():
            raise DocumentError("file", f"'{clean.file}' not found beside {path.name}")
        return named.read_bytes(), named.name
    for suffix in ORIGINAL_SUFFIXES:
        sibling = path.with_suffix(suffix)
        if sibling.is_file():
            return sibling.read_bytes(), sibling.name
    return render_transcript(doc), f"{path.stem}-transcript.pdf"


TRANSCRIPT_NOTE = (
    "Transcript made by the Kratom Test Registry from a coa/1 record - "
    "not the laboratory's original document"
)


def render_transcript(doc):
    return coa_pdf.render_coa_pdf(doc, layout="us_table", lab_address=TRANSCRIPT_NOTE)


class Command(BaseCommand):
    help = "Import coa/1 certificate documents; refused documents import nothing."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--approve",
            action="store_true",
            help="Record the certificates as approved (staff migration of reviewed records).",
        )

    def handle(self, *files, **options):
        catalogue = Catalogue.load()
        rejected = 0
        for path in options["files"]:
            try:
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError) as error:
                    raise DocumentError("file", f"cannot be read: {error}") from None
                except json.JSONDecodeError as error:
                    raise DocumentError("document", f"is not valid JSON: {error}") from None
                clean = read_document(doc, catalogue=catalogue)
                data, filename = original_for(path, doc, clean)
                certificate = import_document(
                    clean, data=data, approve=options["approve"], original_filename=filename
                )
            except (DocumentError, UploadError) as error:
                rejected += 1
                self.stderr.write(f"rejected {path}: {error}")
                continue
            self.stdout.write(
                f"imported {path}: certificate {certificate.pk} ({certificate.state})"
            )
        if rejected:
            raise CommandError(f"{rejected} document(s) rejected", returncode=1)
