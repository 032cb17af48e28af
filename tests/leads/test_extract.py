"""Contact details and buying words in a customer's message (pure)."""

from __future__ import annotations

from webapp.leads import extract

RAVI = "919937320320"  # India
MARIA = "5215512345678"  # Mexico


def test_emails_are_found_validated_and_normalised() -> None:
    text = "Write to Ravi.K@Example.COM or (ravi@work.example.in). Not: foo@bar, @x.com, a@b..c; ravi.k@example.com"
    assert extract.emails(text) == ["Ravi.K@example.com", "ravi@work.example.in", "ravi.k@example.com"]
    assert extract.emails("no email here, just @mentions") == []


def test_phone_numbers_are_read_in_the_customers_country_and_exclude_their_own() -> None:
    assert extract.phone_numbers("call my office 022 2778 1234 or +44 20 7946 0958", RAVI) == [
        "+912227781234", "+442079460958"]
    assert extract.phone_numbers("my number is +91 99373 20320", RAVI) == []  # their own WhatsApp number
    assert extract.phone_numbers("llámame al 55 1234 5679", MARIA) == ["+525512345679"]
    assert extract.phone_numbers("order 12345 arrives 2025-08-05", RAVI) == []


def test_intent_in_four_languages_and_none_in_small_talk() -> None:
    for words in ("What's the price?", "¿Cuál es el precio?", "Quero um orçamento", "इसकी कीमत क्या है?",
                  "I want to BUY two", "cotización por favor"):
        assert extract.shows_intent(words), words
    for words in ("hi", "thanks!", "where are you?", "ok see you"):
        assert not extract.shows_intent(words), words
