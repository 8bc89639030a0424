"""Small HTML building blocks for a self-contained report: no network, images inlined as data URIs."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

__all__ = ["Figure", "Section", "df_table", "figure_html", "markdown_html", "page"]

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;line-height:1.5}
header{background:#12344d;color:#fff;padding:1.5rem 2rem}header h1{margin:0 0 .3rem 0;font-size:1.6rem}
header p{margin:0;opacity:.85}
nav{position:fixed;top:0;left:0;bottom:0;width:16rem;overflow-y:auto;background:#f3f5f7;border-right:1px solid #dde;
padding:1rem;font-size:.9rem}nav a{color:#12344d;text-decoration:none;display:block;padding:.15rem 0}
nav a.sub{padding-left:1rem;font-size:.85rem}main{margin-left:18rem;padding:1rem 2rem 4rem 2rem;max-width:72rem}
section{border-bottom:1px solid #e4e7ea;padding-bottom:1rem}h2{color:#12344d;margin-top:2rem}h3{color:#234}
table{border-collapse:collapse;margin:.5rem 0 1rem 0;font-size:.85rem}
th,td{border:1px solid #d5dae0;padding:.25rem .5rem;text-align:right}
th{background:#eef1f4}td.l,th.l{text-align:left}tr.best td{background:#eaf6ea;font-weight:600}
figure{margin:1rem 0;padding:.5rem;border:1px solid #e4e7ea;background:#fff}figure img{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#445;margin-top:.4rem}.note{background:#fff8e5;border-left:4px solid #e0a800;
padding:.5rem 1rem;margin:1rem 0}.ok{color:#1a7f37;font-weight:600}.missing{color:#b42318;font-weight:600}
.muted{color:#667}code{background:#f3f5f7;padding:0 .2rem}
@media print{nav{display:none}main{margin-left:0}}
"""


@dataclass
class Figure:
    """An image file with the caption that says what to read from it."""

    path: Path
    caption: str
    title: str = ""


@dataclass
class Section:
    """One section of the report; ``subsections`` appear indented in the table of contents."""

    id: str
    title: str
    body: str
    subsections: list[Section] = field(default_factory=list)

    def render(self, level: int = 2) -> str:
        inner = "".join(s.render(level + 1) for s in self.subsections)
        return f'<section id="{self.id}"><h{level}>{html.escape(self.title)}</h{level}>{self.body}{inner}</section>'


def figure_html(figure: Figure) -> str:
    """An inlined image (PNG/SVG/JPEG as a data URI) with its caption; missing files say so."""
    path = Path(figure.path)
    if not path.exists():
        return f'<p class="muted">Figure not available: {html.escape(path.name)}</p>'
    kind = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}.get(
        path.suffix.lower(), "application/octet-stream"
    )
    data = base64.b64encode(_compact(path)).decode("ascii")
    title = f"<strong>{html.escape(figure.title)}.</strong> " if figure.title else ""
    alt = html.escape(figure.title or path.stem)
    return (
        f'<figure><img alt="{alt}" src="data:{kind};base64,{data}">'
        f"<figcaption>{title}{html.escape(figure.caption)}</figcaption></figure>"
    )


#: PNGs above this size are re-encoded with an adaptive 256-colour palette (plots lose nothing visible)
COMPACT_ABOVE_BYTES = 40_000


def _compact(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix.lower() != ".png" or len(raw) <= COMPACT_ABOVE_BYTES:
        return raw
    import io

    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        buffer = io.BytesIO()
        palette.save(buffer, format="PNG", optimize=True)
    small = buffer.getvalue()
    return small if len(small) < len(raw) else raw


def df_table(
    frame: pd.DataFrame,
    *,
    digits: int = 3,
    left: tuple[str, ...] = (),
    highlight: str | None = None,
    max_rows: int = 400,
) -> str:
    """A DataFrame as an HTML table; numbers rounded to *digits* significant places."""
    if frame.empty:
        return '<p class="muted">(no rows)</p>'
    shown = frame.head(max_rows)
    head = "".join(f'<th class="{"l" if c in left else ""}">{html.escape(str(c))}</th>' for c in shown.columns)
    rows = []
    for _, record in shown.iterrows():
        cells = []
        for column in shown.columns:
            value = record[column]
            css = "l" if column in left or not isinstance(value, int | float) else ""
            cells.append(f'<td class="{css}">{html.escape(_fmt(value, digits))}</td>')
        best = highlight is not None and bool(record.get(highlight, False))
        rows.append(f'<tr class="{"best" if best else ""}">{"".join(cells)}</tr>')
    more = f'<p class="muted">… {len(frame) - max_rows} more rows in the CSV file</p>' if len(frame) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _fmt(value: object, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def markdown_html(text: str) -> str:
    """CommonMark (with tables) to HTML; raw HTML in the input is escaped."""
    return _MD.render(text)


def page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole self-contained page: header, table of contents, sections."""
    toc = []
    for section in sections:
        toc.append(f'<a href="#{section.id}">{html.escape(section.title)}</a>')
        toc.extend(f'<a class="sub" href="#{s.id}">{html.escape(s.title)}</a>' for s in section.subsections)
    body = "".join(s.render() for s in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f'<nav aria-label="Contents"><strong>Contents</strong>{"".join(toc)}</nav>'
        f"<main><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>{body}</main>"
        "</body></html>"
    )
