from django.apps import AppConfig


class VendorsConfig(AppConfig):
    name = "vendors"
    verbose_name = "Vendors and products"
    default_auto_field = "django.db.models.BigAutoField"
