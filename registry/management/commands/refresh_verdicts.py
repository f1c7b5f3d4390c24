import sys
import time

from django.core.management.base import BaseCommand

from registry import verdicts


def progress_bar(stream):
    """A one-line progress bar on a terminal; a plain line per step elsewhere."""
    started = time.monotonic()

    def report(done, total):
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.monotonic() - started, 1e-9)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} products ({rate:,.0f}/s)"
        if stream.isatty():
            stream.write("\r" + line + ("\n" if done >= total else ""))
        else:
            stream.write(line + "\n")
        stream.flush()

    return report


class Command(BaseCommand):
    help = "Recompute every stored batch and product verdict against every standard."

    def handle(self, *args, **options):
        started = time.monotonic()
        count = verdicts.refresh_all(progress=progress_bar(sys.stderr))
        elapsed = time.monotonic() - started
        self.stdout.write(f"refreshed verdicts of {count} products in {elapsed:.1f} s")
