"""The redaction policy: the one place that knows which names are secret and which encodings
of a secret value count as the value. Pure: no Django, no logging.

By name: credential headers (`Authorization`, `Cookie`, `X-Api-Key`, ...) and query, form
and JSON keys that look like credentials (`api_key`, `token`, `password`, ...).

By value: a secret (an API key, a token) is found, and replaced by REDACTED, in each of the
forms an upstream or a page may carry it in:
- as it is; case-insensitive hex of its UTF-8 bytes; base32 (either case, padded or not);
- base64 and base64url, with and without padding, also inside a longer base64 token (HTTP
  Basic `user:key`, `Bearer key` encoded whole, a key at any alignment);
- URL-encoded (standard, `+` for spaces, or every byte as `%XX` in either case, or a mix);
- JSON string escapes (`\\uXXXX` for any or every character, `\\/`, `\\"`, `\\\\`);
- HTML character references (`&#NN;`, `&#xHH;`, `&amp;` ...), for any or every character.

Values shorter than MIN_SECRET_CHARS are not removed by value: too short to tell from other
text. Everything else in the project (storing runs, pages, share pages, exports, the
diagnosis) calls this module rather than keeping its own list.
"""

import base64
import binascii
import functools
import html
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from apps.egress.bounded_json import JsonLimitExceeded, loads_bounded

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4

# Header names whose values are credentials, compared in lower case.
SECRET_HEADER_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrftoken",
    }
)
# Query and body keys that carry credentials: matched as whole words inside the name.
_SECRET_KEY_PATTERN = re.compile(
    r"(^|[-_.])(api[-_]?key|apikey|key|token|access[-_]?token|secret|password|passwd|"
    r"pwd|auth|signature|sig|session|credentials?)($|[-_.])",
    re.IGNORECASE,
)


def is_secret_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in SECRET_HEADER_NAMES or bool(_SECRET_KEY_PATTERN.search(lowered))


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_KEY_PATTERN.search(name.strip()))


def is_secret_name(name: str) -> bool:
    """A header, query, form or JSON key name whose value is a credential."""
    return is_secret_header(name) or is_secret_param(name)


def credential_parts(value: str) -> list[str]:
    """A credential and the parts of it that may be echoed alone: the token after a scheme
    ("Bearer abc" → "abc"), each cookie's value ("a=1; s=abc" → "abc"), the value without
    quotes or stray spaces."""
    found = [value]
    stripped = value.strip().strip("\"'")
    found.append(stripped)
    scheme, _, credential = stripped.partition(" ")
    if credential and scheme.isalpha():
        found.append(credential.strip())
        if scheme.lower() == "basic":  # "Basic base64(user:password)": the password too
            try:
                decoded = base64.b64decode(credential.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                decoded = ""
            found.append(decoded.partition(":")[2])
    if "=" in stripped:
        found += [part.split("=", 1)[1].strip() for part in stripped.split(";") if "=" in part]
    return [part for part in dict.fromkeys(found) if part]


def split_secret_pairs(
    pairs: Iterable[tuple[str, str]], *, is_secret: Callable[[str], bool]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pairs with secret values replaced by REDACTED, the secret pairs themselves)."""
    shown: list[tuple[str, str]] = []
    secret: list[tuple[str, str]] = []
    for name, value in pairs:
        if is_secret(name) and value:
            shown.append((name, REDACTED))
            secret.append((name, value))
        else:
            shown.append((name, value))
    return shown, secret


# By value ---------------------------------------------------------------------------------

_HTML_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = {'"': '\\\\"', "\\": "\\\\\\\\", "/": "\\\\/", "\n": "\\\\n", "\t": "\\\\t"}


def _hex_any_case(number: int, width: int) -> str:
    """A pattern of the number in hex, in either case (as a character class per letter)."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _char_pattern(char: str) -> str:
    """Every way one character of a secret may be written: itself, URL-encoded (each UTF-8
    byte as %XX), a JSON \\u escape, an HTML character reference."""
    options = [re.escape(char)]
    options.append("".join(f"%{_hex_any_case(byte, 2)}" for byte in char.encode()))
    if char == " ":
        options.append(r"\+")
    if ord(char) <= 0xFFFF:
        options.append(rf"\\u{_hex_any_case(ord(char), 4)}")
    else:  # a JSON surrogate pair
        high, low = _surrogates(char)
        options.append(rf"\\u{_hex_any_case(high, 4)}\\u{_hex_any_case(low, 4)}")
    options.append(rf"&#0*{ord(char)};")
    options.append(rf"&#[xX]0*{_hex_any_case(ord(char), 1)};")
    if char in _HTML_NAMED:
        options.append(f"&{_HTML_NAMED[char]};")
    if char in _JSON_SHORT:
        options.append(_JSON_SHORT[char])
    return "(?:" + "|".join(options) + ")"


def _surrogates(char: str) -> tuple[int, int]:
    point = ord(char) - 0x10000
    return 0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)


