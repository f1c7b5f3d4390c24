import os
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
    help = (
        "Bring every stored batch and product verdict up to date against every standard. "
        "Verdicts whose inputs are unchanged are kept, and recomputed ones are written only "
        "where they differ; --force recomputes and rewrites them all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Recompute and rewrite every verdict, even those whose inputs and "
            "results are unchanged.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="Processes judging products while this one writes (default: one per CPU; "
            "1 judges in this process).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        done = verdicts.refresh_all(
            progress=progress_bar(sys.stderr),
            force=options["force"],
            workers=max(1, options["workers"]),
        )
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"refreshed verdicts of {done.products} products in {elapsed:.1f} s,"
            f" judged by {done.processes} process{'es' if done.processes > 1 else ''}"
            f" ({done.rewritten} product{"'s" if done.rewritten == 1 else "s'"} verdicts"
            " were rewritten)"
        )
