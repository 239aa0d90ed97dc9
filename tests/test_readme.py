"""The README's lesson table agrees with the lessons themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _table() -> dict[str, tuple[str, int]]:
    """Lesson number -> (linked file, minutes) from the README's lesson table."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"^\| (\d\d) \| \[[^]]+\]\(lessons/([^)]+)\) \|[^|]*\| (\d+) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2), int(match.group(3)))
    return rows


def test_every_lesson_has_one_row_linking_to_it_with_the_minutes_its_header_states():
    rows = _table()
    assert sorted(rows) == [p.name[:2] for p in LESSONS]
    for path in LESSONS:
        linked, minutes = rows[path.name[:2]]
        assert linked == path.name, f"README links {linked} for lesson {path.name[:2]}"
        header = "".join(json.loads(path.read_text())["cells"][0]["source"])
        stated = re.findall(r"About (\d+) minutes", header)
        assert stated == [str(minutes)], f"{path.name}: its header says {stated} minutes, the README {minutes}"
