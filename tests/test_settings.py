"""Settings come from the environment; production refuses the dev key."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env):
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environment.update(env)
    environment["DJANGO_SETTINGS_MODULE"] = "registry.settings"
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_empty_secret_key_is_refused_too():
    assert run_check(DEBUG="0", SECRET_KEY="").returncode != 0


def test_debug_runs_with_the_development_key():
    assert run_check(DEBUG="1").returncode == 0


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    import pytest
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite options only apply to the SQLite run")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert connection.settings_dict["OPTIONS"]["timeout"] == 20
    with connection.cursor() as cursor:
        pragmas = {}
        for name in ("journal_mode", "synchronous", "mmap_size", "cache_size"):
            cursor.execute(f"PRAGMA {name}")
            pragmas[name] = cursor.fetchone()[0]
    # synchronous 1 is NORMAL; a negative cache size is in KiB.
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "mmap_size": 256 * 2**20,
        "cache_size": -64 * 2**10,
    }


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
