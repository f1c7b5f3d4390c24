"""USP ⟨2023⟩ Table 2 sets a tighter total aerobic count for powdered extracts
(≤ 10⁴ cfu/g) than for dried botanicals (≤ 10⁵). 0002 could ship only the
latter; with requirements now unique per product form, add the extract row."""

from decimal import Decimal

from django.db import migrations

ROW = {
    "basis": "concentration",
    "limit": Decimal("10000"),
    "comparison": "le",
    "unit": "CFU/g",
    "required": True,
    "forms": ["extract"],
    "source": "USP ⟨2023⟩ Table 2 (powdered extracts)",
}


def forward(apps, schema_editor):
    Standard = apps.get_model("registry", "Standard")
    Analyte = apps.get_model("registry", "Analyte")
    Requirement = apps.get_model("registry", "Requirement")
    standard = Standard.objects.filter(code="usp-botanical").first()
    if standard is None:
        return
    Requirement.objects.create(
        standard=standard, analyte=Analyte.objects.get(code="total-aerobic-count"), **ROW
    )


def reverse(apps, schema_editor):
    Requirement = apps.get_model("registry", "Requirement")
    Requirement.objects.filter(
        standard__code="usp-botanical",
        analyte__code="total-aerobic-count",
        forms=["extract"],
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_review_workflow")]
    operations = [migrations.RunPython(forward, reverse)]
