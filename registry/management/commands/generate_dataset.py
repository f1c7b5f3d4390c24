"""Synthetic data at scale for benchmarks: vendors, products, batches,
approved certificates with results, and their verdicts, by bulk inserts.

Synthetic certificates share a handful of stored PDF files (one per lab) so a
50,000-product set does not write 100,000 files; each row still points at a
real file. Their SHA-256 values are derived from their ids so they never look
like duplicates of each other.
"""

import datetime as dt
import hashlib
import os
import random
import sys
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from registry import coa_pdf, uploads, verdicts
from registry.management.commands.refresh_verdicts import progress_bar
from registry.models import Analyte, Certificate, CertificateBatch, Lab, Result
from vendors.models import Batch, Product, Vendor, normalize_lot

FORMS = ["powder", "capsule", "tablet", "extract", "liquid", "gummy"]
STRAINS = ["Green Maeng Da", "Red Bali", "White Borneo", "Yellow Vietnam", "Red Thai", "Gold"]


class Command(BaseCommand):
    help = "Generate a synthetic data set of N products for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, required=True)
        parser.add_argument("--batches-per-product", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-verdicts", action="store_true")

    def handle(self, *args, **options):
        rng = random.Random(options["seed"])
        n = options["products"]
        per = options["batches_per_product"]
        today = timezone.localdate()
        analytes = {a.code: a for a in Analyte.objects.all()}
        labs = self._labs(today)
        files = {lab.pk: self._file(lab, today) for lab in labs}
        run = f"{timezone.now():%H%M%S}{rng.randrange(10**6):06d}"
        progress = progress_bar(sys.stderr)
        vendor_count = max(1, n // 40)
        vendors = Vendor.objects.bulk_create(
            [
                Vendor(name=f"Synthetic Vendor {run}-{i}", slug=f"syn-{run}-{i}")
                for i in range(vendor_count)
            ]
        )
        done = 0
        chunk = 1000
        for start in range(0, n, chunk):
            with transaction.atomic():
                self._chunk(
                    rng,
                    run,
                    start,
                    min(chunk, n - start),
                    per,
                    vendors,
                    labs,
                    files,
                    analytes,
                    today,
                )
            done = min(n, start + chunk)
            progress(done, n)
        if not options["no_verdicts"]:
            self.stdout.write("computing verdicts…")
            verdicts.refresh_all(progress=progress, workers=os.cpu_count() or 1)
        # Bulk inserts leave the planner's statistics behind (PostgreSQL's
        # autovacuum would catch up later, SQLite never does); without them
        # SQLite sorts every product for a page of the catalogue instead of
        # walking the vendor-name and product indexes.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(f"generated {n} products, about {n * per} batches")

    def _labs(self, today):
        labs = []
        for i, (name, body) in enumerate(
            [("Synthetic Lab A", "A2LA"), ("Synthetic Lab B", "PJLA"), ("Synthetic Lab C", "ANAB")]
        ):
            lab, _ = Lab.objects.get_or_create(
                name=name,
                defaults={
                    "slug": f"synthetic-lab-{i}",
                    "accreditation_body": body,
                    "accreditation_id": f"SYN-{i}",
                    "accredited_from": today - dt.timedelta(days=3000),
                    "accredited_until": today + dt.timedelta(days=900),
                },
            )
            labs.append(lab)
        return labs

    def _file(self, lab, today):
        doc = {
            "format": "coa/1",
            "lab": {
                "name": lab.name,
                "accreditation_body": lab.accreditation_body,
                "accreditation_id": lab.accreditation_id,
            },
            "report_number": f"SYNTHETIC-{lab.pk}",
            "vendor": "synthetic",
            "product": "synthetic",
            "lots": ["SYNTHETIC"],
            "tested_on": today.isoformat(),
            "results": [{"analyte": "mitragynine", "value": "1.5", "unit": "%"}],
        }
        return uploads.store(coa_pdf.render_coa_pdf(doc), extension=".pdf")

    def _chunk(self, rng, run, start, count, per, vendors, labs, files, analytes, today):
        products = [
            Product(
                vendor=vendors[(start + i) % len(vendors)],
                name=f"{rng.choice(STRAINS)} {FORMS[(start + i) % 6].title()} {start + i}",
                slug=f"p-{run}-{start + i}",
                form=FORMS[(start + i) % 6],
                serving_size_g=Decimal(rng.choice(["2", "2.5", "3", "4"])),
                max_servings_per_day=rng.choice([2, 3, 4]),
                label_mitragynine_mg=Decimal(rng.choice(["30", "40", "45"])),
            )
            for i in range(count)
        ]
        for product in products:  # bulk_create skips save(), which fills it
            product.search_text = product.searchable_text()
        products = Product.objects.bulk_create(products)
        batches = []
        for product in products:
            for b in range(per):
                lot = f"L{run[-6:]}-{product.pk}-{b}"
                batches.append(
                    Batch(
                        product=product,
                        lot_code=lot,
                        lot_key=normalize_lot(lot),
                        on_sale=b == 0 or rng.random() < 0.3,
                    )
                )
        batches = Batch.objects.bulk_create(batches)
        certificates, links = [], []
        for batch in batches:
            if rng.random() < 0.1:
                continue  # untested
            lab = rng.choice(labs)
            tested = today - dt.timedelta(days=rng.randrange(5, 500))
            certificates.append(
                Certificate(
                    vendor_id=batch.product.vendor_id,
                    lab=lab,
                    report_number=f"SYN-{run}-{batch.pk}",
                    tested_on=tested,
                    issued_on=tested + dt.timedelta(days=2),
                    sampled_on=tested - dt.timedelta(days=3),
                    file=files[lab.pk],
                    sha256=hashlib.sha256(f"{run}-{batch.pk}".encode()).hexdigest(),
                    content_type="application/pdf",
                    state=Certificate.State.APPROVED,
                    decided_at=timezone.now(),
                )
            )
            links.append(batch)
        certificates = Certificate.objects.bulk_create(certificates)
        CertificateBatch.objects.bulk_create(
            [
                CertificateBatch(certificate=c, batch=b)
                for c, b in zip(certificates, links, strict=True)
            ]
        )
        results = []
        for certificate in certificates:
            results.extend(self._results(rng, certificate, analytes))
        Result.objects.bulk_create(results, batch_size=2000)

    def _results(self, rng, certificate, analytes):
        def number(code, value, unit, canonical=None):
            return Result(
                certificate=certificate,
                analyte=analytes[code],
                value=value,
                unit=unit,
                raw=f"{value} {unit}",
                value_canonical=canonical if canonical is not None else value,
            )

        mit = Decimal(rng.randrange(60, 200)) / 100
        oh = Decimal(rng.randrange(5, 40)) / 1000
        if rng.random() < 0.03:
            oh = mit / 2  # a spiked product
        rows = [number("mitragynine", mit, "%"), number("7-hydroxymitragynine", oh, "%")]
        if rng.random() < 0.9:
            lead = Decimal(rng.randrange(5, 130)) / 100
            rows += [
                number("lead", lead, "ppm"),
                number("arsenic", Decimal(rng.randrange(5, 60)) / 100, "ppm"),
                number("cadmium", Decimal(rng.randrange(1, 20)) / 100, "ppm"),
                Result(
                    certificate=certificate,
                    analyte=analytes["mercury"],
                    qualifier="ND",
                    unit="ppm",
                    loq=Decimal("0.005"),
                    loq_canonical=Decimal("0.005"),
                    raw="ND",
                ),
            ]
        if rng.random() < 0.85:
            rows += [
                Result(
                    certificate=certificate,
                    analyte=analytes["salmonella"],
                    qualifier="absent",
                    basis="25 g",
                    raw="Absent in 25 g",
                ),
                Result(
                    certificate=certificate,
                    analyte=analytes["e-coli"],
                    qualifier="absent",
                    basis="10 g",
                    raw="Absent in 10 g",
                ),
                number("total-yeast-mold", Decimal(rng.randrange(10, 5000)), "CFU/g"),
            ]
        return rows
