from django.contrib import admin

from apps.accounts.models import Invite, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    inlines = [MembershipInline]


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    """Invites are created from the team page (the link is shown there, once)."""

    list_display = ["team", "created_by", "created_at", "expires_at", "used_at", "revoked_at"]
    list_filter = ["team"]
    readonly_fields = ["team", "created_by", "created_at", "expires_at", "used_at", "used_by"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: object) -> bool:
        return False
