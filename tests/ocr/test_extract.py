"""Reading text from files drawn at test time with known text, through the real Tesseract (Debian's
tesseract-ocr) and the real PDF libraries: a photo, a PDF's text layer, a scanned PDF, a PDF with
both, and the files that cannot be read."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.helpers.documents import drawing, encode, pdf, picture, scanned_pdf
from webapp.ocr.extract import IMAGE, PDF, Unreadable, extract, kind_of, tidy


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_photo_of_a_receipt_is_read_by_tesseract() -> None:
    result = extract(picture(["Receipt 4521", "Blue chair 120.00"], image_format="JPEG"), IMAGE, languages="eng")
    assert words(result.text) == "Receipt 4521 Blue chair 120.00"
    assert (result.method, result.language, result.pages, result.pages_read, result.truncated) == (
        "ocr", "eng", 1, 1, False)


def test_a_photo_taken_sideways_is_read_upright_when_its_exif_says_so() -> None:
    image = drawing(["Invoice 7781 paid"]).rotate(90, expand=True)
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    out = BytesIO()
    image.save(out, "JPEG", exif=exif)
    assert words(extract(out.getvalue(), IMAGE, languages="eng").text) == "Invoice 7781 paid"


def test_a_pdf_text_layer_is_read_exactly_without_ocr() -> None:
    result = extract(pdf(["Order 1042 (two chairs)", "Total: 37.50 EUR"], ["Deliver to MG Road"]), PDF,
                     languages="eng")
    assert result.text == "Order 1042 (two chairs)\nTotal: 37.50 EUR\n\nDeliver to MG Road"
    assert (result.method, result.language, result.pages, result.pages_read) == ("text", "", 2, 2)


def test_scanned_pages_are_rendered_and_read_by_tesseract() -> None:
    result = extract(scanned_pdf(["Bank statement March"], ["Balance 1250.00"]), PDF, languages="eng")
    assert words(result.text) == "Bank statement March Balance 1250.00"
    assert (result.method, result.language, result.pages) == ("ocr", "eng", 2)


def test_a_pdf_with_typed_and_scanned_pages_reads_each_its_own_way() -> None:
    result = extract(pdf(["Delivery note 77"], drawing(["Signed by Ravi Kumar"])), PDF, languages="eng")
    assert words(result.text) == "Delivery note 77 Signed by Ravi Kumar"
    assert result.method == "text+ocr"


def test_pages_past_the_limit_are_left_out_and_said_so() -> None:
    result = extract(pdf(["page one"], ["page two"], ["page three"]), PDF, languages="eng", max_pages=2)
    assert result.text == "page one\n\npage two"
    assert (result.pages, result.pages_read, result.truncated) == (3, 2, True)


def test_a_picture_without_text_reads_as_empty() -> None:
    result = extract(encode(drawing([]), "PNG"), IMAGE, languages="eng")
    assert result.text == "" and result.method == "ocr"


@pytest.mark.parametrize(("data", "kind", "problem"), [
    (b"%PDF-1.4\nnot really a pdf", PDF, "The PDF cannot be opened"),
    (b"\x89PNG\r\n\x1a\nbroken", IMAGE, "The picture cannot be opened"),
    (b"hello", "spreadsheet", "Not a PDF or a picture"),
])
def test_a_damaged_file_is_unreadable_with_a_reason(data: bytes, kind: str, problem: str) -> None:
    with pytest.raises(Unreadable, match=problem):
        extract(data, kind, languages="eng")


def test_a_language_tesseract_has_no_data_for_is_named() -> None:
    with pytest.raises(Unreadable, match="no data for xyz"):
        extract(picture(["Hello"]), IMAGE, languages="xyz")
    # one missing language among others: the installed ones are used
    assert extract(picture(["Hello there"]), IMAGE, languages="xyz+eng").language == "eng"


def test_what_is_read_and_how_text_is_tidied() -> None:
    assert kind_of("application/pdf") == PDF and kind_of("image/jpeg") == IMAGE
    assert kind_of("image/png; charset=binary") == IMAGE
    assert kind_of("application/octet-stream", b"%PDF-1.7") == PDF
    assert kind_of("audio/ogg") is None and kind_of("image/svg+xml") is None
    assert tidy("a  \r\n\n\n\nb\fc  ") == "a\n\nb\nc"
