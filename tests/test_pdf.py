"""The PDF writer that audit exports and run reports print with."""

from __future__ import annotations

import re
from pathlib import Path

from ald_gui.ui.pdf import html_to_pdf


def test_a_long_table_is_laid_out_on_several_a4_pages_and_no_partial_file_is_left(
    tmp_path: Path,
) -> None:
    rows = "".join(
        f"<tr><td>{i}</td><td>write</td><td>valve_1.valve_state</td></tr>" for i in range(300)
    )
    target = tmp_path / "trail.pdf"
    html_to_pdf(f"<h1>Audit trail</h1><table>{rows}</table>", target, title="Audit trail")

    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages >= 3  # 300 rows do not fit one page
    assert b"/MediaBox [0 0 595" in data  # A4: 595 x 842 points
    assert [p.name for p in tmp_path.iterdir()] == ["trail.pdf"]
