"""Email vendors whose products' verdicts go stale within N days (default
30), so they can test again before the registry shows them out of date."""

import datetime as dt

from django.conf import settings
from django.core.mail import send_mass_mail
from django.core.management.base import BaseCommand
from django.utils import timezone

from registry.models import ProductVerdict


class Command(BaseCommand):
    help = "Email vendors whose verdicts go stale within --days (default 30)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, **options):
        today = timezone.localdate()
        horizon = today + dt.timedelta(days=options["days"])
        rows = (
            ProductVerdict.objects.filter(
                standard__is_default=True,
                status="current",
                current_until__gte=today,
                current_until__lte=horizon,
            )
            .select_related("product__vendor")
            .order_by("product__vendor_id", "current_until")
        )
        by_vendor = {}
        for row in rows:
            by_vendor.setdefault(row.product.vendor, []).append(row)
        messages = []
        for vendor, expiring in by_vendor.items():
            recipients = [u.email for u in vendor.members.all() if u.email]
            if not recipients:
                continue
            lines = [
                f"- {row.product.name}: current until {row.current_until:%Y-%m-%d} "
                f"({settings.SITE_URL}{row.product.get_absolute_url()})"
                for row in expiring
            ]
            body = (
                "These products' lab testing goes out of date soon. Upload a newer "
                "certificate before then to keep them shown as tested and current:\n\n"
                + "\n".join(lines)
            )
            messages.append(
                (f"{len(expiring)} product(s) need new testing", body, None, recipients)
            )
        sent = send_mass_mail(messages) if messages else 0
        self.stdout.write(f"emailed {len(messages)} vendor(s), {sent} message(s) sent")
