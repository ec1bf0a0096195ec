r"""A pasted cURL command as a request: pure, no Django, no network.

Reads the three shells a command is copied for (Chromium's "Copy as cURL" has a bash and a
cmd flavour; commands pasted into PowerShell use `curl.exe` and its quoting):
- bash: '…', "…" (backslash escapes \\ \" \$ \`), $'…' (ANSI-C escapes), backslash line
  continuations, a `$ ` prompt before `curl`;
- cmd: ^-escapes (^" ^^ ^% …), ^ line continuations, then the MS C runtime's argument rules
  ("…", \" and backslashes before quotes);
- PowerShell: `curl.exe`, backtick line continuations, '…' ('' is a quote), "…" (`" and "").

Then cURL's own options: every flag that real commands use becomes part of the request
(method, URL, headers, body, basic auth, cookies, timeout, redirects); a flag that only
changes cURL's output is named as ignored, and one that cannot be honoured (files, forms,
proxies, client certificates…) is named as not supported. Nothing is dropped silently.
A secret the command carries in X-Api-Key goes to `api_key`, the form's key field.
"""

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlsplit, urlunsplit

from apps.library.importers.collection import is_api_key_header

MAX_COMMAND_CHARS = 300_000


class CurlError(ValueError):
    """The command cannot be read as a cURL command; the message says why, for people."""


@dataclass
class ParsedCurl:
    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    api_key: str = ""  # from an X-Api-Key header
    timeout: float | None = None  # -m / --max-time
    follow_redirects: bool = False  # -L
    insecure: bool = False  # -k: never honoured, always warned about
    ignored: list[str] = field(default_factory=list)  # output-only flags, as written
    unsupported: list[str] = field(default_factory=list)  # flags that were not used
    notes: list[str] = field(default_factory=list)  # other things the caller should know

    @property
    def warnings(self) -> list[str]:
        """What the person should be told, one sentence each."""
        found = []
        if self.insecure:
            found.append(
                "-k/--insecure is not honoured: certificates are always verified, so a TLS "
                "problem is diagnosed instead of hidden."
            )
        if self.unsupported:
            found.append("Not supported, left out: " + ", ".join(self.unsupported) + ".")
        if self.ignored:
            found.append(
                "Ignored (they only change cURL's own output): " + ", ".join(self.ignored) + "."
            )
        return found + self.notes


# Shells -----------------------------------------------------------------------------------

BASH, CMD, POWERSHELL = "bash", "cmd", "powershell"
_ANSI_C = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip


def flavour_of(command: str) -> str:
    """Which shell the command was written for."""
    text = command.strip()
    if re.search(r'\^"|\^\s*\r?\n', text):
        return CMD
    if re.match(r"(?i)^(?:PS [^>]*>\s*)?curl\.exe\b", text) or re.search(r"`\s*\r?\n", text):
        return POWERSHELL
    return BASH


_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PS_VARIABLE = re.compile(r"\$(?:env:)?([A-Za-z_][A-Za-z0-9_]*)")


def _variables_in(text: str, pattern: re.Pattern[str], found: list[str]) -> None:
    for match in pattern.finditer(text):
        name = next(group for group in match.groups() if group)
        if name not in found:
            found.append(name)