def _fixed_forms(value: str) -> tuple[list[str], list[str]]:
    """(forms compared as they are, forms compared in any case) of a value's whole-value
    encodings: base64, base64url (padded or not) and hex, base32."""
    data = value.encode()
    b64 = base64.b64encode(data).decode()
    b64url = base64.urlsafe_b64encode(data).decode()
    exact = {b64, b64.rstrip("="), b64url, b64url.rstrip("=")}
    b32 = base64.b32encode(data).decode()
    any_case = {data.hex(), b32, b32.rstrip("=")}
    return sorted(exact, key=len, reverse=True), sorted(any_case, key=len, reverse=True)


def secret_forms(values: Iterable[str]) -> list[str]:
    """Each secret in the forms it is commonly written in, for looking for leaks: as it is,
    base64 and base64url (padded or not), hex (lower and upper case), base32, URL-encoded
    (standard and every byte), JSON `\\u` escapes, HTML entities (decimal and hex), and HTTP
    Basic credentials with it as the password. Longest first. `redact_text` finds more
    (any case, mixed encodings); this list is what tests search for."""
    forms: set[str] = set()
    for value in _usable(values):
        data = value.encode()
        exact, any_case = _fixed_forms(value)
        forms.update(exact)
        for form in any_case:
            forms.update({form, form.lower(), form.upper()})
        forms.add(quote(value, safe=""))
        forms.add(quote_plus(value, safe=""))
        # Every byte as %XX, every character as \\uXXXX (UTF-16 code units, surrogates as
        # they are) and as &#N; / &#xN;: written with bytes.hex and str.join, not a loop in
        # Python per character (diagnose() computes these for every exchange).
        every_byte = "%" + data.hex("%")
        forms.update({every_byte.upper(), every_byte})
        forms.add(json.dumps(value)[1:-1])
        forms.add(json.dumps(value, ensure_ascii=True)[1:-1])
        units = value.encode("utf-16-be", "surrogatepass").hex("|", 2)
        forms.add("\\u" + units.replace("|", "\\u"))
        points = list(map(ord, value))
        forms.add("&#" + ";&#".join(map(str, points)) + ";")
        forms.add("&#x" + ";&#x".join(map("%x".__mod__, points)) + ";")
        forms.add(html.escape(value))
        forms.add(base64.b64encode(f"user:{value}".encode()).decode())
    return sorted((form for form in forms if form), key=len, reverse=True)


def _usable(values: Iterable[str]) -> list[str]:
    found = {value for value in values if isinstance(value, str) and len(value) >= MIN_SECRET_CHARS}
    return sorted(found, key=len, reverse=True)


