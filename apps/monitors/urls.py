from django.urls import path

from apps.monitors import views

app_name = "monitors"

urlpatterns = [
    path("", views.monitor_list, name="list"),
    path("from-run/<uuid:run_id>/", views.monitor_new, name="new"),
    path("from-saved/<uuid:saved_id>/", views.monitor_new_from_saved, name="new_from_saved"),
    path("<uuid:monitor_id>/", views.monitor_detail, name="detail"),
    path("<uuid:monitor_id>/edit/", views.monitor_edit, name="edit"),
    path("<uuid:monitor_id>/pause/", views.monitor_pause, name="pause"),
    path("<uuid:monitor_id>/check-now/", views.monitor_check_now, name="check_now"),
    path("<uuid:monitor_id>/delete/", views.monitor_delete, name="delete"),
    path("status-page/", views.status_page_settings, name="status_page"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/<uuid:channel_id>/", views.channel_detail, name="channel"),
    path("channels/<uuid:channel_id>/test/", views.channel_test, name="channel_test"),
    path("channels/<uuid:channel_id>/delete/", views.channel_delete, name="channel_delete"),
]

# Public, no sign-in: the team's status page and badges (dashboard/urls.py, under /status/).
public_urlpatterns = [
    path("<slug:key>/", views.public_status, name="public_status"),
    path("<slug:key>/<uuid:monitor_id>.svg", views.badge, name="badge"),
]
