"""Products get one column of search text (their name and their vendor's),
filled in for the existing rows; on PostgreSQL it carries a GIN index on the
same ``to_tsvector`` expression the search filter uses
(``registry.filters.search_vector``), so a search no longer reads every
product. SQLite searches by substring and gets no index."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat

INDEX = "product_search_text_fts"


def fill(apps, schema_editor):
    Product = apps.get_model("vendors", "Product")
    Vendor = apps.get_model("vendors", "Vendor")
    vendor_name = Subquery(Vendor.objects.filter(pk=OuterRef("vendor_id")).values("name")[:1])
    Product.objects.update(search_text=Concat("name", Value(" "), vendor_name))


def gin_index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("search_text", config="english"), name=INDEX)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("vendors", "Product"), gin_index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("vendors", "Product"), gin_index())


class Migration(migrations.Migration):
    dependencies = [
        ("vendors", "0002_lot_key_letters_and_digits"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(add_index, remove_index),
    ]
