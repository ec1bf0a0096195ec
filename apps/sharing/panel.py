"""The share panel of a run page: its form, the run's links, and a link just created."""

from dataclasses import dataclass

from django.utils import timezone

from apps.runs.models import Run
from apps.sharing import selectors
from apps.sharing.forms import ShareLinkForm
from apps.sharing.models import ShareLink


@dataclass(frozen=True)
class LinkRow:
    link: ShareLink
    state: str  # "active", "expired", "revoked"


@dataclass(frozen=True)
class SharePanel:
    run: Run
    form: ShareLinkForm
    rows: list[LinkRow]
    created: ShareLink | None = None
    created_url: str = ""  # shown once: the token is not stored


def share_panel(
    *,
    run: Run,
    form: ShareLinkForm | None = None,
    created: ShareLink | None = None,
    created_url: str = "",
) -> SharePanel:
    now = timezone.now()
    rows = [LinkRow(link=link, state=link.state(now)) for link in selectors.links_of_run(run=run)]
    return SharePanel(
        run=run,
        form=form or ShareLinkForm(),
        rows=rows,
        created=created,
        created_url=created_url,
    )
