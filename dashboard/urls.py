from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.runs import views as run_views

urlpatterns = [
    path("", run_views.home, name="home"),
    path("runs/", include("apps.runs.urls")),
    path("help/", include("apps.diagnosis.urls")),
    path("sandbox/", include("apps.sandbox.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
