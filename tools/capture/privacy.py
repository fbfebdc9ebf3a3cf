"""Masking what must never be captured: before each screenshot the text of password, card, e-mail, address
and phone fields is hidden (their values are left untouched), and shown again right after. The shop's live
"Recommended for you" panel is hidden too: the agent's own output is no evidence of the shopper's taste.

Personal details the page itself shows (a greeting with the shopper's name, a delivery address, an e-mail
address) are found in the frame's text layer and blurred in its screenshot before it is stored
(``redact_personal_details``)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence

from PIL import Image, ImageFilter

from tools.lines import ScreenLine

# Inputs and text areas whose content is sensitive, by type, autocomplete token or a telling name/id.
SENSITIVE_SELECTORS = ", ".join([
    "input[type=password]", "input[type=email]", "input[type=tel]",
    "input[autocomplete^=cc-]", "input[autocomplete*=email]", "input[autocomplete*=address]",
    "input[autocomplete*=postal]", "input[autocomplete*=tel]", "textarea[autocomplete*=address]",
    "input[name*=card i]", "input[id*=card i]", "input[name*=cvv i]", "input[name*=cvc i]",
    "input[name*=email i]", "input[id*=email i]", "input[name*=address i]", "input[id*=address i]",
    "textarea[name*=address i]", "textarea[id*=address i]", "input[name*=phone i]", "input[name*=zip i]",
    "input[name*=postcode i]", "input[name*=pin i]",
])
STYLE_ID = "interarec-privacy-mask"

# Transparent text, no caret, no placeholder-like shadows: the field renders as if empty.
MASK = f"""(() => {{
  if (!document.documentElement || document.getElementById('{STYLE_ID}')) return 0;
  const style = document.createElement('style');
  style.id = '{STYLE_ID}';
  style.textContent = `{SENSITIVE_SELECTORS} {{ color: transparent !important; caret-color: transparent !important;
    text-shadow: none !important; -webkit-text-fill-color: transparent !important; }}
    [data-interarec-panel] {{ visibility: hidden !important; }}`;
  document.documentElement.appendChild(style);
  return document.querySelectorAll(`{SENSITIVE_SELECTORS}`).length;
}})()"""
UNMASK = f"""(() => {{ const s = document.getElementById('{STYLE_ID}'); if (s) s.remove(); }})()"""


# -- personal details shown by the page itself ------------------------------------------------------------------
# Logged-in shops greet the shopper by name and show where they deliver ("Hello, Jane", "Deliver to Jane Doe
# London NW1"), in the header of every page. Such runs of the text layer, with the runs that continue them, are
# blurred in the screenshot and dropped from the text layer before anything is stored. The patterns are generic
# (no shop's markup), in English, German, French, Spanish and Italian.
_GREETINGS = ("hello", "hi", "hey", "hiya", "welcome back", "hallo", "guten tag", "guten morgen", "guten abend",
              "moin", "servus", "willkommen zurück", "bonjour", "bonsoir", "salut", "bon retour", "hola", "buenas",
              "buenos días", "bienvenido de nuevo", "bienvenida de nuevo", "ciao", "salve", "buongiorno",
              "buonasera", "bentornato", "bentornata")
# Labels followed by a name or an address (anything after them is personal, and so is the run below).
_ADDRESS_LABELS = ("deliver to", "delivering to", "ship to", "shipping to", "send to", "signed in as",
                   "logged in as", "liefern an", "lieferung an", "versand an", "lieferadresse", "angemeldet als",
                   "eingeloggt als", "livrer à", "livraison à", "expédier à", "connecté en tant que",
                   "connectée en tant que", "enviar a", "entregar a", "envío a", "conectado como", "conectada como",
                   "consegna a", "spedire a", "spedizione a", "accesso effettuato come", "connesso come")
# Account labels count only with a colon ("Your account: Jane Doe"): "My account" alone is a menu link.
_ACCOUNT_LABELS = ("your account", "my account", "account", "dein konto", "ihr konto", "mein konto", "konto",
                   "votre compte", "mon compte", "compte", "tu cuenta", "mi cuenta", "cuenta", "il tuo account",
                   "il mio account")


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_GREETING = re.compile(rf"^\W*(?:{_alternatives(_GREETINGS)})(?P<sep>\s*[,!]|\s+|$)(?P<rest>.*)$", re.I | re.S)
_ADDRESS = re.compile(rf"^\W*(?:{_alternatives(_ADDRESS_LABELS)})(?!\w)\s*:?(?P<rest>.*)$", re.I | re.S)
_ACCOUNT = re.compile(rf"^\W*(?:{_alternatives(_ACCOUNT_LABELS)})\s*:(?P<rest>.*)$", re.I | re.S)
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_PHONES = (
    re.compile(r"\+\d{1,3}[\s./-]?(?:\(\d{1,4}\)[\s./-]?)?\d[\d\s./-]{5,}\d"),  # international: +44 20 7946 0958
    re.compile(r"\b(?:tel|phone|telephone|telefon|téléphone|tél|teléfono|telefono|mobile|mobil|handy|cell)\b\.?"
               r"\s*:?\s*\+?[\d(][\d\s()./-]{5,}\d", re.I),  # a number labelled as one
    re.compile(r"\(\d{3}\)\s?\d{3}[-.\s]\d{4}\b"),  # North American: (555) 123-4567
)
_MIN_PHONE_DIGITS = 8
_MAX_GREETING_CHARS = 60  # a greeting is a short header line, not a paragraph that happens to start with "Hi"
_MAX_NAME_WORDS = 4  # "Hi Jane Doe" without a comma: a short run of capitalised words
_NAME_PARTICLES = {"de", "del", "della", "di", "da", "du", "la", "le", "van", "von", "der", "den", "y"}
_MAX_RUNS = 4  # runs continuing one personal run on its row ("Hello," <b>Jane</b> <b>Doe</b>)
BLUR_PAD_PX = 4
MIN_BLUR_RADIUS_PX = 8.0
REDACTED_PNG_COMPRESSION = 3  # zlib level of a re-encoded frame: level 6's size, about 30% faster (measured)


def _personal_kind(line: ScreenLine) -> tuple[int, bool] | None:
    """For a run showing personal details (a greeting with or without the name in it, an address or account label
    with or without what it labels, an e-mail address, a phone number): how many rows below continue it, and
    whether a run after it on its own row makes those rows not needed ("Hello," <b>Jane</b>). None for others."""
    text = " ".join(line.text.split())
    if _EMAIL.search(text):
        return 0, False
    for pattern in _PHONES:
        if any(sum(c.isdigit() for c in m.group()) >= _MIN_PHONE_DIGITS for m in pattern.finditer(text)):
            return 0, False
    if match := _ADDRESS.match(text):
        return (1 if match["rest"].strip(" ,:;.") else 2), False  # "Deliver to" / "Jane Doe" / "London NW1 6XE"
    if match := _ACCOUNT.match(text):
        return (0 if match["rest"].strip(" ,:;.") else 1), True
    if len(text) > _MAX_GREETING_CHARS or line.itemprop or not (match := _GREETING.match(text)):
        return None  # a product's own property ("Hello Kitty" as its name) is no greeting
    rest = match["rest"].strip(" ,:;.!?")
    if not rest:
        return 1, True  # the name is the next run: on this row, or else just below
    if match["sep"].strip():  # "Hello, Jane", "Hi! Jane", also "Hello, sign in": blurring that costs nothing
        return 0, False
    words = rest.split()
    if len(words) <= _MAX_NAME_WORDS and words[0][0].isupper() and not any(c.isdigit() for c in rest) and all(
            w[0].isupper() or w.casefold() in _NAME_PARTICLES for w in words):
        return 0, False  # "Hi Jane Doe", "Hola María de la Cruz"
    return None


def _same_row(a: ScreenLine, b: ScreenLine) -> bool:
    return min(a.y1, b.y1) - max(a.y0, b.y0) >= 0.5 * min(a.height, b.height)


def _continues(a: ScreenLine, b: ScreenLine) -> bool:
    """``b`` goes on from ``a`` on the same row: it starts right after it."""
    return _same_row(a, b) and a.x1 - 1 <= b.x0 <= a.x1 + max(8.0, 2 * a.height)


def _under(box: tuple[float, float, float, float], b: ScreenLine) -> bool:
    """``b`` is the line just below ``box`` (x0, y0, x1, y1): within most of a line height under it, overlapping it
    horizontally."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    return -0.25 * height <= b.y0 - y1 <= 0.8 * height and b.y_center > y1 and b.x0 < x1 + height and b.x1 > x0 - height