class SecretValues:
    """A set of secret values, ready to be found and replaced in any text (see the module's
    docstring for the encodings). Build it once per run or page and reuse it."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(_usable(values))
        self._raw = tuple(value.encode() for value in self.values)
        self._patterns = _compiled(self.values)

    def __bool__(self) -> bool:
        return bool(self.values)

    def redact(self, text: str) -> str:
        """The text with every form of every secret replaced by REDACTED."""
        if not self.values or not text:
            return text
        assert self._patterns is not None
        exact, any_case, base64_core = self._patterns
        # Base64 tokens first: a secret encoded inside a longer value ("user:key" in HTTP
        # Basic) takes the whole token with it.
        if base64_core.search(text):
            text = _BASE64_TOKEN.sub(self._redact_base64_token, text)
        # Hex and base32 in any case: found in a copy with ASCII letters in lower case
        # (same length, so the places found are those of the text).
        spans = [match.span() for match in any_case.finditer(text.translate(_ASCII_LOWER))]
        if spans:
            pieces, last = [], 0
            for start, end in spans:
                pieces += [text[last:start], REDACTED]
                last = end
            text = "".join(pieces) + text[last:]
        return exact.sub(REDACTED, text)

    def found_in(self, text: str) -> bool:
        return bool(text) and self.redact(text) != text

    def _redact_base64_token(self, match: re.Match[str]) -> str:
        """A base64 token that decodes to bytes holding a secret, at any alignment."""
        token = match.group(0)
        assert self._patterns is not None
        if not self._patterns[2].search(token):  # no core of a secret: nothing to decode
            return token
        stripped = token.rstrip("=")
        for start in range(4):  # the token may start inside an encoded group
            piece = stripped[start:]
            piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece
            for alphabet in (b"+/", b"-_"):
                try:
                    decoded = base64.b64decode(
                        piece + "=" * (-len(piece) % 4), altchars=alphabet, validate=True
                    )
                except (binascii.Error, ValueError):
                    continue
                if any(raw in decoded for raw in self._raw):
                    return REDACTED
        return token


_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_ASCII_LOWER = str.maketrans({chr(code): chr(code + 32) for code in range(65, 91)})


def _base64_cores(data: bytes) -> set[str]:
    """The base64 characters fixed by `data` alone, wherever it starts in a longer value:
    one string per alignment and alphabet (a token holding one may hold the secret)."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode()
        first = (offset * 4 + 2) // 3  # characters touched by the bytes before
        last = ((offset + len(data)) * 4) // 3  # characters wholly from the data
        core = encoded[first:last]
        if len(core) >= 4:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


