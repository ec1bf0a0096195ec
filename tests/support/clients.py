"""Django test clients for the people of a test, and the type of what they answer."""

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client

if TYPE_CHECKING:
    # What the test client's get() and post() answer: a response with the request, the
    # templates and the context (a name that exists for the type checker only).
    from django.test.client import _MonkeyPatchedWSGIResponse as ClientResponse
else:
    from django.http import HttpResponseBase as ClientResponse

__all__ = ["ClientResponse", "client_for", "streamed_body"]


def client_for(user: User | None) -> Client:
    """A test client signed in as `user`; anonymous when None."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def streamed_body(response: HttpResponseBase) -> bytes:
    """The whole body of a streaming response (the test fails if it is not one)."""
    assert isinstance(response, StreamingHttpResponse), type(response)
    return b"".join(response.streaming_content)  # type: ignore[arg-type]  # a sync iterator
