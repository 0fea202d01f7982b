"""Cloak: protect a photo with an adversarial perturbation, then see what the recognizer makes of the saved file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import streamlit as st
from PIL import Image

import ui
from core.cache import content_hash
from core.cloak.attacks import METHODS, Attack
from core.cloak.classifier import ClassifierCloak, class_index, cloak_classifier
from core.cloak.face_cloak import NoFaceError, cloak_faces
from core.cloak.presets import DEFAULT_PRESET, PRESETS, TUNABLE
from core.cloak.quality import amplified_difference
from core.cloak.report import leave_one_out, measure
from core.config import data_root, folder_files
from core.demo import pack_file
from core.faces import RECOGNIZERS, available_recognizers
from core.images import ImageError, open_image, to_array
from core.models import availability, get_spec
from core.models.builders import imagenet_categories

DEMO_PHOTO = "faces/Colin_Powell/Colin_Powell_0001.jpg"
DEMO_REFERENCE = "faces/Colin_Powell/Colin_Powell_0002.jpg"
DEMO_CLASSIFIER_PHOTO = "imagenet_samples/images/n02510455_giant_panda.JPEG"
# Without the data folder: the demo pack's public-domain astronaut is both the photo and its own clean reference
# (dodging pushes her face away from its clean embedding), and its cat is the classifier's photo.
PACK_STANDINS = {
    DEMO_PHOTO: "faces/Eileen_Collins/astronaut.png",
    DEMO_REFERENCE: "faces/Eileen_Collins/astronaut.png",
    DEMO_CLASSIFIER_PHOTO: "photos/chelsea.png",
}
METHOD_NAMES = {"fgsm": "FGSM (one step)", "pgd": "PGD (random start)", "mifgsm": "MI-FGSM (momentum)"}
REPORT_COLUMNS = [
    "face", "recognizer", "attacked", "threshold", "references", "distance_before", "distance_after", "protected",
    "protected_after_jpeg90", "protected_after_jpeg75", "protected_after_resize50",
    "distance_after_jpeg75", "redetected", "ssim", "dssim", "psnr", "linf", "l2",
]  # fmt: skip
IMPERSONATION_COLUMNS = ["target_distance_before", "target_distance_after", "impersonated", "impersonated_after_jpeg75"]

BLACK_BOX_MEANING = """
Each held-out recognizer is one the cloak **never saw**: the photo was cloaked against the others and measured on
it, as a real service's recognizer would see it. "Protected against N of M recognizers it never saw" is the figure
that predicts a recognizer outside this tool; the white-box table below does not. The cloak you download attacks
all the recognizers you chose, so against a new recognizer expect about this black-box rate, not the white-box one.
"""

THREAT_MODEL = """
**Threat model: evasion at match time.** A recognizer compares your cloaked photo with other photos of you (a
reference photo, or a gallery someone enrolled). The cloak works for a face when the recognizer's distance between
the cloaked face and your clean photos is above its threshold, so it does not match. Every number below is measured
on the saved PNG (decoded again, faces detected again), and again after JPEG 90/75 and a 0.5x resize.

This is **not** gallery poisoning (Fawkes-style), where cloaked photos are meant to corrupt a model *trained* on
them so that it later fails on your clean photos. A match-time cloak only protects the photos that carry it, and
only against recognizers like the ones it was optimised for. Real recognizers are black boxes: the report measures
the cloak on recognizers it was never optimised against (leave-one-out) and shows those figures first.
"""


def demo_path(relative: str) -> Path:
    """A demo photo of the data folder, or, on a host without it, the demo pack's (core/demo.py) in its place."""
    path = data_root() / relative
    return path if path.is_file() else pack_file(PACK_STANDINS[relative])


def demo_bytes(relative: str) -> bytes:
    return demo_path(relative).read_bytes()


def demo_identities() -> dict[str, Path]:
    """Identity -> its first photo (impersonation targets); links that lead outside the data roots are refused."""
    identities: dict[str, Path] = {}
    folder = data_root() / "faces"
    for name, path in folder_files(folder, {".jpg"}, depth=1).files if folder.is_dir() else []:
        if len(name.parts) == 2:
            identities.setdefault(name.parts[0], path)
    return identities


