"""``python -m core waldo``: finds as JSON, and clear one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from core.cli import main
from core.waldo.synth import make_page


def test_find_prints_detections_and_seconds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    page = make_page(900_400, (384, 512))
    path = tmp_path / "crowd.png"
    Image.fromarray(page.image).save(path)
    assert main(["waldo", "find", str(path), "--json", "--threshold", "0.05"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["width"] == 512 and report["height"] == 384 and report["seconds"] > 0
    assert report["detections"] and {"box", "score", "mask_area"} <= set(report["detections"][0])


def test_bad_page_is_refused_untouched(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"this is not a picture")
    assert main(["waldo", "find", str(bad)]) == 2
    assert "not a recognised image" in capsys.readouterr().err
    assert bad.read_bytes() == b"this is not a picture"
    assert main(["waldo", "find", str(tmp_path / "missing.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_train_and_eval_refuse_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["waldo", "train", "--data", str(tmp_path), "--out", str(tmp_path / "w.pt")]) == 2
    assert "no annotations.json" in capsys.readouterr().err
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--init", str(tmp_path / "none.pt")]) == 2
    assert "--init" in capsys.readouterr().err and not (tmp_path / "w.pt").exists()
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--mine-decoys"]) == 2
    assert "needs --init" in capsys.readouterr().err and not (tmp_path / "w.pt").exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["waldo", "eval", str(tmp_path), "--annotations", str(broken)]) == 2
    assert "cannot read annotations" in capsys.readouterr().err
    assert main(["waldo", "find", str(tmp_path / "x.png"), "--weights", str(tmp_path / "none.pt")]) == 2


def test_train_refuses_a_device_this_machine_lacks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--device", "no-such-device"]) == 2
    assert "--device no-such-device: not usable here" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()


FOLD_PAGES = ["uts_119.jpg", "hiw_31.jpg", "hiw_32.jpg", "hiw_25.jpg", "hiw_27.jpg"]  # five artworks, small pages


def _fold_data(data_dir: Path, tmp_path: Path) -> Path:
    """A data folder of FOLD_PAGES: the real pages linked, their annotations copied."""
    everything = json.loads((data_dir / "waldo" / "annotations.json").read_text())
    folder = tmp_path / "waldo"
    folder.mkdir()
    (folder / "pages").symlink_to(data_dir / "waldo" / "pages")
    (folder / "annotations.json").write_text(json.dumps({name: everything[name] for name in FOLD_PAGES}))
    return folder


def test_fold_mode_scores_each_page_with_the_model_that_never_saw_it(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = _fold_data(data_dir, tmp_path)
    bank, weights = tmp_path / "bank.pt", tmp_path / "folds"
    assert main(["waldo", "bank", "--data", str(folder), "--out", str(bank), "--tiles", "24", "--tile", "128"]) == 0
    for fold in (1, 2, 3):
        out = weights / f"fold{fold}.pt"
        command = ["waldo", "train", "--bank", str(bank), "--data", str(folder), "--folds", "3", "--fold", str(fold)]
        assert main([*command, "--out", str(out), "--iterations", "2", "--batch", "2"]) == 0
        record = json.loads(out.with_suffix(".json").read_text())
        assert record["fold"] == fold and record["recipe"] == "bank" and record["held_out"]
    capsys.readouterr()
    annotations = str(folder / "annotations.json")
    evaluate = ["waldo", "eval", str(folder), "--annotations", annotations, "--folds", "3"]
    assert main([*evaluate, "--fold-weights", str(weights), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    held_out = [json.loads((weights / f"fold{k}.json").read_text())["held_out"] for k in (1, 2, 3)]
    assert [fold["files"] for fold in report["per_fold"]] == held_out
    assert sorted(sum(held_out, [])) == sorted(FOLD_PAGES)
    assert report["pooled"]["pages"] == 5 and report["pooled"]["ci95"]["resampled"] == "artwork clusters"
    assert {"ap50", "top1_hit_rate"} <= set(report["mean"]) and report["folds"] == 3
    assert main([*evaluate, "--fold-weights", str(weights), "--fold", "1", "--json"]) == 0
    (tmp_path / "part1.json").write_text(capsys.readouterr().out)
    (weights / "fold1.json").rename(tmp_path / "fold1.json")  # a model with no record of what it never saw
    assert main([*evaluate, "--fold-weights", str(weights)]) == 2
    assert "fold1.pt (and its .json): missing" in capsys.readouterr().err
    assert main([*evaluate, "--fold-weights", str(weights), "--fold", "2", "3", "--json"]) == 0  # fold 1 not needed
    (tmp_path / "part23.json").write_text(capsys.readouterr().out)
    assert [fold["fold"] for fold in json.loads((tmp_path / "part23.json").read_text())["per_fold"]] == [2, 3]
    _check_pooling(tmp_path / "part1.json", tmp_path / "part23.json", report, capsys)
    assert main([*evaluate, "--fold-weights", str(weights), "--fold", "4"]) == 2
    assert "--fold must lie in 1..3" in capsys.readouterr().err
    swapped = json.loads((weights / "fold2.json").read_text())
    (weights / "fold1.json").write_text(json.dumps(swapped))  # fold 2's record on fold 1's model
    assert main([*evaluate, "--fold-weights", str(weights)]) == 2
    assert "was not trained holding out fold 1" in capsys.readouterr().err


def _check_pooling(part1: Path, part23: Path, whole: dict, capsys: pytest.CaptureFixture) -> None:
    """Folds scored in two runs pool into what one run over all of them reported."""
    assert main(["waldo", "pool", str(part23), str(part1), "--json"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert _untimed(pooled["per_fold"]) == _untimed(whole["per_fold"]) and pooled["mean"] == whole["mean"]
    assert pooled["search"] == whole["search"] == {"coarse": False, "mirror": False, "tile": 512}
    for key in ("pages", "top1_hit_rate", "per_page"):
        assert _untimed(pooled["pooled"][key]) == _untimed(whole["pooled"][key]), key
    assert pooled["pooled"]["ci95"]["top1_hit_rate"] == whole["pooled"]["ci95"]["top1_hit_rate"]
    # AP50 is recomputed from finds saved to 4 decimals
    assert pooled["pooled"]["ap50"] == pytest.approx(whole["pooled"]["ap50"], abs=1e-3)
    assert pooled["pooled"]["ci95"]["ap50"] == pytest.approx(whole["pooled"]["ci95"]["ap50"], abs=1e-3)
    assert main(["waldo", "pool", str(part1), str(part1)]) == 2
    assert "fold 1 appears in more than one result" in capsys.readouterr().err
    for name, text in (("missing.json", None), ("corrupt.json", '{"folds": 3, "per_'), ("list.json", "[1, 2]")):
        if text is not None:
            part1.with_name(name).write_text(text)
        assert main(["waldo", "pool", str(part1), str(part1.with_name(name))]) == 2
        assert "not a saved eval --folds --json output" in capsys.readouterr().err


def _untimed(value):
    """``value`` without its seconds: two runs of the same search take different times."""
    if isinstance(value, list):
        return [_untimed(item) for item in value]
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("seconds", "mean_seconds_per_page")}
    return value


def test_fold_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = ["--out", str(tmp_path / "w.pt")]
    assert main(["waldo", "train", *out, "--folds", "5"]) == 2
    assert "--folds and --fold go together" in capsys.readouterr().err
    assert main(["waldo", "train", *out, "--folds", "5", "--fold", "1"]) == 2
    assert "--folds needs --data" in capsys.readouterr().err
    assert main(["waldo", "train", *out, "--bank", str(tmp_path / "none.pt")]) == 2
    assert "no such bank" in capsys.readouterr().err
    assert main(["waldo", "train", *out, "--bank", str(tmp_path / "b.pt"), "--resume"]) == 2
    assert "--resume" in capsys.readouterr().err and not (tmp_path / "w.pt").exists()
