"""Cloak: protect a photo with an adversarial perturbation, then see what the recognizer makes of the saved file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from core.cache import content_hash
from core.cloak.attacks import METHODS, Attack
from core.cloak.classifier import ClassifierCloak, class_index, cloak_classifier
from core.cloak.face_cloak import DEFAULT_RECOGNIZER, NoFaceError, cloak_faces
from core.cloak.quality import amplified_difference
from core.cloak.report import measure
from core.config import data_root
from core.faces import available_recognizers
from core.images import ImageError, open_image, to_array
from core.models.builders import imagenet_categories

DEMO_PHOTO = "faces/Colin_Powell/Colin_Powell_0001.jpg"
DEMO_REFERENCE = "faces/Colin_Powell/Colin_Powell_0002.jpg"
DEMO_CLASSIFIER_PHOTO = "imagenet_samples/images/n02510455_giant_panda.JPEG"
METHOD_NAMES = {"fgsm": "FGSM (one step)", "pgd": "PGD (random start)", "mifgsm": "MI-FGSM (momentum)"}
REPORT_COLUMNS = [
    "face", "recognizer", "threshold", "references", "distance_before", "distance_after", "protected",
    "protected_after_jpeg90", "protected_after_jpeg75", "protected_after_resize50",
    "distance_after_jpeg75", "redetected", "ssim", "dssim", "psnr", "linf", "l2",
]  # fmt: skip
IMPERSONATION_COLUMNS = ["target_distance_before", "target_distance_after", "impersonated", "impersonated_after_jpeg75"]

THREAT_MODEL = """
**Threat model: evasion at match time.** A recognizer compares your cloaked photo with other photos of you (a
reference photo, or a gallery someone enrolled). The cloak works for a face when the recognizer's distance between
the cloaked face and your clean photos is above its threshold, so it does not match. Every number below is measured
on the saved PNG (decoded again, faces detected again), and again after JPEG 90/75 and a 0.5x resize.

