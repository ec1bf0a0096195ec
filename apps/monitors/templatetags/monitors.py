"""The incident banner of the team log: `{% load monitors %}{% incident_banner team %}`."""

from typing import Any

from django import template

from apps.accounts.models import Team
from apps.monitors import incidents
from apps.monitors.models import Incident

register = template.Library()


@register.inclusion_tag("monitors/_incident_banner.html")
def incident_banner(team: Team | None) -> dict[str, Any]:
    if team is None:
        return {"banners": []}
    open_ones = Incident.objects.for_team(team).filter(closed_at=None).order_by("-opened_at")
    return {
        "banners": [
            {"incident": i, "text": incidents.summary(i), "link": incidents.log_link(i)}
            for i in open_ones[:5]
        ]
    }
