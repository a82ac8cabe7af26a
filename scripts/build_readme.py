"""Assemble README.md from the section files in docs/ (run: python scripts/build_readme.py).

The sections live next to each other in docs/ so each concern's documentation is edited
in one place; README.md is what users read, so it holds all of them.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

PARTS: list[tuple[str | None, str]] = [
    (None, "readme_head.md"),
    (None, "handler.md"),
    ("## Correlation, PII redaction and framework glue", "integrations.md"),
    (None, "redaction.md"),
    (None, "api.md"),
    (None, "filterpattern.md"),
    (None, "cli.md"),
    (None, "ui.md"),
    (None, "production.md"),
    ("## Performance", "benchmarks.md"),
    (None, "development.md"),
]


def main() -> None:
    chunks = []
    for heading, name in PARTS:
        text = (DOCS / name).read_text().strip()
        if heading:
            chunks.append(heading)
        chunks.append(text)
    banner = "<!-- Generated from docs/*.md by scripts/build_readme.py; edit those files. -->"
    (ROOT / "README.md").write_text(banner + "\n\n" + "\n\n".join(chunks) + "\n")


if __name__ == "__main__":
    main()