def run_face_cloak(request: FaceRequest) -> tuple[bytes, dict]:
    """Cloak and measure, once per server for the same photos (by content hash) and settings."""

    def compute(progress: ui.Progress) -> tuple[bytes, dict]:
        image, options = request.open()
        cloak = cloak_faces(
            image,
            request.attack,
            recognizers=request.recognizers,
            observers=request.observers,
            callback=attack_progress(progress, "nearest distance / threshold"),
            **options,
        )
        return cloak.png, measure(cloak)

    return ui.cached_stage("face_cloak", request.key, compute, "Attacking…")


def run_leave_one_out(request: FaceRequest) -> dict:
    """One more cloak per attacked recognizer, without it, measured on it: the black-box estimate."""

    def compute(progress: ui.Progress) -> dict:
        image, options = request.open()
        callback = attack_progress(progress, "nearest distance / threshold")
        return leave_one_out(image, request.attack, request.recognizers, callback=callback, **options)

    return ui.cached_stage("leave_one_out", request.key, compute, "Black-box check: attacking without each recognizer…")


@dataclass(frozen=True)
class FaceRequest:
    """Everything a face cloak depends on: the photos' bytes and the settings; ``key`` (content hashes) is its cache key."""

    photo: bytes
    references: tuple[bytes, ...]
    target: bytes | None
    attack: Attack
    robust: bool
    margin: float
    recognizers: tuple[str, ...]
    observers: tuple[str, ...]

    @cached_property
    def key(self) -> tuple:
        photos = (content_hash(self.photo), tuple(map(content_hash, self.references)))
        target = None if self.target is None else content_hash(self.target)
        return (*photos, target, self.attack, self.robust, self.margin, self.recognizers, self.observers)

    def open(self) -> tuple[Image.Image, dict]:
        """The photo and the cloak options (references, target, robust) decoded from the bytes."""
        options = {
            "references": [open_image(ref, name="reference photo") for ref in self.references],
            "target": None if self.target is None else open_image(self.target, name="target photo"),
            "robust": self.robust,
            "margin": self.margin,
        }
        return open_image(self.photo, name="photo"), options


def run_classifier_cloak(photo: bytes, target: int | None, attack: Attack, model) -> ClassifierCloak:
    """Classifier attack, once per server for the same photo (by content hash), target class and settings."""

    def compute(progress: ui.Progress) -> ClassifierCloak:
        image = open_image(photo, name="photo")
        return cloak_classifier(image, model, attack, target=target, callback=attack_progress(progress, "loss"))

    return ui.cached_stage("classifier_cloak", (content_hash(photo), target, attack), compute, "Attacking…")


def attack_progress(progress: ui.Progress, unit: str):
    """The attack's callback (step, steps, current value) drawn through the page's progress bar."""

    def update(step: int, steps: int, value: float) -> None:
        progress(step / steps, f"Attacking: step {step}/{steps}, {unit} {value:.3f}")

    return update


def show_before_after(original, cloaked_png: bytes, download_name: str) -> None:
    cloaked = open_image(cloaked_png, name="cloaked.png", max_side=None)
    left, middle, right = st.columns(3)
    left.image(original, caption="original", width="stretch")
    middle.image(cloaked, caption="cloaked (saved PNG)", width="stretch")
    right.image(amplified_difference(to_array(original), to_array(cloaked)), caption="difference x10", width="stretch")
    st.download_button("Download cloaked PNG", cloaked_png, file_name=download_name, mime="image/png")


TRANSFER_SLIDERS = {  # Attack field: (label, maximum, step, help)
    "input_diversity": (
        "Input diversity (probability per step)",
        1.0,
        0.1,
        "Xie et al. 2019: each step, the recognizer input is shrunk and padded at random, so the cloak does not "
        "depend on one exact placement of the face: it transfers better to recognizers it never saw.",
    ),
    "translation_sigma": (
        "Gradient smoothing (Gaussian sigma, px)",
        4.0,
        0.5,
        "Translation invariance (Dong et al. 2019): the gradient is blurred before each step.",
    ),
    "feature_weight": (
        "Feature-level term (weight)",
        4.0,
        0.25,
        "Also push the TF.js recognizers' mid-depth features away from the clean face's. Measured on the demo "
        "tuning photos, it did not raise black-box protection (README), so no preset uses it.",
    ),
}


def apply_preset() -> None:
    """Move the sliders to the chosen preset's values (the user may move them again afterwards)."""
    chosen = PRESETS[st.session_state.get("preset") or DEFAULT_PRESET]
    values = asdict(chosen.attack)
    for key in TUNABLE:
        st.session_state[key] = values[key]
    st.session_state["eps"] = int(values["eps"])
    st.session_state["robust"] = chosen.robust
    st.session_state["margin"] = chosen.margin


