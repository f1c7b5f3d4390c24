"""Benchmark: public pages served by gunicorn against a trivial view.

    .venv/bin/python benchmarks/pages.py [--products 50000] [--duration 10]
    .venv/bin/python benchmarks/pages.py --existing --database-url sqlite:////path/db.sqlite3

Builds a data set with ``generate_dataset`` in a fresh SQLite database (or
--database-url), collects static files, starts gunicorn on loopback twice —
with the page cache and without it — and measures with wrk (Debian package
``wrk``) at 16 connections: the product page, the product list (filtered by
verdict, and all products), a search, and ``/livez`` (no database) as the
yardstick. Prints requests per second,
p95 latency and each page's ratio to the trivial view. Not a test: figures
depend on the machine.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def run(args, env, **kwargs):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, **kwargs)


def wrk(url, duration, connections):
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "-s",
            str(ROOT / "benchmarks" / "p95.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"RESULT rps=([\d.]+) p95_ms=([\d.]+) errors=(\d+) non2xx=(\d+)", out)
    return {
        "rps": float(found.group(1)),
        "p95": float(found.group(2)),
        "errors": int(found.group(3)) + int(found.group(4)),
    }


def serve(env, port, cache):
    env = {**env, "CACHE_URL": cache}
    process = subprocess.Popen(
        [GUNICORN, "registry.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)  # noqa: S310
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--existing",
        action="store_true",
        help="serve the data already in --database-url (migrated, not regenerated)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{work}/bench.sqlite3",
        "MEDIA_ROOT": str(work / "media"),
        "SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
    }
    if args.existing and not args.database_url:
        raise SystemExit("--existing needs --database-url")
    started = time.monotonic()
    run([PY, "manage.py", "migrate", "-v0"], env)
    run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    if not args.existing:
        run(
            [PY, "manage.py", "generate_dataset", "--products", str(args.products)],
            env,
            stdout=subprocess.DEVNULL,
        )
        print(f"data set of {args.products} products ready in {time.monotonic() - started:.0f} s")
    product = (
        subprocess.run(
            [
                PY,
                "manage.py",
                "shell",
                "-c",
                "from registry.models import ProductVerdict as V;"
                "v=V.objects.filter(standard__is_default=True, status='current')"
                ".select_related('product__vendor').order_by('pk').first();"
                "print(v.product.get_absolute_url())",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    pages = {
        "trivial view": "/livez",
        "product page": product,
        "product list": "/products/?verdict=current&page=3",
        "all products": "/products/?page=3",
        "search": "/products/?search=maeng",
    }
    results = {}
    for mode in ("uncached", "cached"):
        server = serve(env, args.port, "dummy" if mode == "uncached" else "locmem")
        try:
            for name, path in pages.items():
                url = f"http://127.0.0.1:{args.port}{path}"
                wrk(url, 2, args.connections)  # warm up workers and the cache
                results[(mode, name)] = wrk(url, args.duration, args.connections)
        finally:
            stop(server)
    print(f"\n{'':14}{'mode':10}{'req/s':>10}{'p95 ms':>10}{'ratio':>8}{'errors':>8}")
    for mode in ("uncached", "cached"):
        trivial = results[(mode, "trivial view")]["rps"]
        for name in pages:
            r = results[(mode, name)]
            print(
                f"{name:14}{mode:10}{r['rps']:>10.0f}{r['p95']:>10.1f}"
                f"{r['rps'] / trivial:>8.2f}{r['errors']:>8}"
            )
    print(
        f"\n{args.connections} connections, {args.duration} s each, gunicorn -w 2, "
        f"{os.cpu_count()} cores, database {env['DATABASE_URL'].split('@')[-1]}"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
