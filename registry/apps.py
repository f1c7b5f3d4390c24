from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Testing registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Keep verdicts in step with batch changes made by the vendors app, which
        # cannot import registry (see registry/verdicts.py).
        from . import caching, verdicts

        verdicts.connect_signals()
        caching.connect_signals()
