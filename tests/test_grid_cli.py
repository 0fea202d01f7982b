"""``python -m core grid`` on digits: the mosaic PNG, the layout CSV and the JSON numbers; user errors exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from core.cli import main


def test_grid_cli_writes_mosaic_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, csv = tmp_path / "grid.png", tmp_path / "grid.csv"
    code = main(
        ["grid", "--dataset", "digits", "--limit", "300", "--out", str(out), "--csv", str(csv), "--cell", "8", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 300 and report["grid"] == [17, 18] and report["assign_method"] == "exact"
    assert report["exact_cost"] == report["assignment_cost"] > 0
    assert set(report["seconds"]) == {"embed", "reduce", "assign", "quality"}
    assert 0 < report["knn_preservation"]["grid"] <= 1
    assert Image.open(out).size == (18 * 8, 17 * 8)
    layout = pd.read_csv(csv)
    assert list(layout.columns) == ["file", "label", "x", "y", "row", "col"]
    assert len(layout) == 300 and not layout[["row", "col"]].duplicated().any()


def test_grid_cli_reports_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "grid.png")
    assert main(["grid", "/etc", "--out", out]) == 2
    assert "outside the configured data roots" in capsys.readouterr().err
    assert main(["grid", "--dataset", "digits", "--limit", "50", "--grid", "5x5", "--out", out]) == 2
    assert "fewer cells" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["grid", "--dataset", "digits", "--grid", "five", "--out", out])
    assert not Path(out).exists()


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_grid_cli_refuses_a_limit_below_one(limit: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for source in (["--dataset", "digits"], ["--dataset", "cifar10"], ["cifar10"]):
        assert main(["grid", *source, "--limit", limit, "--out", str(tmp_path / "grid.png")]) == 2
        assert capsys.readouterr().err == f"error: the image limit must be at least 1, got {limit}\n"
    assert not (tmp_path / "grid.png").exists()


def test_grid_cli_on_copies_of_one_image_says_why_in_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(20):
        shutil.copy(data_dir / "cifar10" / "cat" / "0000.jpg", folder / f"cat_{i:02d}.jpg")
    monkeypatch.setenv("HIDESEEK_EXTRA_ROOTS", str(tmp_path))
    assert main(["grid", str(folder), "--out", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: all 20 images look exactly alike") and err.count("\n") == 1 and "NaN" not in err


def test_grid_cli_reports_links_it_did_not_follow(linked_root: Path, tmp_path: Path, capsys) -> None:
    assert main(["grid", "cifar10", "--out", str(tmp_path / "grid.png"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 7 and report["skipped"] == [
        "cat/secret.jpg: a link to a file outside the data roots",
        "ships: a link to a folder outside the data roots",
    ]
