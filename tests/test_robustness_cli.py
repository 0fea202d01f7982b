"""``python -m core robustness``: the issue's command on real ImageNet samples, the export with its manifest, and
one-line errors for folders without model labels, exports that would touch the inputs and budgets under 1 grey level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.robustness import read_manifest


def test_json_report_and_export_on_imagenet_samples(data_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "adv"
    argv = ["robustness", str(data_dir / "imagenet_samples"), "--model", "mobilenet_v2", "--attack", "fgsm,pgd"]
    code = main([*argv, "--eps", "1,4", "--steps", "2", "--limit", "3", "--export", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["images"] == 3 and payload["labels"].endswith("labels.csv") and payload["model"] == "mobilenet_v2"
    assert [(row["attack"], row["eps"], row["steps"]) for row in payload["robust"]] == [
        ("fgsm", 1, 1),
        ("fgsm", 4, 1),
        ("pgd", 1, 2),
        ("pgd", 4, 2),
    ]
    assert all(row["robust_accuracy"] <= payload["clean_accuracy"] and row["of"] == 3 for row in payload["robust"])
    rows = read_manifest(Path(payload["manifest"]))
    assert len(rows) == 12 and {row["file"].split("/")[0] for row in rows} == {
        "fgsm-eps1",
        "fgsm-eps4",
        "pgd-eps1",
        "pgd-eps4",
    }
    assert all((out / row["file"]).is_file() for row in rows)


def test_plain_output_is_a_table(data_dir: Path, capsys) -> None:
    argv = ["robustness", str(data_dir / "imagenet_samples"), "--attack", "fgsm,mifgsm", "--eps", "2", "--steps", "2"]
    assert main([*argv, "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("clean accuracy")
    assert [line.split()[:3] for line in lines[-2:]] == [["fgsm", "2", "1"], ["mifgsm", "2", "2"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--eps", "0.5"], "at least 1 grey level"),
        (["--attack", "cw"], "unknown attack method"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_settings_are_one_line_errors(data_dir: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["robustness", str(data_dir / "imagenet_samples"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cifar10_names_are_not_imagenet_classes(data_dir: Path, capsys) -> None:
    assert main(["robustness", str(data_dir / "cifar10")]) == 2
    assert "name no class of the model" in capsys.readouterr().err


def test_an_export_inside_the_input_folder_is_refused_and_creates_nothing(data_dir: Path, capsys) -> None:
    inside = data_dir / "imagenet_samples" / "adversarial"
    assert main(["robustness", str(data_dir / "imagenet_samples"), "--limit", "1", "--export", str(inside)]) == 2
    assert "overlaps the input folder" in capsys.readouterr().err and not inside.exists()