def _row_from(lines: Sequence[ScreenLine], start: int, taken: set[int]) -> list[int]:
    """``start`` and the runs continuing it to the right."""
    row = [start]
    while len(row) < _MAX_RUNS:
        last = lines[row[-1]]
        nxt = [j for j, line in enumerate(lines) if j not in taken and j not in row and _continues(last, line)]
        if not nxt:
            break
        row.append(min(nxt, key=lambda j: lines[j].x0))
    return row


def find_personal_lines(lines: Sequence[ScreenLine]) -> list[int]:
    """Indices of the runs of a text layer that show personal details: greetings with the shopper's name, where
    they deliver to, who is signed in, e-mail addresses and phone numbers, with the runs that continue them (the
    run after "Hello," or "Deliver to" on the same row, and the lines just below a delivery address)."""
    found: set[int] = set()
    for i, line in enumerate(lines):
        if i in found:
            continue
        if (kind := _personal_kind(line)) is None:
            continue
        rows_below, row_suffices = kind
        row = _row_from(lines, i, found)
        found.update(row)
        if row_suffices and len(row) > 1:
            continue  # "Hello," <b>Jane</b>: the name was on the row
        for _ in range(rows_below):
            box = (min(lines[j].x0 for j in row), min(lines[j].y0 for j in row), max(lines[j].x1 for j in row),
                   max(lines[j].y1 for j in row))
            below = [j for j, other in enumerate(lines) if j not in found and _under(box, other)]
            if not below:
                break
            row = _row_from(lines, min(below, key=lambda j: (round(lines[j].y0), lines[j].x0)), found)
            found.update(row)
    return sorted(found)


