"""Template helpers of the library: the "Copy as" snippets of a run."""

from django import template

from apps.library.snippets import Snippet, snippets_of_run
from apps.runs.models import Run

register = template.Library()


@register.simple_tag
def run_snippets(run: Run) -> list[Snippet]:
    """cURL, Python requests and HTTPie for the run's request, secrets as variables."""
    return snippets_of_run(run)
