"""Lot keys now ignore punctuation as well as case and spaces; recompute
the stored keys."""

import re

from django.db import migrations


def rekey(apps, schema_editor):
    Batch = apps.get_model("vendors", "Batch")
    for batch in Batch.objects.only("pk", "lot_code").iterator():
        key = re.sub(r"[\W_]+", "", batch.lot_code).upper()
        Batch.objects.filter(pk=batch.pk).update(lot_key=key)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0001_initial")]
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