def blur_boxes(png: bytes, boxes: Iterable[tuple[float, float, float, float]], pad: float = BLUR_PAD_PX) -> bytes:
    """The PNG with each box (x0, y0, x1, y1 in its pixels), padded by ``pad``, blurred beyond reading."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        width, height = image.size
        for x0, y0, x1, y1 in boxes:
            left, top = max(0, math.floor(x0 - pad)), max(0, math.floor(y0 - pad))
            right, bottom = min(width, math.ceil(x1 + pad)), min(height, math.ceil(y1 + pad))
            if right <= left or bottom <= top:
                continue
            region = image.crop((left, top, right, bottom))
            radius = max(MIN_BLUR_RADIUS_PX, (bottom - top) / 2)  # wide enough to merge the glyphs of a line
            image.paste(region.filter(ImageFilter.GaussianBlur(radius)), (left, top))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=REDACTED_PNG_COMPRESSION)
    return out.getvalue()


def redact_personal_details(png: bytes, lines: Sequence[ScreenLine]) -> tuple[bytes, list[ScreenLine], int]:
    """(the PNG with personal runs blurred, the text layer without them, how many runs were redacted); the PNG
    is returned as it came when there is nothing to redact."""
    personal = find_personal_lines(lines)
    if not personal:
        return png, list(lines), 0
    drop = set(personal)
    blurred = blur_boxes(png, [(lines[i].x0, lines[i].y0, lines[i].x1, lines[i].y1) for i in personal])
    return blurred, [line for i, line in enumerate(lines) if i not in drop], len(personal)
