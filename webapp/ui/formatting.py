"""A message's text as its bubble shows it: WhatsApp's formatting (*bold*, _italic_, ~strike~,
```monospace```), links, e-mail addresses and phone numbers made clickable, everything else escaped.

Only http(s), mailto: and tel: links are made, each opening in a new tab without an opener or a
referrer; the text itself is never trusted as HTML."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# What counts as a link, an address or a number inside a message.
URL = r"(?:https?://|www\.)[^\s<>\"']+"
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
PHONE = r"(?<![\w/+.-])\+?\d[\d -]{5,18}\d(?![\w-])"
LINKISH = re.compile(f"(?P<url>{URL})|(?P<email>{EMAIL})|(?P<phone>{PHONE})", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
MONOSPACE = re.compile(r"```(.+?)```", re.DOTALL)
# WhatsApp's markers: around text that starts and ends with a non-space, not inside a word.
STYLES = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
]
LONG = 700  # characters: a longer message folds, with "Read more"


def _link(href: str, text: str) -> str:
    tab = ' target="_blank"' if href.startswith("http") else ""
    return f'<a href="{escape(href)}"{tab} rel="noopener noreferrer">{escape(text)}</a>'


def _styled(text: str) -> str:
    html = str(escape(text))
    for pattern, tag in STYLES:
        html = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", html)
    return html


def _linked(text: str) -> str:
    """Text with its links, addresses and numbers as anchors, and the rest styled."""
    out: list[str] = []
    at = 0
    for match in LINKISH.finditer(text):
        found = match.group(0)
        kind = match.lastgroup
        if kind == "url":
            found = found.rstrip(TRAILING)
            href = found if found.lower().startswith(("http://", "https://")) else f"https://{found}"
            anchor = _link(href, found)
        elif kind == "email":
            anchor = _link(f"mailto:{found}", found)
        else:
            digits = re.sub(r"\D", "", found)
            if not 7 <= len(digits) <= 15 or (not found.startswith("+") and len(digits) < 10):
                continue  # a date, an amount, an order number: not a phone number
            anchor = _link(f"tel:+{digits}" if found.startswith("+") else f"tel:{digits}", found)
        start, end = match.start(), match.start() + len(found)
        out.append(_styled(text[at:start]))
        out.append(anchor)
        at = end
    out.append(_styled(text[at:]))
    return "".join(out)


def rich_text(text: str | None) -> Markup:
    """The HTML of a message's text (safe to print as is)."""
    text = text or ""
    out: list[str] = []
    at = 0
    for match in MONOSPACE.finditer(text):
        out.append(_linked(text[at:match.start()]))
        out.append(f"<code>{escape(match.group(1))}</code>")
        at = match.end()
    out.append(_linked(text[at:]))
    return Markup("".join(out))  # every piece above was escaped


def is_long(text: str | None) -> bool:
    return len(text or "") > LONG or (text or "").count("\n") > 15
