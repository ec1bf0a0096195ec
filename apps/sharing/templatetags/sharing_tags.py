from django import template

from apps.runs.models import Run
from apps.sharing.panel import SharePanel, share_panel

register = template.Library()


@register.simple_tag
def share_panel_for(run: Run) -> SharePanel:
    """The share panel of a run page that does not bring its own (`share` in the context)."""
    return share_panel(run=run)