def split_bash(text: str, variables: list[str] | None = None) -> list[str]:
    """Words by bash's rules; the names of variables the shell would expand (outside single
    quotes) are added to `variables`: their values are not known here."""
    found = variables if variables is not None else []
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
        elif ch == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2  # line continuation
            elif i + 2 < n and text[i + 1] == "\r" and text[i + 2] == "\n":
                i += 3
            elif i + 1 < n:
                current.append(text[i + 1])
                in_word = True
                i += 2
            else:
                i += 1
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise CurlError("A single quote (') is not closed.")
            current.append(text[i + 1 : end])
            in_word = True
            i = end + 1
        elif ch == "$" and i + 1 < n and text[i + 1] == "'":
            value, i = _ansi_c(text, i + 2)
            current.append(value)
            in_word = True
        elif ch == '"':
            i += 1
            start = i
            while True:
                if i >= n:
                    raise CurlError('A double quote (") is not closed.')
                c = text[i]
                if c == '"':
                    _variables_in(text[start:i], _VARIABLE, found)
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\$`\n':
                    if text[i + 1] != "\n":
                        current.append(text[i + 1])
                    i += 2
                    continue
                current.append(c)
                i += 1
            in_word = True
        elif ch == "#" and not in_word:
            end = text.find("\n", i)
            i = n if end < 0 else end  # a comment
        else:
            if ch == "$":
                _variables_in(text[i : i + 200], _VARIABLE, found)
            current.append(ch)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(current))
    return words


def _ansi_c(text: str, i: int) -> tuple[str, int]:
    """The value of a $'…' string starting after its quote, and where it ends."""
    out: list[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in _ANSI_C:
                out.append(_ANSI_C[nxt])
                i += 2
            elif nxt == "x":
                digits = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2 :])
                if digits:
                    out.append(chr(int(digits.group(), 16)))
                    i += 2 + len(digits.group())
                else:
                    out.append("\\x")
                    i += 2
            elif nxt in "uU":
                size = 4 if nxt == "u" else 8
                digits = re.match(rf"[0-9a-fA-F]{{1,{size}}}", text[i + 2 :])
                if digits:
                    out.append(chr(int(digits.group(), 16)))
                    i += 2 + len(digits.group())
                else:
                    out.append("\\" + nxt)
                    i += 2
            elif nxt in "01234567":
                digits = re.match(r"[0-7]{1,3}", text[i + 1 :])
                assert digits is not None
                out.append(chr(int(digits.group(), 8)))
                i += 1 + len(digits.group())
            else:
                out.append("\\" + nxt)
                i += 2
        else:
            out.append(ch)
            i += 1
    raise CurlError("A $'…' string is not closed.")


def split_cmd(text: str) -> list[str]:
    """cmd.exe's caret layer, then the MS C runtime's argument rules."""
    plain: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "^" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\r" and i + 2 < n and text[i + 2] == "\n":
                i += 3
                if i < n:  # the first character of the next line is taken as it is
                    plain.append(text[i])
                    i += 1
            elif nxt == "\n":
                i += 2
                if i < n:
                    plain.append(text[i])
                    i += 1
            else:
                plain.append(nxt)
                i += 2
        else:
            plain.append(ch)
            i += 1
    return _split_msvcrt("".join(plain))


def _split_msvcrt(text: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    in_word = in_quotes = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    i = j + 1
                else:
                    i = j  # the quote is handled next
            else:
                current.append("\\" * count)
                i = j
            in_word = True
        elif ch == '"':
            if in_quotes and i + 1 < n and text[i + 1] == '"':
                current.append('"')
                i += 2
            else:
                in_quotes = not in_quotes
                i += 1
            in_word = True
        elif ch in " \t\r\n" and not in_quotes:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
        else:
            current.append(ch)
            in_word = True
            i += 1
    if in_quotes:
        raise CurlError('A double quote (") is not closed.')
    if in_word:
        words.append("".join(current))
    return words


def split_powershell(text: str, variables: list[str] | None = None) -> list[str]:
    found = variables if variables is not None else []
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "`":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
            elif i + 2 < n and text[i + 1] == "\r" and text[i + 2] == "\n":
                i += 3
            elif i + 1 < n:
                current.append(_backtick(text[i + 1]))
                in_word = True
                i += 2
            else:
                i += 1
        elif ch in " \t\r\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
        elif ch == "'":
            i += 1
            while True:
                if i >= n:
                    raise CurlError("A single quote (') is not closed.")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        current.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                current.append(text[i])
                i += 1
            in_word = True
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise CurlError('A double quote (") is not closed.')
                c = text[i]
                if c == "`" and i + 1 < n:
                    current.append(_backtick(text[i + 1]))
                    i += 2
                    continue
                if c == "$":
                    _variables_in(text[i : i + 200], _PS_VARIABLE, found)
                if c == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        current.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                current.append(c)
                i += 1
            in_word = True
        else:
            if ch == "$":
                _variables_in(text[i : i + 200], _PS_VARIABLE, found)
            current.append(ch)
            in_word = True
            i += 1
    if in_word:
        words.append("".join(current))
    return words


