from django.db import migrations, models

FIELDS = ("total", "dns", "connect", "tls", "send", "wait", "receive")


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0010_run_day_rollup"),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name=f"final_{name}_ms",
            field=models.FloatField(blank=True, null=True),
        )
        for name in FIELDS
    ]
