from django.apps import apps
from django.core.management.base import BaseCommand
from django.db.models import Model

from apps.runs.secrets import fernet

BATCH = 500

# Every column encrypted with FIELD_ENCRYPTION_KEYS: (model, field). Monitors have their own
# command (rotate_monitor_keys), as their channels also hold signing keys.
ENCRYPTED_COLUMNS = (
    ("runs.Run", "secrets_encrypted"),
    ("library.SavedRequest", "secrets_encrypted"),
    ("vault.VaultSecret", "value_encrypted"),
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (runs, saved requests, the team vault) under the first "
        "key of FIELD_ENCRYPTION_KEYS. To rotate: put the new key first, keep the old ones after "
        "it, run this (and rotate_monitor_keys), then drop the old keys."
    )

    def handle(self, *args: object, **options: object) -> None:
        for label, field in ENCRYPTED_COLUMNS:
            model = apps.get_model(label)
            done = self._rotate(model, field)
            self.stdout.write(f"Re-encrypted {done} {model._meta.verbose_name_plural} ({field}).")

    def _rotate(self, model: type[Model], field: str) -> int:
        multi = fernet()
        rows = model._default_manager.exclude(**{field: b""}).only("pk", field)
        batch: list[Model] = []
        done = 0
        for row in rows.iterator(chunk_size=BATCH):
            setattr(row, field, multi.rotate(bytes(getattr(row, field))))
            batch.append(row)
            if len(batch) == BATCH:
                model._default_manager.bulk_update(batch, [field])
                done += len(batch)
                batch = []
        model._default_manager.bulk_update(batch, [field])
        return done + len(batch)