@functools.lru_cache(maxsize=256)
def _compiled(
    values: tuple[str, ...],
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None:
    """(the exact forms and the per-character encodings, the hex and base32 forms in lower
    case, the base64 cores) of the values, each as one pattern."""
    if not values:
        return None
    exact, any_case, cores = [], [], set()
    # The characters a match can start with: checked first, the pattern is far quicker.
    starts = {"%", "\\", "&", "+"}
    for value in values:
        fixed, fixed_any_case = _fixed_forms(value)
        exact += [re.escape(form) for form in fixed]
        exact.append("".join(_char_pattern(char) for char in value))
        starts |= {form[0] for form in fixed} | {value[0]}
        any_case += [re.escape(form.lower()) for form in fixed_any_case]
        cores |= _base64_cores(value.encode())
    core_pattern = "|".join(re.escape(core) for core in sorted(cores, key=len, reverse=True))
    first = "".join(re.escape(char) for char in sorted(starts))
    return (
        re.compile(f"(?=[{first}])(?:{'|'.join(exact)})"),
        re.compile("|".join(any_case)),
        re.compile(core_pattern or "(?!)"),
    )


def redact_text(text: str, secrets: Iterable[str] | SecretValues) -> str:
    """The text with every occurrence of every secret, in any encoding above, replaced."""
    matcher = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    return matcher.redact(text)


# By name, in structured text ----------------------------------------------------------------


def redact_url(url: str, secrets: Iterable[str] | SecretValues = ()) -> str:
    """The URL with the values of secret-named query parameters and any password before the
    host replaced by REDACTED, then every form of `secrets` anywhere in it (path included);
    a URL with none of those comes back unchanged."""
    matcher = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return matcher.redact(url)
    changed = False
    if password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:{REDACTED}@{host}")
        changed = True
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(is_secret_param(name) and value and value != REDACTED for name, value in pairs):
        shown = [
            (name, REDACTED if is_secret_param(name) and value else value) for name, value in pairs
        ]
        parts = parts._replace(query=urlencode(shown, safe="[]"))
        changed = True
    return matcher.redact(urlunsplit(parts) if changed else url)


def redact_pairs(
    pairs: Iterable[Iterable[str]],
    secrets: Iterable[str] | SecretValues = (),
    *,
    is_secret: Callable[[str], bool] = is_secret_header,
) -> list[list[str]]:
    """Name/value pairs with a secret name's value replaced whole and every other value
    cleaned of `secrets`; a URL-valued header (Location ...) by its query's names too."""
    matcher = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    shown = []
    for name, value in pairs:
        name, value = str(name), str(value)
        if value and is_secret(name):
            value = REDACTED
        elif name.lower() in URL_HEADERS:
            value = redact_url(value, matcher)
        else:
            value = matcher.redact(value)
        shown.append([matcher.redact(name), value])
    return shown


# Headers whose value is a URL, whose query may name a secret.
URL_HEADERS = frozenset({"location", "content-location", "referer", "refresh", "link"})


def redact_body(
    text: str, content_type: str, secrets: Iterable[str] | SecretValues = ()
) -> tuple[str, list[str]]:
    """A JSON or form-encoded body with the values of secret-named keys replaced, then every
    form of `secrets` removed; and the values found under secret names. A body too deep or
    too large to parse is cleaned by value only."""
    matcher = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    found: list[str] = []
    lowered = content_type.lower()
    if "json" in lowered or (not lowered and text.lstrip()[:1] in ("{", "[")):
        try:
            data = loads_bounded(text)
        except (ValueError, JsonLimitExceeded):
            return matcher.redact(text), []
        cleaned = _redact_json(data, found)
        if found:
            text = json.dumps(cleaned, ensure_ascii=False)
    elif "x-www-form-urlencoded" in lowered:
        pairs = parse_qsl(text, keep_blank_values=True)
        found = [value for name, value in pairs if is_secret_param(name) and value]
        if found:
            shown = [
                (name, REDACTED if is_secret_param(name) and value else value)
                for name, value in pairs
            ]
            text = urlencode(shown, safe="[]")
    found = [value for value in found if value != REDACTED]
    return matcher.redact(text), found


def secret_keys_in_body(text: str, content_type: str) -> list[str]:
    """The names of the secret keys a JSON or form body carries values under (for notes)."""
    lowered = content_type.lower()
    if "x-www-form-urlencoded" in lowered:
        pairs = parse_qsl(text, keep_blank_values=True)
        return list(dict.fromkeys(n for n, v in pairs if is_secret_param(n) and v != REDACTED))
    try:
        data = loads_bounded(text)
    except (ValueError, JsonLimitExceeded):
        return []
    keys: list[str] = []
    _collect_secret_keys(data, keys)
    return keys


def _collect_secret_keys(value: object, keys: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(str(key)) and _is_scalar_secret(item):
                if str(key) not in keys:
                    keys.append(str(key))
            else:
                _collect_secret_keys(item, keys)
    elif isinstance(value, list):
        for item in value:
            _collect_secret_keys(item, keys)


def _is_scalar_secret(item: object) -> bool:
    return (
        isinstance(item, str | int | float)
        and not isinstance(item, bool)
        and item not in ("", REDACTED)
    )


def _redact_json(value: object, found: list[str]) -> object:
    if isinstance(value, dict):
        result: dict[object, object] = {}
        for key, item in value.items():
            if is_secret_name(str(key)) and _is_scalar_secret(item):
                found.append(str(item))
                result[key] = REDACTED
            else:
                result[key] = _redact_json(item, found)
        return result
    if isinstance(value, list):
        return [_redact_json(item, found) for item in value]
    return value


def redact_data(value: object, secrets: Iterable[str] | SecretValues) -> object:
    """Stored JSON-like data (a diagnosis) with every string cleaned of `secrets`."""
    matcher = secrets if isinstance(secrets, SecretValues) else SecretValues(secrets)
    if not matcher:
        return value
    return _redact_strings(value, matcher)


def _redact_strings(value: object, matcher: SecretValues) -> object:
    if isinstance(value, str):
        return matcher.redact(value)
    if isinstance(value, list | tuple):
        return [_redact_strings(item, matcher) for item in value]
    if isinstance(value, dict):
        return {
            matcher.redact(str(key)): _redact_strings(item, matcher) for key, item in value.items()
        }
    return value
