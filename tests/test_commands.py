"""Maintenance commands: storage orphans and expiry reminders."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from registry.models import Certificate

from . import factories
from .factories import BatchFactory, certificate, full_panel_results


def test_check_storage_reports_both_kinds_of_orphan(db, capsys):
    good = certificate(BatchFactory())
    lost = certificate(BatchFactory())
    default_storage.delete(lost.file.name)
    stray = default_storage.save("certificates/2026/01/stray.pdf", io.BytesIO(b"x"))
    with pytest.raises(CommandError):
        call_command("check_storage")
    out = capsys.readouterr().out
    assert f"row without file: certificate {lost.pk}" in out
    assert f"file without row: {stray}" in out
    assert good.file.name not in out
    Certificate.objects.filter(pk=lost.pk).delete()
    call_command("check_storage", "--delete-unreferenced")
    assert not default_storage.exists(stray)


def test_notify_expiring_emails_members(db, capsys):
    member = factories.MembershipFactory(user__email="owner@example.org")
    soon = BatchFactory(product__vendor=member.vendor)
    tested = timezone.localdate() - dt.timedelta(days=350)  # stale in 15 days
    certificate(soon, results=full_panel_results(), tested_on=tested)
    later = BatchFactory(product__vendor=member.vendor)
    certificate(later, results=full_panel_results())
    call_command("notify_expiring")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.org"]
    assert soon.product.name in message.body
    assert later.product.name not in message.body
