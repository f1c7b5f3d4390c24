from django.dispatch import Signal

# Sent inside the transaction that changed batches which can alter a verdict
# (created, deleted, put on or taken off sale), with ``batch_ids`` and
# ``product_ids``. The registry listens and refreshes the stored verdicts in
# the same transaction; vendors itself must not know about verdicts.
batches_changed = Signal()
