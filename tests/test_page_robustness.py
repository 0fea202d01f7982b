"""The Robustness page on real ImageNet samples and the real MobileNetV2: the curve falls from clean accuracy, bad
folders are explained, and the export downloads as a zip of PNGs with a manifest that re-open as it says."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from core.cloak.classifier import top_k
from core.config import REPO_ROOT
from core.images import open_image
from core.models import load_model

PAGE = str(REPO_ROOT / "pages" / "robustness.py")


def page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=600)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_default_run_plots_robust_accuracy_falling_from_clean() -> None:
    at = page()
    assert not at.exception and not at.error
    clean = float(at.metric[0].value.rstrip("%")) / 100
    assert clean >= 0.5
    table = at.dataframe[0].value
    assert list(zip(table["attack"], table["eps"], strict=True)) == [
        (method, eps) for method in ("fgsm", "pgd") for eps in (1, 2, 4, 8)
    ]
    for method in ("fgsm", "pgd"):
        curve = [clean] + list(table[table["attack"] == method]["robust_accuracy"])
        assert curve == sorted(curve, reverse=True) and curve[-1] < clean, (method, curve)
    assert len(at.get("plotly_chart")) == 1
    assert len(at.dataframe[1].value) == 8  # one row per image


def test_folders_without_model_labels_or_outside_the_data_root_are_explained() -> None:
    at = page(folder="cifar10")
    assert not at.exception and "name no class of the model" in at.error[0].value
    at = page(folder="/etc")
    assert not at.exception and "outside the configured data roots" in at.error[0].value


def test_export_downloads_examples_that_reopen_as_the_manifest_says() -> None:
    at = page(limit=2, attacks=["fgsm"], eps=[2])
    assert not at.exception
    at.button(key="prepare_export").click().run()
    assert not at.exception
    with zipfile.ZipFile(io.BytesIO(at.session_state["robustness_zip"][1])) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open("manifest.csv"))))
        assert len(rows) == 2 and all(row["file"].startswith("fgsm-eps2/") for row in rows)
        model = load_model("mobilenet_v2").model
        for row in rows:
            image = open_image(archive.read(row["file"]), name=row["file"])
            assert top_k(model, image, k=1)[0].index == int(row["after"])


def test_public_mode_offers_no_server_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    at = page()
    assert not at.exception and not at.error
    assert not at.text_input and any("ImageNet samples" in caption.value for caption in at.caption)
    assert at.metric[0].label == "Clean accuracy" and len(at.dataframe[0].value) == 8
