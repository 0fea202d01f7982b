"""Robustness: how accurate does the ImageNet classifier stay when every image is attacked? Clean and robust accuracy
per attack and eps on a labelled folder (RobustBench's report), plotted as a curve, with the adversarial examples
to download as an ImageFolder tree and manifest for adversarial training."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

import ui
from core.cache import content_hash
from core.cloak.attacks import METHODS, Attack
from core.models.builders import imagenet_categories
from core.robustness import (
    IMAGENET_CLASSIFIERS,
    DatasetError,
    LabelledSet,
    RobustnessReport,
    attack_grid,
    evaluate,
    export,
    labelled_folder,
)

DEFAULT_FOLDER = "imagenet_samples"
EPS_CHOICES = [1, 2, 4, 8, 16]


@dataclass(frozen=True)
class Request:
    """One measurement: the model, the images (by content hash) with their labels, and the attack grid."""

    model: str
    images: tuple[tuple[str, int], ...]
    attacks: tuple[Attack, ...]


def measure(request: Request, dataset: LabelledSet) -> RobustnessReport:
    model = ui.load_model(request.model).model
    return ui.cached_stage(
        "robustness",
        request,
        lambda progress: evaluate(model, dataset, request.attacks, progress=progress),
        "Attacking every image at every eps…",
    )


def exported_zip(request: Request, dataset: LabelledSet) -> bytes:
    """The adversarial examples and manifest.csv as a zip, made once per request (written to a scratch folder)."""

    def compute(progress: ui.Progress) -> bytes:
        model = ui.load_model(request.model).model
        with tempfile.TemporaryDirectory() as scratch:
            export(model, dataset, request.attacks, Path(scratch), progress=progress)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for path in sorted(Path(scratch).rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(scratch).as_posix())
            return buffer.getvalue()

    return ui.cached_stage("robustness_export", request, compute, "Writing the adversarial examples…")


st.title("Robustness")
st.caption(
    "A tool that fools models also helps build models that are not fooled. Every image of a labelled folder is "
    "attacked (untargeted, against its true label, L∞ budget eps in grey levels: 8 means 8/255) and the classifier's "
    "accuracy is measured clean and under each attack, as RobustBench reports it: an image counts as robust only "
    "when the model is right on it both clean and attacked. Predictions are taken on the 8-bit pixels a PNG holds."
)

with st.form("settings"):
    if ui.folder_inputs():
        typed = st.text_input(
            "Labelled folder under the data root (class sub-folders named by ImageNet class, or a labels.csv)",
            DEFAULT_FOLDER,
            key="folder",
        )
    else:  # a public demo offers no server-side folders: the ImageNet samples only
        typed = DEFAULT_FOLDER
        st.caption("Images: the ImageNet samples of the demo data, with their true ImageNet labels.")
    left, right = st.columns(2)
    model_name = left.selectbox("Classifier", IMAGENET_CLASSIFIERS, key="model")
    limit = left.slider("Images (spread evenly over the folder)", 2, 100, 8, key="limit")
    methods = right.multiselect("Attacks", METHODS, default=["fgsm", "pgd"], key="attacks")
    eps = right.multiselect("eps (grey levels)", EPS_CHOICES, default=[1, 2, 4, 8], key="eps")
    steps = right.slider("Steps of PGD and MI-FGSM", 1, 20, 3, key="steps")
    st.form_submit_button("Measure", type="primary")

folder = ui.data_folder(typed)
if folder is None:
    st.stop()
try:
    attacks = attack_grid(methods, eps, steps)
    dataset = labelled_folder(folder, imagenet_categories()).subset(limit)
except (DatasetError, ValueError) as err:
    ui.error(str(err))
    st.stop()
loaded = ui.model_or_error(model_name)
if loaded is None:
    st.stop()

request = Request(
    model_name, tuple((content_hash(image.path), image.label) for image in dataset.images), tuple(attacks)
)
report = measure(request, dataset)

st.subheader(f"{len(dataset.images)} images of {typed} (labels from {Path(dataset.source).name})")
st.metric("Clean accuracy", f"{report.clean_accuracy:.0%}", help=f"{sum(report.clean)} of {len(report.clean)}")
curve = pd.DataFrame(report.curve())
figure = px.line(
    curve, x="eps", y="accuracy", color="attack", markers=True, range_y=[0, 1.02], title="Robust accuracy against eps"
)
figure.update_layout(xaxis_title="eps (grey levels; 0 = clean)", yaxis_title="accuracy", yaxis_tickformat=".0%")
st.plotly_chart(figure, key="curve")
st.dataframe(pd.DataFrame([row.as_dict() for row in report.results]), hide_index=True, key="table")

with st.expander("What the model said about each image"):
    st.dataframe(pd.DataFrame(report.per_image()), hide_index=True, key="per_image")

st.subheader("Adversarial examples for training")
st.write(
    "An ImageFolder tree per attack and eps (`pgd-eps8/<class>/<image>.png`, lossless) and `manifest.csv` with each "
    "example's source file, label, attack, eps and the prediction before and after. "
    "`core.robustness.AdversarialDataset` makes the same examples on the fly against a model as it trains."
)
if st.button("Prepare the download", key="prepare_export"):
    st.session_state["robustness_zip"] = (request, exported_zip(request, dataset))
if st.session_state.get("robustness_zip", (None,))[0] == request:
    st.download_button(
        "Download adversarial examples (zip)",
        st.session_state["robustness_zip"][1],
        file_name="adversarial_examples.zip",
        mime="application/zip",
        key="download_export",
    )
