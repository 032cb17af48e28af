"""Files with known text, drawn at test time (Pillow): a photo of a receipt, a scanned PDF (pages that
are pictures), a PDF with a text layer, and one that mixes both, for the OCR tests."""

from __future__ import annotations

import io
import zlib

from PIL import Image, ImageDraw, ImageFont

Page = str | list[str] | Image.Image  # a text-layer page (its lines), or a scanned page (its picture)


def picture(lines: list[str], *, size: int = 44, width: int = 1100, image_format: str = "PNG",
            rotate: int = 0) -> bytes:
    """Black text on white, one line under the other, as `image_format` bytes."""
    return encode(drawing(lines, size=size, width=width).rotate(rotate, expand=True), image_format)


def drawing(lines: list[str], *, size: int = 44, width: int = 1100) -> Image.Image:
    font = ImageFont.load_default(size=size)
    line_height = int(size * 1.6)
    image = Image.new("RGB", (width, line_height * len(lines) + 2 * size), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((size, size + number * line_height), line, fill="black", font=font)
    return image


def encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


def scanned_pdf(*pages: list[str]) -> bytes:
    """A PDF whose pages are pictures of text (no text layer), as a scanner makes them (Pillow's PDF writer)."""
    images = [drawing(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(*pages: Page) -> bytes:
    """A PDF, written by hand: a page of text lines gets a real text layer (Helvetica), a picture a scanned page."""
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(header: str, data: bytes) -> int:
        return add(f"<< {header} /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream")

    catalog = add(b"")  # filled in below
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for page in pages:
        if isinstance(page, Image.Image):
            gray = page.convert("L")
            image = stream(f"/Type /XObject /Subtype /Image /Width {gray.width} /Height {gray.height} "
                           "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                           zlib.compress(gray.tobytes()))
            height = round(612 * gray.height / gray.width)
            content = stream("", f"q 612 0 0 {height} 0 0 cm /Im1 Do Q".encode())
            resources = f"/XObject << /Im1 {image} 0 R >>"
            box = f"0 0 612 {height}"
        else:
            lines = [page] if isinstance(page, str) else page
            text = " T* ".join(f"({_escape(line)}) Tj" for line in lines)
            content = stream("", f"BT /F1 14 Tf 20 TL 72 720 Td {text} ET".encode("latin-1"))
            resources = f"/Font << /F1 {font} 0 R >>"
            box = "0 0 612 792"
        kids.append(add(f"<< /Type /Page /Parent {tree} 0 R /MediaBox [{box}] /Resources << {resources} >> "
                        f"/Contents {content} 0 R >>".encode()))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()
    objects[tree - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                         f"/Count {len(kids)} >>").encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
