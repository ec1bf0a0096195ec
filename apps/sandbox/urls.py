from django.urls import path, re_path

from apps.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.docs, name="docs"),
    path("maintenance/", views.maintenance_switch, name="maintenance"),
    # Helpers for the dashboard's own tests: any method, no key, no scenario.
    path("echo", views.echo, name="echo"),
    path("redirect/<int:hops>", views.redirect_chain, name="redirect"),
    path("redirect-loop", views.redirect_loop, name="redirect_loop"),
    # Oversize answers, for the body caps: any method, no key, no scenario.
    path("large", views.large, name="large"),
    path("bomb", views.bomb, name="bomb"),
    path("gzip-padding", views.gzip_padding, name="gzip_padding"),
    path("layers", views.layers, name="layers"),
    # us.market-api.kaiko.io and eu.market-api.kaiko.io
    re_path(r"^(?P<region>us|eu)/(?P<api_path>.*)$", views.market_data, name="market"),
    # reference-data-api.kaiko.io
    re_path(r"^reference/(?P<api_path>.*)$", views.reference_data, name="reference"),
    # Everything else under /sandbox/ answers Kaiko's JSON 404, not an HTML page.
    re_path(r"^(?P<api_path>.*)$", views.not_found, name="not_found"),
]
