"""Printable documents: HTML laid out on A4 pages and written as a PDF, by Qt itself.

Qt's rich-text engine does tables, headings and embedded images, which is what an
audit trail or a run report needs, and it needs no other library. Works headless: the
command line calls it with the offscreen platform.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument


def ensure_gui_application() -> QGuiApplication:
    """The running application, or a new offscreen one for the command line (text
    layout needs fonts, which need a QGuiApplication)."""
    app = QGuiApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication(["ald-gui"])
    assert isinstance(app, QGuiApplication)
    return app


def html_to_pdf(html: str, path: Path, *, title: str = "") -> None:
    """Write ``html`` to ``path`` as an A4 PDF (portrait, 15 mm margins), written to a
    temporary name first so a failed write leaves no partial file under ``path``."""
    ensure_gui_application()
    partial = path.with_name(path.name + ".partial")
    writer = QPdfWriter(str(partial))
    writer.setTitle(title)
    writer.setCreator("ald-gui")
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    document = QTextDocument()
    document.setHtml(html)
    try:
        document.print_(writer)
        del writer  # closes the file
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
