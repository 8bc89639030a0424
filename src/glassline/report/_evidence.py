"""The EU AI Act evidence map: which file of a study folder is evidence for which article.

It says "evidence for", never "compliant": a process-quality regressor is usually not a high-risk
system, and whether one is depends on its use, which no file can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["EvidenceItem", "evidence_map", "evidence_markdown"]


@dataclass(frozen=True)
class EvidenceItem:
    article: str
    requirement: str
    files: tuple[str, ...]
    note: str = ""


def _any(root: Path, patterns: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found.extend(str(p.relative_to(root)) for p in sorted(root.glob(pattern)))
    return found


ITEMS: tuple[EvidenceItem, ...] = (
    EvidenceItem(
        "Art. 11 / Annex IV 1", "general description: purpose, inputs, outputs", ("study.toml", "cards/model_card_*.md")
    ),
    EvidenceItem(
        "Art. 11 / Annex IV 2(a-b)",
        "development: design of the experiment, choices made",
        ("design_diagnostics.json", "design.csv", "results/run.json"),
    ),
    EvidenceItem(
        "Art. 11 / Annex IV 2(d)",
        "data: provenance, preparation, cleaning",
        ("cards/datasheet.md", "dataset/metadata.json", "dataset/cleaning_log.csv"),
    ),
    EvidenceItem(
        "Art. 11 / Annex IV 2(g)",
        "validation and testing procedures, metrics",
        ("results/results.csv", "results/results.md"),
    ),
    EvidenceItem(
        "Art. 12",
        "record-keeping: logs of what the system did",
        ("dataset/cleaning_log.csv", "results/run.json", "audit*.db", "audit/*"),
        "prediction-time records come from the serving audit log (glassline serve)",
    ),
    EvidenceItem("Art. 13(3)(a)", "intended purpose", ("cards/model_card_*.md",)),
    EvidenceItem("Art. 13(3)(b)", "accuracy and its metrics", ("results/results.csv", "cards/model_card_*.md")),
    EvidenceItem("Art. 13(3)(c)", "known limits and foreseeable misuse", ("cards/model_card_*.md", "report.html")),
    EvidenceItem("Art. 13(3)(d)", "explanation capabilities", ("explanations/importance.csv", "explanations/*.png")),
    EvidenceItem("Art. 13(3)(e)", "input data specifications (units, ranges)", ("study.toml", "cards/datasheet.md")),
    EvidenceItem(
        "Art. 13(3)(f)", "how to interpret the output", ("explanations/narratives.md", "cards/model_card_*.md")
    ),
    EvidenceItem(
        "Art. 14(4)(a-c)",
        "human oversight: understand capacities, limits, interpret output",
        ("cards/model_card_*.md", "explanations/narratives.md"),
    ),
    EvidenceItem(
        "Art. 14(4)(d-e)",
        "human oversight: override or stop the system",
        ("serve.json", "audit/*"),
        "the service's /v1/override and /v1/stop endpoints; present once a model is served",
    ),
    EvidenceItem(
        "Art. 15",
        "accuracy and robustness: honest validation, uncertainty, validity domain",
        ("results/results.csv", "explanations/uncertainty*.csv", "explanations/importance.csv"),
    ),
)


def evidence_map(root: str | Path, *, writing: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per requirement: status (present / missing) and the files that are evidence for it.

    *writing* names files the caller is writing right now (the report itself), counted as present.
    """
    folder = Path(root)
    rows = []
    for item in ITEMS:
        found = _any(folder, item.files) + [name for name in writing if name in item.files]
        rows.append(
            {
                "article": item.article,
                "requirement": item.requirement,
                "status": "present" if found else "missing",
                "evidence": ", ".join(found[:4]) + (" …" if len(found) > 4 else "") if found else ", ".join(item.files),
                "note": item.note,
            }
        )
    return pd.DataFrame(rows)


def evidence_markdown(table: pd.DataFrame) -> str:
    lines = [
        "# EU AI Act: evidence map",
        "",
        "What this study produced that is evidence for the transparency and documentation articles. This is not a "
        "statement of compliance: a process-quality regressor is usually not a high-risk system, and that depends "
        "on its use.",
        "",
        "| article | requirement | status | evidence | note |",
        "|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {r.article} | {r.requirement} | {r.status} | {r.evidence} | {r.note} |" for r in table.itertuples()
    )
    return "\n".join(lines) + "\n"
