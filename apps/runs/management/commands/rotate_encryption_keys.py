from django.core.management.base import BaseCommand

from apps.runs.models import Run
from apps.runs.secrets import fernet

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every run's stored secrets under the first key of FIELD_ENCRYPTION_KEYS. "
        "To rotate: put the new key first, keep the old ones after it, run this, then drop "
        "the old keys."
    )

    def handle(self, *args: object, **options: object) -> None:
        multi = fernet()
        runs = Run.objects.exclude(secrets_encrypted=b"").only("id", "secrets_encrypted")
        batch: list[Run] = []
        done = 0
        for run in runs.iterator(chunk_size=BATCH):
            run.secrets_encrypted = multi.rotate(bytes(run.secrets_encrypted))
            batch.append(run)
            if len(batch) == BATCH:
                Run.objects.bulk_update(batch, ["secrets_encrypted"])
                done += len(batch)
                batch = []
        Run.objects.bulk_update(batch, ["secrets_encrypted"])
        done += len(batch)
        self.stdout.write(f"Re-encrypted the secrets of {done} run(s) under the first key.")
