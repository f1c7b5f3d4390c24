"""Finds orphans in both directions: rows whose stored file is missing, and
stored files no row points to. Reports; deletes nothing unless asked."""

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from registry.models import Certificate


def walk(folder):
    directories, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from walk(f"{folder}/{directory}")


class Command(BaseCommand):
    help = "Report certificate rows without files and stored files without rows."

    def add_arguments(self, parser):
        parser.add_argument(
            "--delete-unreferenced", action="store_true", help="Delete files no row points to."
        )

    def handle(self, *args, **options):
        referenced = set()
        missing = []
        for pk, file, preview in Certificate.objects.values_list("pk", "file", "preview"):
            for name in (file, preview):
                if not name:
                    continue
                referenced.add(name)
                if not default_storage.exists(name):
                    missing.append((pk, name))
        stored = []
        for folder in ("certificates", "previews"):
            if default_storage.exists(folder):
                stored.extend(walk(folder))
        unreferenced = sorted(set(stored) - referenced)
        for pk, name in missing:
            self.stdout.write(f"row without file: certificate {pk} -> {name}")
        for name in unreferenced:
            self.stdout.write(f"file without row: {name}")
            if options["delete_unreferenced"]:
                default_storage.delete(name)
        self.stdout.write(
            f"{len(referenced)} files referenced, {len(missing)} missing, "
            f"{len(unreferenced)} unreferenced"
        )
        if missing:
            raise CommandError("certificate rows point at missing files", returncode=1)
