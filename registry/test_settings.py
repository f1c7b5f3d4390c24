"""Settings for the test suite: the real settings, with a throwaway key and no
HTTPS redirect (the test client speaks plain HTTP)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x" * 40)

from .settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# SQLite tests use a file database, not the shared in-memory one, so tests
# that open a second connection (two reviewers at once) see real locking.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"registry-test-{os.getpid()}.sqlite3")
    }