def _backtick(ch: str) -> str:
    return {"n": "\n", "r": "\r", "t": "\t", "0": "\x00", "a": "\a", "e": "\x1b"}.get(ch, ch)


def split_command(command: str, variables: list[str] | None = None) -> list[str]:
    """The command's words, by the rules of the shell it was written for; the shell
    variables it refers to are added to `variables`."""
    text = command.replace("\r\n", "\n").strip()
    flavour = flavour_of(text)
    if flavour == CMD:
        return split_cmd(text)
    if flavour == POWERSHELL:
        return split_powershell(text, variables)
    return split_bash(text, variables)


# cURL's options ---------------------------------------------------------------------------

# Long names of the options that take a value, by short name where there is one.
_SHORT_WITH_VALUE = {
    "X": "--request", "H": "--header", "d": "--data", "u": "--user", "b": "--cookie",
    "A": "--user-agent", "e": "--referer", "m": "--max-time", "o": "--output",
    "F": "--form", "T": "--upload-file", "x": "--proxy", "E": "--cert", "w": "--write-out",
    "r": "--range", "c": "--cookie-jar", "D": "--dump-header", "K": "--config",
    "U": "--proxy-user", "Y": "--speed-limit", "y": "--speed-time", "z": "--time-cond",
    "C": "--continue-at", "Q": "--quote", "t": "--telnet-option", "P": "--ftp-port",
}  # fmt: skip
_SHORT_FLAGS = {
    "G": "--get", "I": "--head", "L": "--location", "k": "--insecure", "s": "--silent",
    "S": "--show-error", "v": "--verbose", "i": "--include", "f": "--fail",
    "#": "--progress-bar", "N": "--no-buffer", "g": "--globoff", "n": "--netrc",
    "0": "--http1.0", "1": "--tlsv1", "2": "--sslv2", "3": "--sslv3", "4": "--ipv4",
    "6": "--ipv6", "O": "--remote-name", "J": "--remote-header-name", "j": "--junk-session-cookies",
    "l": "--list-only", "a": "--append", "B": "--use-ascii", "p": "--proxytunnel",
    "q": "--disable", "R": "--remote-time", "Z": "--parallel", "V": "--version",
    "M": "--manual", "h": "--help",
}  # fmt: skip
_DATA = {"--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode", "--json"}
# Options used to build the request.
_USED_WITH_VALUE = _DATA | {
    "--request", "--header", "--user", "--cookie", "--user-agent", "--referer", "--url",
    "--max-time", "--oauth2-bearer",
}  # fmt: skip
_USED_FLAGS = {"--get", "--head", "--location", "--insecure", "--compressed", "--location-trusted"}
# Options that only change what cURL prints or how it connects, not the request sent.
_OUTPUT_WITH_VALUE = {
    "--output", "--write-out", "--dump-header", "--cookie-jar", "--stderr", "--trace",
    "--trace-ascii", "--connect-timeout", "--retry", "--retry-delay", "--retry-max-time",
    "--max-redirs", "--limit-rate", "--speed-limit", "--speed-time", "--expect100-timeout",
    "--keepalive-time", "--output-dir", "--proto", "--proto-redir", "--happy-eyeballs-timeout-ms",
}  # fmt: skip
_OUTPUT_FLAGS = {
    "--silent", "--show-error", "--verbose", "--include", "--fail", "--fail-with-body",
    "--fail-early", "--progress-bar", "--no-buffer", "--globoff", "--no-progress-meter",
    "--http1.0", "--http1.1", "--http2", "--http2-prior-knowledge", "--http3", "--tlsv1",
    "--tlsv1.0", "--tlsv1.1", "--tlsv1.2", "--tlsv1.3", "--ipv4", "--ipv6", "--remote-name",
    "--remote-name-all", "--remote-header-name", "--retry-all-errors", "--retry-connrefused",
    "--no-keepalive", "--tcp-nodelay", "--tcp-fastopen", "--path-as-is", "--ssl-no-revoke",
    "--raw", "--no-sessionid", "--no-alpn", "--no-npn", "--styled-output", "--create-dirs",
    "--disallow-username-in-url", "--parallel", "--ssl-reqd", "--ssl",
}  # fmt: skip
# Options that take a value and cannot be honoured here.
_UNSUPPORTED_WITH_VALUE = {
    "--form", "--form-string", "--upload-file", "--proxy", "--proxy-user", "--cert", "--key",
    "--cacert", "--capath", "--cert-type", "--key-type", "--pass", "--config", "--range",
    "--resolve", "--connect-to", "--interface", "--aws-sigv4", "--unix-socket",
    "--abstract-unix-socket", "--time-cond", "--continue-at", "--quote", "--telnet-option",
    "--ftp-port", "--local-port", "--dns-servers", "--doh-url", "--request-target",
    "--variable", "--expand-url", "--expand-data", "--expand-header", "--netrc-file",
    "--hsts", "--alt-svc", "--url-query", "--ciphers", "--pinnedpubkey", "--crlfile",
    "--noproxy", "--proxy-header", "--socks5", "--socks5-hostname", "--preproxy",
}  # fmt: skip
_UNSUPPORTED_FLAGS = {
    "--netrc", "--netrc-optional", "--digest", "--ntlm", "--negotiate", "--anyauth",
    "--basic", "--proxytunnel", "--sslv2", "--sslv3", "--junk-session-cookies", "--list-only",
    "--append", "--use-ascii", "--disable", "--remote-time", "--version", "--manual", "--help",
    "--next", "--proxy-insecure",
}  # fmt: skip
# Headers the HTTP client computes itself: cURL commands copied from browsers carry them.
CLIENT_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "te", "upgrade", "keep-alive"}
)


