"""Middleware of the project's own."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

# A form post larger than this is refused whole (413): nothing in it is read.
MAX_FORM_POST_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024


class OversizedFormMiddleware:
    """A form post larger than Django reads at once (DATA_UPLOAD_MAX_MEMORY_SIZE) is read
    here field by field, each field cut at that size, instead of being refused with a bare
    400 before any view runs. The view then sees every field (the CSRF token included) and
    its form says at the field that the value is over its limit: nothing else is lost.

    Only `application/x-www-form-urlencoded` posts, the kind the project's forms send; one
    larger than MAX_FORM_POST_BYTES gets a 413 page. Only for the views of those forms (the
    CSRF-protected ones): the API and the sandbox read the body themselves (once the stream
    is read here they could not, and answered 500), and refuse a body too large on their own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _form_post(request) and _content_length(request) > MAX_FORM_POST_BYTES:
            return _too_large()
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: object,
        view_kwargs: object,
    ) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or not _form_post(request) or getattr(view_func, "csrf_exempt", False):
            return
        length = _content_length(request)
        if length > limit:
            # Django's own attributes, set as its parser would: the stubs type POST as
            # immutable and don't know _files.
            request.POST = _read_fields(request, length=length, field_limit=limit)  # type: ignore[assignment]
            request._files = MultiValueDict()  # type: ignore[attr-defined]  # none in such a post


def _form_post(request: HttpRequest) -> bool:
    return request.method == "POST" and request.content_type == "application/x-www-form-urlencoded"


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_fields(request: HttpRequest, *, length: int, field_limit: int) -> QueryDict:
    """The posted fields, each cut at `field_limit` bytes, at most
    DATA_UPLOAD_MAX_NUMBER_FIELDS of them."""
    max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 1000
    pairs: list[bytes] = []
    current = bytearray()
    remaining = length
    while remaining > 0:
        chunk = request.read(min(_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        *done, rest = chunk.split(b"&")
        for piece in done:
            current += piece[: max(0, field_limit - len(current))]
            pairs.append(bytes(current))
            current = bytearray()
        current += rest[: max(0, field_limit - len(current))]
    pairs.append(bytes(current))
    fields = QueryDict(mutable=True, encoding=request.encoding)
    for pair in pairs[:max_fields]:
        for name, values in QueryDict(pair, encoding=request.encoding).lists():
            for value in values:
                fields.appendlist(name, value)
    fields._mutable = False
    return fields


def _too_large() -> HttpResponse:
    message = (
        f"This request is larger than {MAX_FORM_POST_BYTES // (1024 * 1024)} MiB, more than "
        "any form here takes, so nothing in it was read. Go back and send less."
    )
    # Before sign-in is known: a plain answer, no page of the site.
    return HttpResponse(message + "\n", status=413, content_type="text/plain; charset=utf-8")
