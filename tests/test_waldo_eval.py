"""Scoring: AP50 and the top-1 rule on hand-made cases, and the eval command on real validation pages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.cli.waldo import page_folds
from core.config import MODELS_DIR
from core.models import get_spec, load_model
from core.waldo.data import PageAnnotation, load_annotations, split_pages
from core.waldo.eval import answer_ranks, average_precision, calibration, evaluate, is_hit, pool, summarise
from core.waldo.infer import Detection, FindResult


def _det(box, score: float) -> Detection:
    return Detection(tuple(float(v) for v in box), score, np.ones((1, 1), bool), (0, 0))


def test_average_precision_on_hand_made_rankings() -> None:
    truth = np.array([[0, 0, 10, 20], [50, 50, 60, 70]], float)
    perfect = [_det([0, 0, 10, 20], 0.9), _det([50, 50, 60, 70], 0.8)]
    assert average_precision([(perfect, truth, [True, True])]) == pytest.approx(1.0)
    false_alarm_first = [_det([100, 100, 110, 120], 0.95), _det([0, 0, 10, 20], 0.9)]
    # ranks: miss (P=0), hit (P=1/2, R=1/2); the second box is never found
    assert average_precision([(false_alarm_first, truth, [True, True])]) == pytest.approx(0.25)
    # a detection of a box that is not counted (another kind) is neither a hit nor a false alarm
    assert average_precision([(perfect, truth, [True, False])]) == pytest.approx(1.0)
    assert average_precision([([], truth, [False, False])]) is None


def test_answer_ranks_name_the_first_find_on_each_true_box() -> None:
    truth = np.array([[0, 0, 10, 20], [50, 50, 60, 70]], float)
    finds = [_det([200, 200, 210, 220], 0.9), _det([50, 50, 60, 68], 0.8), _det([0, 0, 10, 20], 0.7)]
    assert answer_ranks(finds, truth) == [3, 2]
    assert answer_ranks(finds[:1], truth) == [None, None]
    assert answer_ranks(finds, np.zeros((0, 4))) == []


def _record(name: str, truth: list[float], found: list[float]) -> tuple:
    page = PageAnnotation(name, 200, 200, np.array([truth], float))
    return page, (200, 200, 3), FindResult([_det(found, 0.9)], 0.1, 1, 200, 200), ["hidden"]


def test_bootstrap_interval_brackets_the_estimate_and_widens_with_mixed_pages() -> None:
    hit, miss = [10, 10, 30, 50], [100, 100, 120, 140]
    all_hits = summarise([_record(f"p{i}", hit, hit) for i in range(6)])
    assert all_hits["ci95"]["ap50"] == [1.0, 1.0] and all_hits["ci95"]["top1_hit_rate"] == [1.0, 1.0]
    mixed = summarise([_record(f"p{i}", hit, hit if i % 2 else miss) for i in range(6)])
    low, high = mixed["ci95"]["top1_hit_rate"]
    assert low < mixed["top1_hit_rate"] == 0.5 < high  # 3 of 6 pages: the interval is wide
    low, high = mixed["ci95"]["ap50"]
    assert low < mixed["ap50"] < high
    assert summarise([_record(f"p{i}", hit, hit if i % 2 else miss) for i in range(6)])["ci95"] == mixed["ci95"]


def test_top1_rule_accepts_overlap_or_centre_inside() -> None:
    truth = (100, 100, 120, 160)
    assert is_hit((100, 100, 120, 150), truth)
    assert is_hit((60, 60, 180, 200), truth)  # low IoU, but the centre lies inside the true box
    assert not is_hit((130, 100, 150, 160), truth)


def test_eval_command_runs_on_real_validation_pages(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    folder = data_dir / "waldo"
    argv = ["waldo", "eval", str(folder), "--annotations", str(folder / "annotations.json"), "--split", "val"]
    assert main([*argv, "--only", "hiw_26.jpg", "hiw_10.jpg", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pages"] == 2 and summary["hidden"]["boxes"] == 2 and summary["icon"]["boxes"] == 1
    assert 0 <= summary["ap50"] <= 1 and summary["top1_hit_rate"] in (0.0, 0.5, 1.0)
    low, high = summary["ci95"]["top1_hit_rate"]
    assert low <= summary["top1_hit_rate"] <= high
    assert [p["file"] for p in summary["per_page"]] == ["hiw_10.jpg", "hiw_26.jpg"]
    assert main([*argv, "--only", "hiw_22.jpg"]) == 2  # a training page is refused in the validation split
    assert "not in the val split" in capsys.readouterr().err


@pytest.fixture(scope="module")
def shipped_on_unseen(data_dir: Path) -> dict[str, dict]:
    """The shipped model scored on the two page sets it never trained on: "val" (which chose it) and "new"."""
    folder = data_dir / "waldo"
    annotations = load_annotations(folder / "annotations.json")
    model = load_model("waldo_maskrcnn").model
    return {split: evaluate(model, folder, split_pages(annotations, split)) for split in ("val", "new")}


@pytest.mark.parametrize(("split", "key", "pages"), [("val", "validation", 14), ("new", "new_artwork", 9)])
def test_the_figures_the_page_shows_match_a_fresh_run(
    shipped_on_unseen: dict, split: str, key: str, pages: int
) -> None:
    """The registry's measured figures (shown on the page and in the model card) are re-measured here."""
    summary = shipped_on_unseen[split]
    measured = get_spec("waldo_maskrcnn").meta[key]
    assert summary["pages"] == measured["pages"] == pages
    assert summary["top1_hit_rate"] == pytest.approx(measured["top1_hit_rate"], abs=1e-3)
    assert summary["ap50"] == pytest.approx(measured["ap50"], abs=5e-3)
    assert summary["ci95"]["top1_hit_rate"] == pytest.approx(list(measured["top1_ci95"]), abs=0.02)
    assert summary["ci95"]["ap50"] == pytest.approx(list(measured["ap50_ci95"]), abs=0.02)


