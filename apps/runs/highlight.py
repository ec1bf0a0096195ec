"""Response bodies highlighted on the server with Pygments, one line at a time.

The output is only spans with Pygments' short class names (`nt`, `s2`, …), coloured by the
site's stylesheet: no inline style, so the Content-Security-Policy stays strict. Every piece
of text is escaped: a body is untrusted and never rendered as HTML.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygments.lexer import Lexer
from pygments.lexers import HtmlLexer, JsonLexer, XmlLexer
from pygments.token import STANDARD_TYPES, _TokenType

# Past this many characters a body is shown as plain lines: highlighting costs more than it helps.
HIGHLIGHT_MAX_CHARS = 200_000


def lexer_for(content_type: str, *, is_json: bool) -> Lexer | None:
    """The lexer of a body's media type, or None for plain text."""
    if is_json or content_type.endswith("json"):
        return JsonLexer()
    if content_type in ("text/html", "application/xhtml+xml"):
        return HtmlLexer()
    if content_type.endswith("xml"):
        return XmlLexer()
    return None


def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES and token.parent is not None:
        token = token.parent
    return STANDARD_TYPES.get(token, "")


def highlighted_lines(text: str, content_type: str, *, is_json: bool) -> list[SafeString]:
    """The body's lines as escaped HTML, tokens wrapped in classed spans (no newlines)."""
    lexer = lexer_for(content_type, is_json=is_json)
    if lexer is None or len(text) > HIGHLIGHT_MAX_CHARS:
        return [mark_safe(escape(line)) for line in text.split("\n")]  # noqa: S308 (escaped)
    lexer.stripnl = False
    lexer.ensurenl = False
    lines: list[list[str]] = [[]]
    for token, value in lexer.get_tokens(text):
        css = _css_class(token)
        for index, part in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if part:
                lines[-1].append(
                    f'<span class="{css}">{escape(part)}</span>' if css else escape(part)
                )
    return [mark_safe("".join(parts)) for parts in lines]  # noqa: S308 (every part escaped)


def folded_lines(
    *, head: str, rest: str, content_type: str, is_json: bool
) -> tuple[list[SafeString], list[SafeString]]:
    """The lines shown at once and the lines folded away, highlighted as one text (a token
    may span the fold), folded at the line boundary nearest the shown part's end."""
    text = head + rest
    if text.endswith("\n"):
        text = text[:-1]
    lines = highlighted_lines(text, content_type, is_json=is_json)
    shown = len(lines) if not rest else max(1, head.count("\n"))
    return lines[:shown], lines[shown:]