@dataclass
class _State:
    method: str = ""
    urls: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    removed_headers: set[str] = field(default_factory=set)
    data: list[str] = field(default_factory=list)
    json: bool = False
    get: bool = False
    head: bool = False
    user: str = ""
    bearer: str = ""
    cookies: list[str] = field(default_factory=list)
    user_agent: str = ""
    referer: str = ""
    timeout: float | None = None
    follow: bool = False
    insecure: bool = False
    ignored: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    form: bool = False
    header_options: int = 0


def _expand(words: list[str]) -> list[tuple[str, str | None, str]]:
    """The options as (long name, value or None, as written), and positionals as ("", w, w)."""
    options: list[tuple[str, str | None, str]] = []
    i = 0
    end_of_options = False
    while i < len(words):
        word = words[i]
        i += 1
        if end_of_options or not word.startswith("-") or word == "-":
            options.append(("", word, word))
            continue
        if word == "--":
            end_of_options = True
            continue
        if word.startswith("--"):
            name = word
            if "=" in word and word.split("=", 1)[0] in _USED_WITH_VALUE:
                # Not cURL's syntax, but common in pasted commands: --header=... .
                name, value = word.split("=", 1)
                options.append((name, value, name))
                continue
            if name.startswith("--no-") and name[5:] and f"--{name[5:]}" in _USED_FLAGS:
                options.append((name, None, word))  # --no-location and the like
                continue
            if _takes_value(name):
                if i >= len(words):
                    raise CurlError(f"{word} needs a value after it.")
                options.append((name, words[i], word))
                i += 1
            else:
                options.append((name, None, word))
            continue
        # Short options, possibly several in one word (-sSL) or with the value attached
        # (-XPOST, -H'Accept: x').
        j = 1
        while j < len(word):
            letter = word[j]
            if letter in _SHORT_WITH_VALUE:
                long = _SHORT_WITH_VALUE[letter]
                value = word[j + 1 :]
                if not value:
                    if i >= len(words):
                        raise CurlError(f"-{letter} needs a value after it.")
                    value = words[i]
                    i += 1
                options.append((long, value, f"-{letter}"))
                break
            if letter in _SHORT_FLAGS:
                options.append((_SHORT_FLAGS[letter], None, f"-{letter}"))
            else:
                options.append((f"-{letter}", None, f"-{letter}"))
            j += 1
    return options


