"""Benchmark: how many batches per second ``refresh_verdicts`` judges and
stores, on a generated data set (every batch × every shipped standard).

    .venv/bin/python benchmarks/refresh_verdicts.py [--products 8000] [--workers N]
        [--database-url URL]

Builds a fresh database (SQLite file in a temporary folder by default), fills
it with ``generate_dataset`` (without verdicts), then times
``verdicts.refresh_all`` four ways and prints each rate:

* first: no verdict stored yet, every one computed and written;
* recompute: every input digest moved, as after a deploy that changes the
  engine: every verdict recomputed, and written only where it differs (here
  none does);
* forced: ``refresh_verdicts --force``, every verdict recomputed and rewritten;
* routine: ``refresh_verdicts`` with one product in a hundred changed since
  (a batch taken off sale), the rest found unchanged by their input digest.

``--workers`` is the number of processes judging chunks (``refresh_verdicts
--workers``; this one writes). It also prints a yardstick, the time a fixed
pure-Python loop takes here, since the same machine runs it at different
speeds from one minute to the next (shared virtual CPUs): compare figures
taken beside similar yardsticks.

Not a test: figures vary with the machine.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def yardstick():
    """Seconds for a fixed pure-Python loop: how fast this machine is now."""
    started = time.perf_counter()
    total = 0
    for number in range(5_000_000):
        total += number
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=8000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-refresh-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{workdir}/media"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Case, Value, When

    from registry import verdicts
    from registry.models import BatchVerdict, ProductVerdict, Standard
    from vendors.models import Batch

    if args.database_url:
        call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("generate_dataset", products=args.products, no_verdicts=True, stdout=quiet)
    print(f"generated {args.products} products in {time.perf_counter() - started:.1f} s")
    batches = Batch.objects.count()
    standards = Standard.objects.count()

    def timed(label, **kwargs):
        started = time.perf_counter()
        changed = verdicts.refresh_all(workers=args.workers, **kwargs).rewritten
        elapsed = time.perf_counter() - started
        print(
            f"{label}: {batches} batches × {standards} standards in {elapsed:.2f} s"
            f" = {batches / elapsed:,.0f} batches/s ({changed} products rewritten)"
        )

    print(f"workers: {args.workers}; yardstick: {yardstick():.2f} s")
    timed("first    ")
    for _ in range(args.repeat):
        ProductVerdict.objects.update(inputs="")  # as if the engine had changed
        timed("recompute")
    for _ in range(args.repeat):
        timed("forced   ", force=True)
    for _ in range(args.repeat):
        # One product in a hundred changes: a batch goes off sale (written
        # directly, so that the refresh below is what picks it up).
        step = 100
        ids = list(Batch.objects.order_by("product_id", "pk").values_list("pk", flat=True))
        Batch.objects.filter(pk__in=ids[:: step * 3]).update(
            on_sale=Case(When(on_sale=True, then=Value(False)), default=Value(True))
        )
        timed("routine  ")
    print(f"stored batch verdicts: {BatchVerdict.objects.count()}")
    print(f"yardstick: {yardstick():.2f} s")
    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")


if __name__ == "__main__":
    main()
