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
