from django.core.management.base import BaseCommand
from django.db import models

from apps.monitors.models import AlertChannel, Delivery, Monitor
from apps.runs.secrets import fernet

BATCH = 500
ENCRYPTED: list[tuple[type[models.Model], tuple[str, ...]]] = [
    (Monitor, ("secrets_encrypted",)),
    (AlertChannel, ("target_encrypted", "signing_key_encrypted")),
    (Delivery, ("share_url_encrypted",)),
]


class Command(BaseCommand):
    help = (
        "Re-encrypt monitors' secrets, alert channels' URLs and signing keys and alerts' share "
        "links under the first key of FIELD_ENCRYPTION_KEYS (with rotate_encryption_keys, "
        "before the old keys are dropped)."
    )

    def handle(self, *args: object, **options: object) -> None:
        multi = fernet()
        for model, names in ENCRYPTED:
            done = 0
            batch: list[models.Model] = []
            for row in model._default_manager.only("pk", *names).iterator(chunk_size=BATCH):
                for name in names:
                    value = bytes(getattr(row, name))
                    if value:
                        setattr(row, name, multi.rotate(value))
                batch.append(row)
                if len(batch) == BATCH:
                    model._default_manager.bulk_update(batch, list(names))
                    done += len(batch)
                    batch = []
            model._default_manager.bulk_update(batch, list(names))
            done += len(batch)
            self.stdout.write(f"{model._meta.verbose_name_plural}: {done} re-encrypted.")