def show_face_report(report: dict, loo: dict | None) -> None:
    """Black-box figures first (they predict a real recognizer), then every recognizer on the saved file."""
    rows = pd.DataFrame(report["faces"])
    columns = REPORT_COLUMNS + (IMPERSONATION_COLUMNS if report["mode"] == "impersonate" else [])
    if loo is not None:
        verdict = "protected" if loo["verdict"] == "protected" else "impersonated"
        st.subheader(
            f"Black box: {verdict} against {loo['unseen_recognizers_beaten']} of {loo['of']} recognizers it never saw"
        )
        st.markdown(BLACK_BOX_MEANING)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "held-out recognizer (never seen)": name,
                        "attacked instead": ", ".join(result["attacked_with"]),
                        verdict: result[verdict],
                        f"{verdict} after JPEG 75": result[f"{verdict}_after_jpeg75"],
                    }
                    for name, result in loo["black_box"].items()
                ]
            ),
            hide_index=True,
        )
    attacked = rows[rows["attacked"]]
    unseen = rows[~rows["attacked"]]
    st.subheader(
        f"White box: {int(attacked['protected'].sum())}/{len(attacked)} face-recognizer pairs protected on the saved file"
    )
    st.caption(
        f"{report['faces_found']} face(s); attack {report['seconds']} s, measuring {report['measure_seconds']} s. "
        "White-box figures are about the recognizers the cloak was optimised against: they do not predict others."
    )
    st.dataframe(attacked[[c for c in columns if c in rows]], hide_index=True, key="white_box_table")
    if len(unseen):
        st.subheader(f"Not attacked: {int(unseen['protected'].sum())}/{len(unseen)} pairs protected (black box)")
        st.dataframe(unseen[[c for c in columns if c in rows]], hide_index=True, key="unseen_table")


def uploaded_or_demo(label: str, demo: str, key: str) -> tuple[bytes, str]:
    upload = st.file_uploader(label, type=["jpg", "jpeg", "png", "webp", "bmp", "tiff", "gif"], key=key)
    if upload is not None:
        return upload.getvalue(), upload.name
    path = demo_path(demo)
    return path.read_bytes(), path.name


st.title("Cloak")
st.markdown(THREAT_MODEL)

mode = st.radio("Attack", ["Face recognizer", "ImageNet classifier"], horizontal=True, key="mode")
preset = st.segmented_control(
    "Strength preset",
    list(PRESETS),
    default=DEFAULT_PRESET,
    key="preset",
    on_change=apply_preset,
    help="Each preset is a measured point on the protection / visibility trade-off (README, bench_cloak.py); "
    "it sets the sliders below, which stay free to move.",
)
if "eps" not in st.session_state:
    apply_preset()
st.caption(PRESETS[preset or DEFAULT_PRESET].summary)
controls = st.columns(4)
method = controls[0].selectbox("Method", METHODS, format_func=METHOD_NAMES.get, key="method")
eps = controls[1].slider("Epsilon (grey levels, x/255)", 1, 16, key="eps")
steps = controls[2].slider("Steps", 1, 200, key="steps", disabled=method == "fgsm")
step_size = controls[3].slider(
    "Step size (grey levels)", 0.05, 4.0, step=0.05, key="step_size", disabled=method == "fgsm"
)
transfer = st.columns(4)
transfer_options = {
    key: column.slider(label, 0.0, top, step=step, key=key, help=help)
    for column, (key, (label, top, step, help)) in zip(transfer, TRANSFER_SLIDERS.items(), strict=False)
}
random_start = transfer[3].checkbox(
    "Random start (PGD)",
    key="random_start",
    disabled=method != "pgd",
    help="Madry et al.'s uniform start in the eps-ball: stronger against classifiers, but on faces it spreads noise "
    "over the whole mask and lowers SSIM by about 0.03 at eps 8.",
)
attack = Attack(
    method=method,
    eps=float(eps),
    steps=int(steps),
    step_size=float(step_size),
    random_start=random_start,
    **{key: float(value) for key, value in transfer_options.items()},
)

