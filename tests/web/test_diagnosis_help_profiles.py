"""The help index shows each built-in profile's own error codes, how it is chosen (host
suffixes, path patterns) and its documented rate limit."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_lists_each_profiles_codes_in_its_own_words(client: Client) -> None:
    page = client.get("/help/").content.decode()
    assert "<code>SignatureDoesNotMatch</code>" in page
    assert "The request signature we calculated does not match" in page
    assert "<code>invalid_auth</code>" in page
    assert "<code>.amazonaws.com</code>" in page or ".amazonaws.com" in page
    assert "6000 requests per 60 s per key, no rate-limit headers" in page
    for name in ("GitHub REST API", "Stripe API", "Slack Web API", "GraphQL over HTTP"):
        assert name in page