def test_the_cross_validated_figure_the_page_shows_pools_the_saved_folds(data_dir: Path) -> None:
    """The registry's cross-validated figure is what ``waldo pool`` makes of the committed fold results, and each
    of those scored exactly its fold's pages as the folds are dealt from today's data."""
    saved = sorted((MODELS_DIR / "waldo-cv").glob("shipped-recipe.fold*.native.json"))
    summary = pool([json.loads(path.read_text()) for path in saved])
    shown = get_spec("waldo_maskrcnn").meta["cross_validation"]
    assert shown["folds_scored"] == tuple(fold["fold"] for fold in summary["per_fold"])
    assert (shown["folds"], shown["pages"]) == (summary["folds"], summary["pooled"]["pages"])
    pooled = summary["pooled"]
    assert (shown["top1_hit_rate"], shown["ap50"]) == (pooled["top1_hit_rate"], pooled["ap50"])
    assert list(shown["top1_ci95"]) == pooled["ci95"]["top1_hit_rate"]
    assert list(shown["ap50_ci95"]) == pooled["ci95"]["ap50"]
    folds = page_folds(data_dir / "waldo" / "annotations.json", summary["folds"])
    for fold in summary["per_fold"]:
        assert fold["files"] == folds[fold["fold"] - 1]


def test_the_hints_calibration_matches_a_fresh_run(shipped_on_unseen: dict) -> None:
    per_page = shipped_on_unseen["val"]["per_page"] + shipped_on_unseen["new"]["per_page"]
    assert calibration(per_page) == list(get_spec("waldo_maskrcnn").meta["calibration"])


def test_calibration_counts_top_find_hits_by_score_band() -> None:
    pages = [
        {"boxes": [[0, 0, 1, 1]], "top": {"score": 0.99}, "top1_hit": True},
        {"boxes": [[0, 0, 1, 1]], "top": {"score": 0.97}, "top1_hit": False},
        {"boxes": [[0, 0, 1, 1]], "top": {"score": 0.6}, "top1_hit": True},
        {"boxes": [[0, 0, 1, 1]], "top": None, "top1_hit": False},  # nothing found: no score to calibrate
        {"boxes": [], "top": {"score": 0.9}, "top1_hit": False},  # no Waldo on the page: no top-1 to count
    ]
    table = calibration(pages)
    assert [(row["from"], row["to"]) for row in table] == [(0.0, 0.5), (0.5, 0.8), (0.8, 0.95), (0.95, 1.0)]
    assert [(row["pages"], row["waldo"]) for row in table] == [(0, 0), (1, 1), (0, 0), (2, 1)]