def _takes_value(name: str) -> bool:
    return name in _USED_WITH_VALUE | _OUTPUT_WITH_VALUE | _UNSUPPORTED_WITH_VALUE


def _note_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def parse_curl(command: str) -> ParsedCurl:
    """The request a cURL command sends; CurlError when it cannot be read as one."""
    if len(command) > MAX_COMMAND_CHARS:
        raise CurlError(f"The command is longer than {MAX_COMMAND_CHARS:,} characters.")
    variables: list[str] = []
    words = split_command(command, variables)
    while words and words[0] in {"$", "PS>", ">"}:
        words = words[1:]
    if not words:
        raise CurlError("Paste a cURL command, starting with curl.")
    program = words[0].rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    if program not in {"curl", "curl.exe"}:
        raise CurlError("This is not a cURL command: it does not start with curl.")
    state = _State(variables=variables)
    for name, value, written in _expand(words[1:]):
        _apply(state, name, value, written)
    return _request(state)


def _apply(state: _State, name: str, value: str | None, written: str) -> None:
    if name == "":
        assert value is not None
        state.urls.append(value)
    elif name == "--url":
        state.urls.append(value or "")
    elif name == "--request":
        state.method = (value or "").strip().upper()
    elif name == "--header":
        _header(state, value or "", written)
    elif name in _DATA:
        _data(state, name, value or "", written)
    elif name == "--get":
        state.get = True
    elif name == "--head":
        state.head = True
    elif name == "--user":
        state.user = value or ""
    elif name == "--oauth2-bearer":
        state.bearer = value or ""
    elif name == "--cookie":
        if "=" in (value or ""):
            state.cookies.append((value or "").strip())
        else:
            _note_once(state.unsupported, f"{written} {value} (a cookie file)")
    elif name == "--user-agent":
        state.user_agent = value or ""
    elif name == "--referer":
        state.referer = (value or "").removesuffix(";auto")
    elif name == "--max-time":
        try:
            state.timeout = float(value or "")
        except ValueError:
            raise CurlError(f"{written} takes a number of seconds.") from None
        if state.timeout <= 0:
            raise CurlError(f"{written} takes a number of seconds above 0.")
    elif name in {"--location", "--location-trusted"}:
        state.follow = True
    elif name == "--no-location":
        state.follow = False
    elif name == "--insecure":
        state.insecure = True
    elif name == "--compressed":
        pass  # the HTTP client asks for compressed bodies and decodes them itself
    elif name in {"--form", "--form-string"}:
        state.form = True  # a multipart POST, which cannot be rebuilt here
        _note_once(state.unsupported, f"{written} (multipart form)")
    elif name in _OUTPUT_WITH_VALUE or name in _OUTPUT_FLAGS:
        _note_once(state.ignored, written)
    else:
        _note_once(state.unsupported, written)


def _ordinal(state: _State, written: str) -> str:
    """Which header option, without its value (which may be a credential): "The 2nd -H"."""
    number = state.header_options
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number if number < 20 else number % 10, "th")
    return f"The {number}{suffix} {written}"


def _header(state: _State, value: str, written: str) -> None:
    state.header_options += 1
    if value.startswith("@"):
        _note_once(state.unsupported, f"{written} {value} (headers from a file)")
        return
    name, sep, rest = value.partition(":")
    name = name.strip()
    if not sep:
        if name.endswith(";") and name[:-1].strip():  # "Name;" sends it with no value
            state.headers.append((name[:-1].strip(), ""))
            return
        raise CurlError(f"{_ordinal(state, written)} is not a header: write it as 'Name: value'.")
    if not name:
        raise CurlError(f"{_ordinal(state, written)} has no header name.")
    if not rest.strip():  # "Name:" removes a header cURL would send
        state.removed_headers.add(name.lower())
        return
    state.headers.append((name, rest.strip()))