This is **not** gallery poisoning (Fawkes-style), where cloaked photos are meant to corrupt a model *trained* on
them so that it later fails on your clean photos. A match-time cloak only protects the photos that carry it, and
only against recognizers like the ones it was optimised for.
"""


def demo_bytes(relative: str) -> bytes:
    return (data_root() / relative).read_bytes()


def demo_identities() -> dict[str, str]:
    """Identity -> its first photo, relative to the data root (for impersonation targets)."""
    folder = data_root() / "faces"
    return {
        person.name: str(sorted(person.glob("*.jpg"))[0].relative_to(data_root()))
        for person in sorted(folder.iterdir())
        if person.is_dir() and any(person.glob("*.jpg"))
    }


def run_face_cloak(
    photo: bytes,
    references: tuple[bytes, ...],
    target: bytes | None,
    attack: Attack,
    robust: bool,
    recognizers: tuple[str, ...],
) -> tuple[bytes, dict]:
    """Cloak and measure, once per server for the same photos (by content hash) and settings."""

    def compute(progress: ui.Progress) -> tuple[bytes, dict]:
        cloak = cloak_faces(
            open_image(photo, name="photo"),
            attack,
            recognizers=recognizers,
            references=[open_image(ref, name="reference photo") for ref in references],
            target=open_image(target, name="target photo") if target else None,
            robust=robust,
            callback=attack_progress(progress, "nearest distance / threshold"),
        )
        return cloak.png, measure(cloak)

    key = (content_hash(photo), tuple(map(content_hash, references)), target and content_hash(target))
    return ui.cached_stage("face_cloak", (*key, attack, robust, recognizers), compute, "Attacking…")


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


def uploaded_or_demo(label: str, demo: str, key: str) -> tuple[bytes, str]:
    upload = st.file_uploader(label, type=["jpg", "jpeg", "png", "webp", "bmp", "tiff", "gif"], key=key)
    if upload is not None:
        return upload.getvalue(), upload.name
    return demo_bytes(demo), demo.rsplit("/", 1)[-1]


st.title("Cloak")
st.markdown(THREAT_MODEL)

mode = st.radio("Attack", ["Face recognizer", "ImageNet classifier"], horizontal=True, key="mode")
controls = st.columns(4)
method = controls[0].selectbox("Method", METHODS, index=1, format_func=METHOD_NAMES.get, key="method")
eps = controls[1].slider("Epsilon (grey levels, x/255)", 1, 16, 8, key="eps")
steps = controls[2].slider("Steps", 1, 200, 40, key="steps", disabled=method == "fgsm")
step_size = controls[3].slider(
    "Step size (grey levels)", 0.05, 4.0, 0.5, 0.05, key="step_size", disabled=method == "fgsm"
)
random_start = st.checkbox(
    "Random start (PGD)",
    value=False,
    key="random_start",
    disabled=method != "pgd",
    help="Madry et al.'s uniform start in the eps-ball: stronger against classifiers, but on faces it spreads noise "
    "over the whole mask and lowers SSIM by about 0.03 at eps 8.",
)
attack = Attack(method=method, eps=float(eps), steps=int(steps), step_size=float(step_size), random_start=random_start)

if mode == "Face recognizer":
    photo, photo_name = uploaded_or_demo("Photo to protect (default: a demo photo)", DEMO_PHOTO, "photo")
    reference_uploads = st.file_uploader(
        "Clean reference photos of the same person", accept_multiple_files=True, key="refs"
    )
    references = tuple(r.getvalue() for r in reference_uploads) if reference_uploads else (demo_bytes(DEMO_REFERENCE),)
    if not reference_uploads:
        st.caption(f"Demo: `{DEMO_PHOTO}`, with `{DEMO_REFERENCE}` as the clean reference.")
    goal = st.radio("Goal", ["Dodging", "Impersonation"], horizontal=True, key="goal")
    target = None
    if goal == "Impersonation":
        target_upload = st.file_uploader("Target person's photo", key="target_upload")
        identities = demo_identities()
        name = st.selectbox(
            "…or a demo identity", list(identities), key="target_identity", disabled=target_upload is not None
        )
        target = target_upload.getvalue() if target_upload is not None else demo_bytes(identities[name])
    recognizers = available_recognizers()
    options = st.columns(2)
    robust = options[0].checkbox("Robust to re-encoding (EOT: resize, blur, JPEG)", value=True, key="robust")
    ensemble = options[1].checkbox(
        f"Ensemble over all available recognizers ({', '.join(recognizers)})",
        key="ensemble",
        disabled=len(recognizers) < 2,
        help="Only recognizers whose real weights are installed are listed.",
    )
    if st.button("Run attack", type="primary", key="run_faces") and ui.model_or_error(DEFAULT_RECOGNIZER):
        chosen = tuple(recognizers) if ensemble else (DEFAULT_RECOGNIZER,)
        try:
            png, report = run_face_cloak(photo, references, target, attack, robust, chosen)
            st.session_state["face_result"] = (photo, photo_name, png, report)
        except (ImageError, NoFaceError) as err:
            st.error(str(err))
    if "face_result" in st.session_state:
        original_bytes, original_name, png, report = st.session_state["face_result"]
        show_before_after(
            open_image(original_bytes, name=original_name), png, f"{original_name.rsplit('.', 1)[0]}_cloaked.png"
        )
        rows = pd.DataFrame(report["faces"])
        columns = REPORT_COLUMNS + (IMPERSONATION_COLUMNS if report["mode"] == "impersonate" else [])
        protected = int(rows["protected"].sum())
        st.subheader(f"Report: {protected}/{len(rows)} face-recognizer pairs protected on the saved file")
        st.caption(
            f"{report['faces_found']} face(s); attack {report['seconds']} s, measuring {report['measure_seconds']} s."
        )
        st.dataframe(rows[[c for c in columns if c in rows]], hide_index=True)
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
            st.error(str(err))
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
