from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from apps.accounts import views as account_views
from apps.api import views as api_views
from apps.api.routing import api_urls
from apps.health import views as health_views
from apps.monitors import urls as monitor_urls
from apps.runs import views as run_views

urlpatterns = [
    path("", run_views.home, name="home"),
    path("runs/", include("apps.runs.urls")),
    path("help/", include("apps.diagnosis.urls")),
    path("sandbox/", include("apps.sandbox.urls")),
    path("profiles/", include("apps.library.urls")),
    path("library/", include("apps.library.saved_urls")),
    path("vault/", include("apps.vault.urls")),
    path("api/v1/", api_views.api_not_found),  # before django-ninja's own root page
    path("api/v1/", api_urls()),
    re_path(r"^api/(?P<path>.*)$", api_views.api_not_found),
    path("tokens/", include("apps.api.urls")),
    path("monitors/", include("apps.monitors.urls")),
    path("status/", include((monitor_urls.public_urlpatterns, "status"))),
    path("", include("apps.accounts.urls")),
    path("", include("apps.sharing.urls")),  # /s/<token>, and /runs/<id>/share/...
    # Sign-in, sign-out and passwords: Django's views (names as Django expects them).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        account_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("healthz", health_views.healthz, name="healthz"),
]

handler500 = "apps.health.views.server_error"
