"""The share panel of a run page (apps.sharing.panel): the run's links with their state."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.sharing import services
from apps.sharing.forms import ShareLinkForm
from apps.sharing.models import ShareLink
from apps.sharing.panel import share_panel
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db


def test_it_lists_the_runs_links_newest_first_with_their_state(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    expired, _ = services.create_link(
        run=run, created_by=owner, visibility="public", lifetime=timedelta(seconds=-1)
    )
    revoked, _ = services.create_link(
        run=run, created_by=owner, visibility="public", lifetime=timedelta(days=1)
    )
    services.revoke_link(link=revoked)
    active, _ = services.create_link(run=run, created_by=owner, visibility="team", lifetime=None)
    ShareLink.objects.filter(pk=expired.pk).update(created_at=expired.created_at - timedelta(2))
    ShareLink.objects.filter(pk=revoked.pk).update(created_at=revoked.created_at - timedelta(1))

    panel = share_panel(run=run)

    assert [(row.link.pk, row.state) for row in panel.rows] == [
        (active.pk, "active"),
        (revoked.pk, "revoked"),
        (expired.pk, "expired"),
    ]


def test_it_lists_no_link_of_another_run(team: Team, owner: User) -> None:
    run, other = make_run(team, owner), make_run(team, owner)
    services.create_link(run=other, created_by=owner, visibility="team", lifetime=None)
    assert share_panel(run=run).rows == []


def test_it_gives_a_fresh_form_unless_one_is_passed(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    panel = share_panel(run=run)
    assert isinstance(panel.form, ShareLinkForm) and not panel.form.is_bound
    bound = ShareLinkForm(data={"visibility": "public", "lifetime": "nope"})
    assert share_panel(run=run, form=bound).form is bound


def test_it_carries_the_link_just_made_and_its_url(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    link, token = services.create_link(run=run, created_by=owner, visibility="team", lifetime=None)
    panel = share_panel(run=run, created=link, created_url=f"http://h/s/{token}")
    assert panel.created == link
    assert panel.created_url == f"http://h/s/{token}"
    assert share_panel(run=run).created_url == ""
