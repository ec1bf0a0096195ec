"""Django test clients for the people of a test."""

from django.contrib.auth.models import User
from django.test import Client


def client_for(user: User | None) -> Client:
    """A test client signed in as `user`; anonymous when None."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
