"""PostgreSQL keeps each product's full-text document in a column.

Migration 0003 indexed the expression ``to_tsvector('english', search_text)``
so a search could match from the index; ranking the matches still parsed
every match's text again (on 50,000 products, a one-word search spent 70 ms
doing so). Now a trigger keeps the document in ``search_document`` whenever
``search_text`` is written, the GIN index of the same name as before covers
that column, and the search ranks from it. On SQLite the column stays empty:
the search there matches words in ``search_text``.
"""

import django.contrib.postgres.search
from django.db import migrations

INDEX = "product_search_text_fts"
FUNCTION = "vendors_product_search_document"
TRIGGER = "product_search_document"


def keep_documents(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (
        f"""CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_document := to_tsvector('english', COALESCE(NEW.search_text, ''));
            RETURN NEW;
        END $$""",
        # Any write of the text, or of the document itself (Django's save
        # writes every column), recomputes the document.
        f"""CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE OF search_text, search_document
        ON vendors_product FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()""",
        "UPDATE vendors_product SET search_text = search_text",
        f"DROP INDEX IF EXISTS {INDEX}",
        f"CREATE INDEX {INDEX} ON vendors_product USING gin (search_document)",
    ):
        schema_editor.execute(statement)


def index_the_expression_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON vendors_product",
        f"DROP FUNCTION IF EXISTS {FUNCTION}()",
        f"DROP INDEX IF EXISTS {INDEX}",
        f"""CREATE INDEX {INDEX} ON vendors_product
        USING gin (to_tsvector('english'::regconfig, COALESCE(search_text, '')))""",
    ):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("vendors", "0005_catalogue_order_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(keep_documents, index_the_expression_again),
    ]
