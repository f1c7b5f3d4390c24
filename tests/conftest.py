import datetime as dt

import pytest
from rest_framework.test import APIClient

from registry.catalogue import Catalogue

from . import factories


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test stores files in its own folder, never the project's media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached pages are keyed by the published version, which restarts with
    each test's database; start every test with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


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