if mode == "Face recognizer":
    photo, photo_name = uploaded_or_demo("Photo to protect (default: a demo photo)", DEMO_PHOTO, "photo")
    reference_uploads = st.file_uploader(
        "Clean reference photos of the same person", accept_multiple_files=True, key="refs"
    )
    references = tuple(r.getvalue() for r in reference_uploads) if reference_uploads else (demo_bytes(DEMO_REFERENCE),)
    if not reference_uploads:
        photo_file, reference_file = demo_path(DEMO_PHOTO).name, demo_path(DEMO_REFERENCE).name
        st.caption(f"Demo: `{photo_file}`, with `{reference_file}` as the clean reference.")
    goal = st.radio("Goal", ["Dodging", "Impersonation"], horizontal=True, key="goal")
    target = None
    if goal == "Impersonation":
        target_upload = st.file_uploader("Target person's photo", key="target_upload")
        identities = demo_identities()
        name = st.selectbox(
            "…or a demo identity", list(identities), key="target_identity", disabled=target_upload is not None
        )
        if target_upload is None and not identities:
            st.info("There are no demo identities on this server: upload the target person's photo.")
            st.stop()
        target = target_upload.getvalue() if target_upload is not None else identities[name].read_bytes()
    available = available_recognizers()
    chosen = st.multiselect(
        "Recognizers to attack (ensemble)",
        available,
        default=available,
        key="recognizers",
        format_func=lambda name: get_spec(name).title,
        help="Every distance is divided by its recognizer's threshold, so they weigh the same. A recognizer left out "
        "here is still measured: as a black box the cloak never saw.",
    )
    for name in RECOGNIZERS:
        if name not in available:
            st.caption(f"{get_spec(name).title} is unavailable: {availability(name)[1]}")
    options = st.columns(3)
    robust = options[0].checkbox("Robust to re-encoding (EOT: resize, blur, JPEG)", key="robust")
    margin = options[1].slider(
        "Goal margin (past the threshold)",
        0.0,
        4.0,
        step=0.25,
        key="margin",
        help="How far past each attacked recognizer's threshold to push a face, in threshold units. Pushing further "
        "than needed costs image quality but carries further to recognizers the cloak never saw.",
    )
    black_box_check = options[2].checkbox(
        "Black-box check (leave-one-out)",
        value=True,
        key="black_box",
        disabled=len(chosen) < 2,
        help="One more cloak per attacked recognizer, without it, measured on it. This estimates protection against "
        "a recognizer the cloak never saw, such as the ones real services run.",
    )
    request = FaceRequest(
        photo,
        references,
        target,
        attack,
        robust,
        float(margin),
        tuple(chosen),
        tuple(name for name in available if name not in chosen),
    )
    if st.button("Run attack", type="primary", key="run_faces", disabled=not chosen):
        try:
            png, report = run_face_cloak(request)
            loo = run_leave_one_out(request) if black_box_check and len(chosen) >= 2 else None
            st.session_state["face_result"] = (request, photo_name, png, report, loo)
        except (ImageError, NoFaceError) as err:
            ui.error(str(err))
    if "face_result" in st.session_state:
        done, original_name, png, report, loo = st.session_state["face_result"]
        if done != request:
            st.warning("These results are for earlier settings or photos: press Run attack to update them.")
        show_before_after(
            open_image(done.photo, name=original_name), png, f"{original_name.rsplit('.', 1)[0]}_cloaked.png"
        )
        show_face_report(report, loo)
else:
    photo, photo_name = uploaded_or_demo(
        "Photo to classify (default: a giant panda)", DEMO_CLASSIFIER_PHOTO, "classifier_photo"
    )
    target_name = st.selectbox("Target class", ["(untargeted)", *imagenet_categories()], key="target_class")
    loaded = ui.model_or_error("mobilenet_v2")
    if st.button("Run attack", type="primary", key="run_classifier") and loaded:
        target = None if target_name == "(untargeted)" else class_index(target_name)
        try:
            result = run_classifier_cloak(photo, target, attack, loaded.model)
            st.session_state["classifier_result"] = (photo, photo_name, result)
        except ImageError as err:
            ui.error(str(err))
    if "classifier_result" in st.session_state:
        original_bytes, original_name, result = st.session_state["classifier_result"]
        show_before_after(
            open_image(original_bytes, name=original_name), result.png, f"{original_name.rsplit('.', 1)[0]}_cloaked.png"
        )
        verdict = "reached" if result.success else "not reached"
        st.subheader(f"Goal {verdict}: {result.before[0].label} → {result.after[0].label}")
        before, after = st.columns(2)
        before.dataframe(pd.DataFrame([p.__dict__ for p in result.before]), hide_index=True)
        after.dataframe(pd.DataFrame([p.__dict__ for p in result.after]), hide_index=True)
        st.caption(f"Image quality: {result.quality}; {result.seconds:.1f} s")
