"""Documents with OCR: the text of the images and PDFs customers send, read by a job once webapp.media
has stored the file (a PDF's text layer with pypdf, Tesseract for pictures and scanned pages), kept on
the message (`text_extract`) and in a small summary of received files (the Documents page, the chat
search), and announced with MessageTextExtracted (webapp.ocr.events) for the AI and the page."""

from flask import Flask

from ..core import navigation
from .cli import ocr_cli
from .documents import DOCUMENTS, ReceivedFile
from .events import MessageTextExtracted
from .reading import request_reading, subscribe
from .records import extracted_text


def init_app(app: Flask) -> None:
    """`flask ocr read`, and the Documents page (a route of webapp.ui) in the pages' top bar."""
    app.cli.add_command(ocr_cli)
    navigation.add_page(app, "Documents", "ui.documents")


__all__ = ["DOCUMENTS", "MessageTextExtracted", "ReceivedFile", "extracted_text", "init_app", "request_reading",
           "subscribe"]
