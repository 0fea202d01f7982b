"""Cross-validation folds over artwork: a page's fold-mates share no artwork with any page of another fold.

Why by artwork: many pages are crops, rescans or spreads of the same drawing (the data README lists them), and a
model that trained on one scan of a scene "finds" Waldo on the other from memory. So pages are first grouped into
artwork clusters, and whole clusters are dealt to folds.

Clusters, from the data README's "Pages that show the same artwork" list and the notes on the pages added on
2026-12-01, merged wherever the README leaves a doubt (merging costs a little balance, splitting would leak):
  - a spread and its crops, rescans or photos: hey_5 group, cs_019 group, the town hiw_21/uts_18/uts_50, the crowd
    of hiw_8/hiw_36 with hiw_36's four header figures uts_119-122, hiw_17/uts_45, hiw_2/uts_41, hiw_28/uts_26;
  - hiw_14/hiw_15, which an ORB + RANSAC homography check found to share artwork (the README does not list it);
  - covers and posters in one cluster: the cover art cs_004, cs_032, hiw_32, uts_46, cs_006 (it "shares the cover
    logo"), and the poster Waldos hiw_16, hiw_33, hiw_34 ("the same Waldo drawings");
  - one cluster per book among the new pages: the six hpc_fj_ scenes (one book, one style), the two wfp_ crops
    (two scenes of one book); tsi_pirate2 alone.
Every other page is a cluster of its own. Folds are dealt greedily, largest cluster first, each to the fold with
the fewest pages so far (ties: fewest boxes, then lowest index), so the deal depends on the data alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ARTWORK_CLUSTERS: tuple[frozenset[str], ...] = tuple(
    frozenset(f"{name}.jpg" for name in names.split())
    for names in (
        "hey_5 hiw_5 hiw_12 hiw_31",
        "cs_019 hiw_7 uts_2 uts_39 uts_48 uts_49",
        "hiw_21 uts_18 uts_50",
        "hiw_8 hiw_36 uts_119 uts_120 uts_121 uts_122",
        "hiw_17 uts_45",
        "hiw_2 uts_41",
        "hiw_28 uts_26",
        "hiw_14 hiw_15",
        "cs_004 cs_006 cs_032 hiw_32 uts_46 hiw_16 hiw_33 hiw_34",
        "hpc_fj_p03 hpc_fj_p05 hpc_fj_p10 hpc_fj_p11 hpc_fj_p14 hpc_fj_p24",
        "wfp_nine_stoneage wfp_three_aztecs",
    )
)


def artwork_clusters(files: Iterable[str]) -> list[frozenset[str]]:
    """The pages ``files`` grouped by shared artwork (pages not in any listed cluster stand alone), sorted."""
    files = set(files)
    clusters = [cluster & files for cluster in ARTWORK_CLUSTERS if cluster & files]
    listed = set().union(*clusters) if clusters else set()
    clusters += [frozenset({name}) for name in files - listed]
    return sorted(clusters, key=lambda c: sorted(c))


def make_folds(boxes_per_page: Mapping[str, int], k: int) -> list[list[str]]:
    """``k`` folds of the pages (file -> box count), whole artwork clusters each, balanced by pages then boxes."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    clusters = artwork_clusters(boxes_per_page)
    if len(clusters) < k:
        raise ValueError(f"{len(clusters)} artwork clusters cannot fill {k} folds")
    folds: list[list[str]] = [[] for _ in range(k)]
    boxes = [0] * k
    for cluster in sorted(clusters, key=lambda c: (-len(c), sorted(c))):
        target = min(range(k), key=lambda i: (len(folds[i]), boxes[i], i))
        folds[target] += sorted(cluster)
        boxes[target] += sum(boxes_per_page[name] for name in cluster)
    return [sorted(fold) for fold in folds]


def fold_of(folds: list[list[str]], file: str) -> int:
    """The 0-based fold holding ``file``."""
    return next(index for index, fold in enumerate(folds) if file in fold)
