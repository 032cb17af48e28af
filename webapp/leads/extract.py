"""Contact details and buying intent in a customer's words (pure: no database). Emails are checked
with email-validator (syntax only, never the network); phone numbers are found with phonenumbers,
read in the country of the customer's own WhatsApp number."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

EMAIL_CANDIDATE = re.compile(r"[^\s<>()\[\]{},;:\"']+@[^\s<>()\[\]{},;:\"']+\.[^\s<>()\[\]{},;:\"'.]+")

# Words a customer uses when they may buy: English, Spanish, Hindi (Devanagari and romanised), Portuguese.
INTENT_WORDS = (
    "price", "prices", "pricing", "quote", "quotation", "cost", "buy", "purchase", "order", "interested",
    "book", "booking", "demo", "trial", "subscribe", "discount",
    "precio", "precios", "cotizacion", "comprar", "pedido", "interesado", "interesada", "reservar",
    "preco", "precos", "orcamento", "compra", "encomenda",
    "kimat", "keemat", "kharidna", "कीमत", "दाम", "खरीद", "खरीदना", "ऑर्डर",
)


def fold(text: str) -> str:
    """Lower case without accents ("Cotización" → "cotizacion")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c) or ord(c) >= 0x900)


WORD = re.compile(r"[\w\u0900-\u097f]+")


def shows_intent(text: str) -> bool:
    words = set(WORD.findall(fold(text)))
    return any(fold(word) in words for word in INTENT_WORDS)


def emails(text: str) -> list[str]:
    """Valid email addresses in `text`, normalised (the domain lower-cased), in order, once each."""
    found: list[str] = []
    for candidate in EMAIL_CANDIDATE.findall(text):
        candidate = candidate.rstrip(".")
        try:
            normalized = validate_email(candidate, check_deliverability=False).normalized
        except EmailNotValidError:
            continue
        if normalized not in found:
            found.append(normalized)
    return found


def region_of(wa_id: str) -> str | None:
    """The country of a WhatsApp number ("919937320320" → "IN"), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(f"+{wa_id}"))
    except phonenumbers.NumberParseException:
        return None


def e164(wa_id: str) -> str:
    """A WhatsApp id as an E.164 number: "+919937320320"."""
    return f"+{wa_id}"


def phone_numbers(text: str, wa_id: str) -> list[str]:
    """Valid phone numbers in `text` as E.164, in order, once each; a number written without its
    country code is read in the country of the customer's WhatsApp number. Their own number is left out
    (it is already the lead's)."""
    found: list[str] = []
    own = e164(wa_id)
    for match in phonenumbers.PhoneNumberMatcher(text, region_of(wa_id) or "US"):
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if number != own and number not in found:
            found.append(number)
    return found
