"""Small HTML building blocks for a self-contained report: no network, images inlined as data URIs."""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

__all__ = ["Figure", "Section", "df_table", "figure_html", "markdown_html", "page"]

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;line-height:1.5}
header{background:#12344d;color:#fff;padding:1.5rem 2rem}header h1{margin:0 0 .3rem 0;font-size:1.6rem}
header p{margin:0;opacity:.85}
nav{position:fixed;top:0;left:0;bottom:0;width:16rem;overflow-y:auto;background:#f3f5f7;border-right:1px solid #dde;
padding:1rem;font-size:.9rem}nav a{color:#12344d;text-decoration:none;display:block;padding:.15rem 0}
nav a.sub{padding-left:1rem;font-size:.85rem}
main{margin-left:17rem;padding:1rem 2rem 4rem 2rem;max-width:76rem;min-width:0;overflow-wrap:anywhere}
section{border-bottom:1px solid #e4e7ea;padding-bottom:1rem}h2{color:#12344d;margin-top:2rem}h3{color:#234}
.table-wrap{max-width:100%;overflow-x:auto;margin:.5rem 0 1rem 0}
table{border-collapse:collapse;font-size:.85rem;overflow-wrap:normal}
th,td{border:1px solid #d5dae0;padding:.25rem .5rem;text-align:right}
th{background:#eef1f4}td.l,th.l{text-align:left}tr.best td{background:#eaf6ea;font-weight:600}
figure{margin:1rem 0;padding:.5rem;border:1px solid #e4e7ea;background:#fff}
img{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#445;margin-top:.4rem}.note{background:#fff8e5;border-left:4px solid #e0a800;
padding:.5rem 1rem;margin:1rem 0}.ok{color:#1a7f37;font-weight:600}.missing{color:#b42318;font-weight:600}
.muted{color:#667}code{background:#f3f5f7;padding:0 .2rem}pre{overflow-x:auto;max-width:100%}
.responses{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:1rem}
article.response{border:1px solid #d5dae0;border-radius:.4rem;padding:0 1rem .5rem 1rem;background:#fbfcfd}
article.response h3{margin:.7rem 0 .3rem 0}.target{margin:.2rem 0;color:#12344d}
.word{display:inline-block;padding:0 .45rem;border-radius:.7rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.word.clear{background:#d8f0de;color:#14532d}.word.about-equal{background:#e3e8f7;color:#1e3a8a}
.word.likely{background:#e6f2ea;color:#1f5135}.word.unclear{background:#fdf0c7;color:#713f12}
.word.not-assessed{background:#eceff2;color:#445}
dl.words dt{margin-top:.4rem}dl.words dd{margin-left:1.5rem}
.picker{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:.5rem 0}.picker select{max-width:100%}
#tech-out{border:1px solid #d5dae0;border-radius:.4rem;padding:.2rem 1rem;margin:.5rem 0}
.tech-prediction{font-size:1.1rem;font-weight:600}.tech-measured.outside{font-weight:600;color:#8a4b00}
@media (max-width:60rem){nav{position:static;width:auto;max-height:14rem;border-right:0;
border-bottom:1px solid #dde}main{margin-left:0;padding:.5rem 1rem 3rem 1rem}header{padding:1rem}}
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
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="table-wrap">{table}</div>{more}'


def _fmt(value: object, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def markdown_html(text: str) -> str:
    """CommonMark (with tables) to HTML; raw HTML in the input is escaped; tables scroll in their own wrapper."""
    return _MD.render(text).replace("<table>", '<div class="table-wrap"><table>').replace("</table>", "</table></div>")


def page(title: str, subtitle: str, sections: list[Section], scripts: Sequence[str] = ()) -> str:
    """The whole self-contained page: header, table of contents, sections, and *scripts* inline at the end.

    The content security policy allows no network at all and only these scripts, each by its SHA-256 hash.
    """
    toc = []
    for section in sections:
        toc.append(f'<a href="#{section.id}">{html.escape(section.title)}</a>')
        toc.extend(f'<a class="sub" href="#{s.id}">{html.escape(s.title)}</a>' for s in section.subsections)
    body = "".join(s.render() for s in sections)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(code.encode('utf-8')).digest()).decode('ascii')}'"
        for code in scripts
    )
    script_src = f"; script-src {hashes}" if scripts else ""
    inline = "".join(f"<script>{code}</script>" for code in scripts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        f"style-src 'unsafe-inline'{script_src}\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f'<nav aria-label="Contents"><strong>Contents</strong>{"".join(toc)}</nav>'
        f"<main><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>{body}</main>"
        f"{inline}</body></html>"
    )
