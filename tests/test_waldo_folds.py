"""Cross-validation folds: whole artwork clusters, checked against what the data README says shares artwork."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.waldo.data import load_annotations
from core.waldo.folds import ARTWORK_CLUSTERS, artwork_clusters, fold_of, make_folds

NAME = re.compile(r"\b((?:cs|hiw|hey|uts|dw)_)(\d+)(?:[–-](\d+))?")


def _names(text: str) -> set[str]:
    """Page files named in ``text``, ranges such as uts_119–122 expanded."""
    found = set()
    for prefix, first, last in NAME.findall(text):
        numbers = [first] if not last else [str(n) for n in range(int(first), int(last) + 1)]
        found |= {f"{prefix}{n}.jpg" for n in numbers}
    return found


def readme_shared_artwork(readme: str) -> list[set[str]]:
    """Groups of pages the README says share artwork: each clause of its "same artwork" list, and each book of the
    table of pages added on 2026-12-01 (one row per book)."""
    section = readme.split("Pages that show the same artwork", 1)[1].split("###", 1)[0]
    lines: list[str] = []  # one per bullet, its continuation lines joined
    for line in section.splitlines():
        if line.strip().startswith("-"):
            lines.append(line)
        elif lines and line.startswith(" ") and line.strip():
            lines[-1] += " " + line.strip()
    groups = [_names(relation) for line in lines for clause in line.split(";") for relation in _relations(clause)]
    added = readme.split("### The 9 pages added on 2026-12-01", 1)[1].split("###", 1)[0]
    for row in added.splitlines():
        cells = row.split("|")
        if len(cells) > 2 and "`" in cells[1]:
            names = re.findall(r"`([a-z0-9_]+)`", cells[1])
            prefix = names[0].rsplit("_", 1)[0] + "_"
            groups.append({f"{n if '_' in n else prefix + n}.jpg" for n in names})
    return [group for group in groups if len(group) > 1]


def _relations(clause: str) -> list[str]:
    """A clause such as "hiw_17 ≈ uts_45, hiw_2 ⊂ uts_41" holds several relations, while in "cs_019 ⊃ hiw_7, uts_2"
    the comma lists one group: a comma starts a new group only where the next part has its own ≈, ⊂ or ⊃."""
    parts: list[str] = []
    for part in clause.split(","):
        if parts and not re.search("[≈⊂⊃]", part):
            parts[-1] += "," + part
        else:
            parts.append(part)
    return parts


@pytest.fixture(scope="module")
def boxes_per_page(data_dir: Path) -> dict[str, int]:
    return {name: len(page.boxes) for name, page in load_annotations(data_dir / "waldo" / "annotations.json").items()}


def test_readme_groups_are_read(data_dir: Path) -> None:
    groups = readme_shared_artwork((data_dir / "README.md").read_text())
    assert {"hey_5.jpg", "hiw_5.jpg", "hiw_12.jpg"} in groups
    assert {"uts_119.jpg", "uts_120.jpg", "uts_121.jpg", "uts_122.jpg"} <= set().union(*groups)
    assert any(len(group) == 6 and all(name.startswith("hpc_fj_") for name in group) for group in groups)


@pytest.mark.parametrize("k", [3, 5])
def test_folds_never_share_artwork(data_dir: Path, boxes_per_page: dict[str, int], k: int) -> None:
    folds = make_folds(boxes_per_page, k)
    assert sorted(name for fold in folds for name in fold) == sorted(boxes_per_page)  # every page exactly once
    readme = readme_shared_artwork((data_dir / "README.md").read_text())
    for group in [*readme, *ARTWORK_CLUSTERS, {"hiw_14.jpg", "hiw_15.jpg"}]:
        present = group & set(boxes_per_page)
        assert len({fold_of(folds, name) for name in present}) <= 1, group
    sizes = [len(fold) for fold in folds]
    assert max(sizes) - min(sizes) <= max(len(c) for c in artwork_clusters(boxes_per_page))
    assert make_folds(boxes_per_page, k) == folds  # the deal depends on the data alone


def test_every_listed_cluster_names_real_pages(boxes_per_page: dict[str, int]) -> None:
    assert set().union(*ARTWORK_CLUSTERS) <= set(boxes_per_page)  # a typo would silently make a stand-alone page


def test_too_many_folds_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot fill"):
        make_folds({"a.jpg": 1, "b.jpg": 1}, 3)
    with pytest.raises(ValueError, match="at least 2"):
        make_folds({"a.jpg": 1}, 1)
