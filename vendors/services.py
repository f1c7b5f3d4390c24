"""Writes on vendors' catalogues. Each runs in one transaction and announces
batch changes so stored verdicts are refreshed before it commits."""

from django.db import transaction

from .models import Batch
from .signals import batches_changed


def _announce(batches):
    batches_changed.send(
        sender=Batch,
        batch_ids=[b.pk for b in batches],
        product_ids=sorted({b.product_id for b in batches}),
    )


@transaction.atomic
def create_batch(product, *, lot_code, on_sale=True, produced_on=None):
    batch = Batch(product=product, lot_code=lot_code, on_sale=on_sale, produced_on=produced_on)
    batch.full_clean()
    batch.save()
    _announce([batch])
    return batch


@transaction.atomic
def set_on_sale(batch, on_sale):
    """Put a batch on or off sale; the product's verdict follows at once."""
    if batch.on_sale == on_sale:
        return batch
    batch.on_sale = on_sale
    batch.save(update_fields=["on_sale"])
    _announce([batch])
    return batch


@transaction.atomic
def delete_batches(batches):
    """Delete batches (and announce it, so product verdicts follow)."""
    batches = list(batches)
    product_ids = sorted({b.product_id for b in batches})
    Batch.objects.filter(pk__in=[b.pk for b in batches]).delete()
    batches_changed.send(sender=Batch, batch_ids=[], product_ids=product_ids)


@transaction.atomic
def product_changed(product):
    """A product's facts (serving size, form, label claim) or its batches were
    edited: everything judged from them is re-judged."""
    batches_changed.send(
        sender=Batch,
        batch_ids=list(product.batches.values_list("pk", flat=True)),
        product_ids=[product.pk],
    )
