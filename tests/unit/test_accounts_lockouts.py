"""The username a failed sign-in is counted under (apps.accounts.lockouts)."""

from django.test import RequestFactory

from apps.accounts.lockouts import USERNAME_MAX, attempted_username


def test_it_takes_the_credentials_first_then_the_form() -> None:
    request = RequestFactory().post("/accounts/login/", {"username": "from-form"})
    assert attempted_username(request, {"username": "given"}) == "given"
    assert attempted_username(request, None) == "from-form"
    assert attempted_username(RequestFactory().post("/x/", {}), None) is None


def test_it_cuts_what_was_typed_to_the_longest_username() -> None:
    request = RequestFactory().post("/accounts/login/", {"username": "b" * 1000})
    assert USERNAME_MAX == 150
    assert attempted_username(request, None) == "b" * 150
    assert attempted_username(request, {"username": "ü" * 151}) == "ü" * 150
