"""Reading the text of a file, with no database: a PDF's text layer (pypdf), and Tesseract's OCR
(pytesseract, Debian's `tesseract-ocr`) for pictures and for PDF pages without a text layer (a scan),
rendered to a picture first (pypdfium2).

A whole reading stays within a time budget (a job is stopped after 60 s): pages left when it runs
out, or past `max_pages`, are not read, and the result says how many were."""

from __future__ import annotations

import io
import os
import re
import time
import warnings
from dataclasses import dataclass
from functools import cache

import pypdfium2
import pytesseract
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

PDF, IMAGE = "pdf", "image"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/bmp"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
MAX_TEXT = 100_000  # characters kept; a longer text is cut (and marked truncated)
MIN_LAYER_CHARS = 3  # a page whose text layer has fewer letters or digits is read as a picture
RENDER_DPI = 200  # a scanned page is rendered at this resolution for Tesseract…
MAX_RENDER_SIDE = 3500  # …its longest side at most this many pixels (a huge page is not a huge bitmap)
MIN_OCR_SIDE = 1000  # a smaller picture is enlarged twice: Tesseract reads small type badly
BUDGET_SECONDS = 40.0
MAX_PIXELS = 60_000_000  # a larger picture is refused (a decompression bomb, not a photo)


class Unreadable(Exception):
    """The file cannot be read (damaged, password-protected, not what its type says); a person can read why."""


@dataclass(frozen=True)
class Extract:
    text: str
    language: str  # Tesseract's languages used ("" when only a text layer was read)
    pages: int  # pages in the file (1 for a picture)
    pages_read: int
    method: str  # "text" (a PDF's text layer), "ocr", "text+ocr", or "" (nothing to read)
    truncated: bool  # pages or characters were left out


def kind_of(mime_type: str | None, data: bytes | None = None) -> str | None:
    """PDF, IMAGE, or None (not a file this reads)."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime in PDF_TYPES:
        return PDF
    if mime in IMAGE_TYPES:
        return IMAGE
    if data is not None and data.startswith(b"%PDF-"):
        return PDF
    return None


@cache
def installed_languages() -> frozenset[str]:
    """The languages Tesseract has data for (asked once per process)."""
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return frozenset()


def usable_languages(wanted: str) -> str:
    """The wanted languages ("eng+deu") Tesseract has; Unreadable naming the missing ones when it has none."""
    installed = installed_languages()
    if not installed:
        raise Unreadable("Tesseract is not installed (Debian's tesseract-ocr package).")
    codes = [code for code in wanted.split("+") if code]
    usable = [code for code in codes if code in installed]
    if not usable:
        missing = ", ".join(codes)
        raise Unreadable(f"Tesseract has no data for {missing} (install tesseract-ocr-{codes[0]}).")
    return "+".join(usable)


def tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, no form feeds."""
    lines = [line.rstrip() for line in text.replace("\f", "\n").replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _has_words(text: str) -> bool:
    return sum(ch.isalnum() for ch in text) >= MIN_LAYER_CHARS


class _Reader:
    def __init__(self, languages: str, budget: float) -> None:
        self.wanted = languages
        self.deadline = time.monotonic() + budget
        self.used = ""

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def ocr(self, picture: Image.Image) -> str:
        languages = usable_languages(self.wanted)
        self.used = languages
        picture = picture.convert("L")
        if max(picture.size) < MIN_OCR_SIDE:
            picture = picture.resize((picture.width * 2, picture.height * 2), Image.Resampling.LANCZOS)
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per reading: the machine is shared
        try:
            return str(pytesseract.image_to_string(picture, lang=languages, timeout=max(self.left(), 1.0)))
        except pytesseract.TesseractNotFoundError:
            raise Unreadable("Tesseract is not installed (Debian's tesseract-ocr package).") from None
        except pytesseract.TesseractError as exc:
            raise Unreadable(f"Tesseract could not read the picture: {exc.message or exc}".strip()) from None
        except RuntimeError as exc:  # pytesseract's timeout (TesseractError, above, is one too)
            raise TimeoutError(str(exc)) from None


def _open_picture(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            if picture.width * picture.height > MAX_PIXELS:
                raise Unreadable(f"The picture is too large to read ({picture.width}×{picture.height} pixels).")
            picture.seek(0)  # an animated picture: its first frame
            picture.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable("The picture is too large to read.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise Unreadable(f"The picture cannot be opened: {exc}") from None
    return ImageOps.exif_transpose(picture)  # a photo taken sideways, upright


def _read_image(data: bytes, reader: _Reader) -> Extract:
    picture = _open_picture(data)
    try:
        text = tidy(reader.ocr(picture))
    except TimeoutError:
        raise Unreadable("Reading the picture took too long.") from None
    return _finish(text, reader.used, pages=1, pages_read=1, methods={"ocr"}, truncated=False)


def _render(document: pypdfium2.PdfDocument, index: int) -> Image.Image:
    page = document[index]
    width, height = page.get_size()  # points: 1/72 inch
    scale = min(RENDER_DPI / 72, MAX_RENDER_SIDE / max(width, height, 1))
    return page.render(scale=scale, grayscale=True).to_pil()


def _read_pdf(data: bytes, reader: _Reader, max_pages: int) -> Extract:
    try:
        pdf = PdfReader(io.BytesIO(data))
        if pdf.is_encrypted and not pdf.decrypt(""):
            raise Unreadable("The PDF is protected by a password.")
        total = len(pdf.pages)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unreadable(f"The PDF cannot be opened: {exc}") from None
    texts: list[str] = []
    methods: set[str] = set()
    rendered: pypdfium2.PdfDocument | None = None
    read = 0
    try:
        for index in range(min(total, max_pages)):
            if reader.left() <= 0:
                break
            try:
                layer = pdf.pages[index].extract_text() or ""
            except Exception:
                layer = ""
            if _has_words(layer):
                texts.append(tidy(layer))
                methods.add("text")
                read += 1
                continue
            if rendered is None:
                try:
                    rendered = pypdfium2.PdfDocument(data)
                except pypdfium2.PdfiumError as exc:
                    raise Unreadable(f"The PDF's pages cannot be rendered: {exc}") from None
            try:
                texts.append(tidy(reader.ocr(_render(rendered, index))))
            except TimeoutError:
                break
            methods.add("ocr")
            read += 1
    finally:
        if rendered is not None:
            rendered.close()
    text = "\n\n".join(t for t in texts if t)
    return _finish(text, reader.used, pages=total, pages_read=read, methods=methods, truncated=read < total)


def _finish(text: str, language: str, *, pages: int, pages_read: int, methods: set[str], truncated: bool) -> Extract:
    if len(text) > MAX_TEXT:
        text, truncated = text[:MAX_TEXT], True
    method = "+".join(m for m in ("text", "ocr") if m in methods)
    return Extract(text=text, language=language, pages=pages, pages_read=pages_read, method=method,
                   truncated=truncated)


def extract(data: bytes, kind: str, *, languages: str, max_pages: int = 20,
            budget: float = BUDGET_SECONDS) -> Extract:
    """The text of a PDF or a picture (`kind`: PDF or IMAGE); Unreadable when it cannot be read."""
    reader = _Reader(languages, budget)
    if kind == PDF:
        return _read_pdf(data, reader, max_pages)
    if kind == IMAGE:
        return _read_image(data, reader)
    raise Unreadable(f"Not a PDF or a picture: {kind!r}.")
