from django.urls import path

from apps.diagnosis import views

app_name = "diagnosis"

urlpatterns = [
    path("", views.index, name="index"),
    path("playbooks/<slug:slug>/", views.playbook, name="playbook"),
]
