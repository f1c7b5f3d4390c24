from django.db import migrations, models


def create_row(apps, schema_editor):
    apps.get_model("registry", "PublishedState").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_usp_extract_aerobic_count"),
    ]

    operations = [
        migrations.CreateModel(
            name="PublishedState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveBigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("pk", 1)), name="published_state_single_row"
                    )
                ],
            },
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
