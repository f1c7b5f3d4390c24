"""Lot keys now fold compatibility forms (NFKC: fullwidth "ＥＸＡ" is "EXA")
and drop control and format characters; recompute the stored keys that
change."""

import re
import unicodedata

from django.db import migrations


def key(code):  # vendors.models.normalize_lot as of this migration
    text = " ".join(unicodedata.normalize("NFKC", code).split())
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return re.sub(r"[\W_]+", "", text).upper()


def rekey(apps, schema_editor):
    Batch = apps.get_model("vendors", "Batch")
    for batch in Batch.objects.only("pk", "product_id", "lot_code", "lot_key").iterator():
        new = key(batch.lot_code)
        if new == batch.lot_key or not new:
            continue
        if len(new) > 64:  # the column's length; folding lengthened it
            print(f"\n  batch {batch.pk} keeps its lot key: {new!r} is too long")
            continue
        # Two batches of one product whose codes now read the same (say
        # "ＡＢ１" beside "AB1") would break the one-lot-per-product rule:
        # that batch keeps its old key (for staff to merge the two) rather
        # than fail the deploy.
        twin = Batch.objects.filter(product_id=batch.product_id, lot_key=new)
        if twin.exists():
            print(
                f"\n  batch {batch.pk} keeps its lot key: another batch of its product reads {new}"
            )
        else:
            Batch.objects.filter(pk=batch.pk).update(lot_key=new)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0006_product_search_document")]
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
