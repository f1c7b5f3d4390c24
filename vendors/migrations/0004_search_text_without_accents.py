"""Search text also holds the names without their accents ("Pražská" is
found by "prazska"): rebuilt for the existing products, as
``vendors.models.search_text_of`` writes it."""

from django.db import migrations

from vendors.models import search_text_of


def rebuild(apps, schema_editor):
    Product = apps.get_model("vendors", "Product")
    batch = []
    for product in Product.objects.select_related("vendor").only("pk", "name", "vendor__name"):
        product.search_text = search_text_of(product.name, product.vendor.name)
        batch.append(product)
        if len(batch) == 1000:
            Product.objects.bulk_update(batch, ["search_text"])
            batch = []
    Product.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("vendors", "0003_product_search_text"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
