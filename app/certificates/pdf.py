"""The certificate as a PDF (A4) with a Japanese font embedded.

reportlab draws it: a well-kept PDF library without a browser or system libraries, which
embeds (subsets) a TrueType font. Noto CJK is OpenType with CFF outlines, which reportlab
cannot embed, so the font is IPAex Gothic from Debian's fonts-ipaexfont-gothic (installed
by `make run`: scripts/install-fonts.sh), or the TTF named by CERTIFICATE_FONT. The QR
code is drawn as vector squares from segno's matrix, sharp at any printer resolution."""
from __future__ import annotations

import io
import os

from flask import current_app
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from . import document

DEFAULT_FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
FONT_NAME = "IPAexGothic"


class FontMissing(RuntimeError):
    """The Japanese font is not installed: the PDF cannot be made."""


def _font() -> str:
    path = current_app.config.get("CERTIFICATE_FONT") or DEFAULT_FONT
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        if not os.path.exists(path):
            raise FontMissing(path)
        pdfmetrics.registerFont(TTFont(FONT_NAME, path))
    return FONT_NAME


def _wrap(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most `width` points: Japanese breaks between any two characters."""
    lines, line = [], ""
    for ch in text:
        if c.stringWidth(line + ch, font, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return lines + [line] if line else lines


def render(statement: dict, url: str, certificate_id: str, revoked: bool) -> bytes:
    font = _font()
    buf = io.BytesIO()
    page_w, page_h = A4
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle(f"{statement['title']} {statement['member']['name']}")
    c.setAuthor(statement["issuer_name"])
    left, width = 25 * mm, page_w - 50 * mm
    y = page_h - 40 * mm
    c.setFont(font, 28)
    c.drawCentredString(page_w / 2, y, statement["title"])
    y -= 20 * mm
    c.setFont(font, 16)
    c.drawString(left, y, f"{statement['member']['name']} 殿")
    y -= 14 * mm
    c.setFont(font, 12)
    for line in _wrap(c, document.lead(statement), font, 12, width):
        c.drawString(left, y, line)
        y -= 7 * mm
    y -= 5 * mm
    label_w = 45 * mm
    c.setFont(font, 11)
    for label, value in document.rows(statement):
        lines = _wrap(c, value, font, 11, width - label_w - 4 * mm) or [""]
        height = 7 * mm * len(lines) + 3 * mm
        c.rect(left, y - height + 5 * mm, width, height)
        c.drawString(left + 2 * mm, y, label)
        for i, line in enumerate(lines):
            c.drawString(left + label_w, y - i * 7 * mm, line)
        y -= height
    y -= 12 * mm
    c.setFont(font, 12)
    c.drawString(left, y, document.issued_line(statement))
    y -= 9 * mm
    c.setFont(font, 14)
    c.drawString(left, y, statement["issuer_name"])
    if revoked:
        c.setFont(font, 20)
        c.setFillColorRGB(0.7, 0, 0)
        c.drawCentredString(page_w / 2, page_h - 52 * mm, "この証明書は失効しています")
        c.setFillColorRGB(0, 0, 0)
    # The verification block at the foot: QR code, then the URL and the certificate number.
    qr = document.qr(url)
    size = 30 * mm
    cell = size / (len(qr.matrix) + 8)       # the quiet zone of 4 modules on each side
    qx, qy = left, 22 * mm
    for r, row in enumerate(qr.matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(qx + (col + 4) * cell, qy + size - (r + 5) * cell, cell, cell, stroke=0, fill=1)
    c.setFont(font, 9)
    tx = left + size + 5 * mm
    c.drawString(tx, qy + size - 10 * mm, "この証明書の真正性と有効性は、次のURLまたはQRコードで確認できます。")
    c.drawString(tx, qy + size - 15 * mm, url)
    c.linkURL(url, (tx, qy + size - 16 * mm, tx + c.stringWidth(url, font, 9), qy + size - 12 * mm))
    c.drawString(tx, qy + size - 20 * mm, f"証明書番号 {certificate_id}")
    c.showPage()
    c.save()
    return buf.getvalue()
