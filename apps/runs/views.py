from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


@login_required
def new_run(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


@login_required
def run_detail(request: HttpRequest, run_id: object) -> HttpResponse:
    return render(request, "base.html")