def _data(state: _State, name: str, value: str, written: str) -> None:
    if name == "--json":
        state.json = True
    if name == "--data-urlencode":
        state.data.append(_urlencoded(state, value, written))
        return
    if value.startswith("@") and name != "--data-raw":
        _note_once(
            state.unsupported,
            f"{written} {value} (a body read from a file: paste the body itself)",
        )
        return
    state.data.append(value)


def _urlencoded(state: _State, value: str, written: str) -> str:
    """--data-urlencode's forms: content, =content, name=content, @file, name@file."""
    if value.startswith("="):
        return quote_plus(value[1:], safe="")
    name, sep, content = value.partition("=")
    if sep and "@" not in name:
        return f"{name}={quote_plus(content, safe='')}"
    if "@" in value.split("=", 1)[0]:
        _note_once(state.unsupported, f"{written} {value} (content read from a file)")
        return ""
    return quote_plus(value, safe="")


def _has(headers: list[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def _request(state: _State) -> ParsedCurl:
    if not state.urls:
        raise CurlError("The command has no URL.")
    url = state.urls[0].strip()
    if len(state.urls) > 1:
        state.notes.append(f"Only the first URL is sent; {len(state.urls) - 1} more left out.")
    if "://" not in url:
        url = "http://" + url
        state.notes.append("The URL had no scheme: http:// was assumed, as cURL does.")
    data = "&".join(part for part in state.data)
    headers = [(n, v) for n, v in state.headers if n.lower() not in state.removed_headers]
    if state.user:
        user, sep, password = state.user.partition(":")
        if not sep:
            state.notes.append(
                "-u gave a user name without a password (cURL would ask for it): sent with an "
                "empty password."
            )
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    if state.bearer:
        headers.append(("Authorization", f"Bearer {state.bearer}"))
    if state.cookies and not _has(headers, "cookie"):
        headers.append(("Cookie", "; ".join(state.cookies)))
    if state.user_agent and not _has(headers, "user-agent"):
        headers.append(("User-Agent", state.user_agent))
    if state.referer and not _has(headers, "referer"):
        headers.append(("Referer", state.referer))
    body = ""
    if state.get and data:
        parts = urlsplit(url)
        query = f"{parts.query}&{data}" if parts.query else data
        url = urlunsplit(parts._replace(query=query))
    elif data or state.json:
        body = data
        if state.json:
            if not _has(headers, "content-type"):
                headers.append(("Content-Type", "application/json"))
            if not _has(headers, "accept"):
                headers.append(("Accept", "application/json"))
        elif not _has(headers, "content-type"):
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    if state.method:
        method = state.method
    elif state.head:
        method = "HEAD"
    elif body or state.json or state.form:
        method = "POST"
    else:
        method = "GET"
    dropped = sorted({n for n, _ in headers if n.lower() in CLIENT_HEADERS})
    if dropped:
        state.notes.append(
            "Left out, the HTTP client sets them itself: " + ", ".join(dropped) + "."
        )
        headers = [(n, v) for n, v in headers if n.lower() not in CLIENT_HEADERS]
    api_key = ""
    keys = [v for n, v in headers if is_api_key_header(n)]
    if keys:
        headers = [(n, v) for n, v in headers if not is_api_key_header(n)]
        if _VARIABLE.fullmatch(keys[-1]) or _PS_VARIABLE.fullmatch(keys[-1]):
            named = keys[-1].strip("${}").removeprefix("env:")
            state.variables = [v for v in state.variables if v != named]
            state.notes.append(
                f"X-Api-Key is the shell variable {keys[-1]}, whose value is not known here: "
                "give the key in the API key field."
            )
        else:
            api_key = keys[-1]
    if state.variables:
        state.notes.append(
            "The command refers to shell variables ("
            + ", ".join(f"${name}" for name in state.variables)
            + "): their values are not known here, so they are sent as written."
        )
    return ParsedCurl(
        method=method,
        url=url,
        headers=headers,
        body=body,
        api_key=api_key,
        timeout=state.timeout,
        follow_redirects=state.follow,
        insecure=state.insecure,
        ignored=state.ignored,
        unsupported=state.unsupported,
        notes=state.notes,
    )
