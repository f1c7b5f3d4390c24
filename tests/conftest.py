import datetime as dt

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from registry.catalogue import Catalogue

from . import factories

# Property tests check what holds, not how fast: Hypothesis's per-example
# deadline is a timed test, which fails at random on a busy machine (speed
# is measured by the benchmarks, never by a test).
hypothesis_settings.register_profile("registry", deadline=None)
hypothesis_settings.load_profile("registry")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test stores files in its own folder, never the project's media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    """Cached pages are keyed by the published version, which restarts with
    each test's database; start every test with an empty cache and nothing
    remembered of the version. The memo's clock stands still, so whether a
    page reads the version never depends on how fast the test runs: a kept
    version lasts until a change forgets it (the browser tests' live server
    included; their changes go through ``bump``). Under the ``db`` fixture
    every request runs inside the test's transaction, where the version is
    never kept; the memo's own tests use transactional databases."""
    from django.core.cache import cache

    from registry import caching

    monkeypatch.setattr(caching, "clock", lambda: 0.0)
    cache.clear()
    caching.forget()
    yield
    cache.clear()
    caching.forget()


@pytest.fixture
def today():
    return dt.date.today()


@pytest.fixture
def catalogue(db):
    return Catalogue.load()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def lab(db):
    return factories.LabFactory()


@pytest.fixture
def product(db):
    return factories.ProductFactory()


def restore_reference_data():
    """Transactional tests flush every table when they end, reference data
    from the data migrations included; put it back the way the migrations
    create it (their own forward functions, on today's models)."""
    import importlib

    from django.apps import apps
    from django.db import connection

    from registry.models import Analyte, PublishedState

    if not Analyte.objects.exists():
        with connection.schema_editor() as editor:
            for name in ("0002_reference_data", "0004_usp_extract_aerobic_count"):
                importlib.import_module(f"registry.migrations.{name}").forward(apps, editor)
    PublishedState.objects.get_or_create(pk=1)


@pytest.fixture
def reference_data(transactional_db):
    restore_reference_data()
