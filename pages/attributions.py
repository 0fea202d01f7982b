"""Attributions: what in this picture made the classifier say X? Captum maps side by side, each scored for
faithfulness (deletion/insertion against a random order), with an optional model-randomisation sanity check."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
import torch
from PIL import Image

import ui
from core.attribution import METHODS, Attribution, Settings
from core.attribution.classifier import categories, classifier_view, query_only_scorer, top_predictions
from core.attribution.demos import SKIMAGE_PHOTOS, face_photos, imagenet_samples, open_sample, skimage_photo
from core.attribution.face_pair import FACE_METHODS, FacePair, explain_face_pair
from core.attribution.faithfulness import rank_by_deletion
from core.attribution.methods import blackbox_occlusion
from core.attribution.panel import attribute_all, score_all
from core.attribution.render import COLORMAPS, faithfulness_figure, overlay
from core.attribution.sanity import FLAG_CORRELATION, SanityResult, sanity_check
from core.cache import pixels_hash
from core.faces import Face, available_recognizers
from core.faces.collection import detect_faces_cached
from core.images import ImageError, open_image

MODEL = "mobilenet_v2"
DEFAULT_METHODS = ["saliency", "ig", "gradcam"]
GRID_COLUMNS = 4
DEFAULT_FACES = ("Colin_Powell/Colin_Powell_0001.jpg", "Colin_Powell/Colin_Powell_0002.jpg")


@dataclass(frozen=True)
class Request:
    """One classifier explanation: the crop the model sees (by content hash), the class and the settings."""

    pixels_key: str
    target: int
    methods: tuple[str, ...]
    settings: Settings


def maps(request: Request, inputs: torch.Tensor) -> list[Attribution]:
    model = ui.load_model(MODEL).model
    return ui.cached_stage(
        "attributions",
        request,
        lambda progress: attribute_all(model, inputs, request.target, request.methods, request.settings, progress),
        "Attributing…",
    )


def faithfulness(request: Request, inputs: torch.Tensor, attributions: list[Attribution]):
    model = ui.load_model(MODEL).model
    return ui.cached_stage(
        "faithfulness",
        request,
        lambda progress: score_all(model, inputs, request.target, attributions, progress=progress),
        "Deleting and inserting pixels in the order each map ranks them…",
    )


def sanity(request: Request, inputs: torch.Tensor, attributions: list[Attribution]) -> list[SanityResult]:
    model = ui.load_model(MODEL).model
    return ui.cached_stage(
        "sanity",
        request,
        lambda progress: sanity_check(model, inputs, attributions, request.settings),
        "Re-running every method on a copy with random top layers…",
    )


def blackbox(request: Request, pixels) -> Attribution:
    scorer = query_only_scorer(ui.load_model(MODEL).model, request.target)
    return ui.cached_stage(
        "blackbox_occlusion",
        (request.pixels_key, request.target, request.settings),
        lambda progress: blackbox_occlusion(scorer, pixels, request.settings),
        "Querying the classifier with occluded copies…",
    )


@st.cache_data(show_spinner=False)
def cached_samples(folder: str) -> list:
    return imagenet_samples(folder)


def face_pair(picked_a: tuple, picked_b: tuple, recognizer: str, methods: tuple[str, ...]) -> FacePair:
    (key_a, image_a, faces_a, index_a), (key_b, image_b, faces_b, index_b) = picked_a, picked_b
    return ui.cached_stage(
        "face_pair",
        (key_a, index_a, key_b, index_b, recognizer, methods),
        lambda progress: explain_face_pair(image_a, faces_a[index_a], image_b, faces_b[index_b], recognizer, methods),
        "Attributing the similarity to face A's pixels…",
    )


def pick_face(side: str, default: str, column) -> tuple[str, Image.Image, list[Face], int] | None:
    """One side of the pair: a demo photo or an upload, and which detected face in it; None after an error."""
    with column:
        st.markdown(f"**Face {side}**")
        image = None
        if st.radio("Source", ["Demo face", "Upload"], horizontal=True, key=f"face_source_{side}") == "Demo face":
            folder = ui.data_folder("faces")
            if folder is None:
                return None
            try:
                photos = face_photos(folder)
                names = [p.relative_to(folder).as_posix() for p in photos]
                choice = st.selectbox(
                    "Photo", names, index=names.index(default) if default in names else 0, key=f"face_photo_{side}"
                )
                image = open_image(photos[names.index(choice)])
            except (OSError, ImageError, KeyError, ValueError) as err:
                ui.error(f"Cannot read the demo faces: {err}")
                return None
        else:
            uploaded = st.file_uploader("A photo with a face", key=f"face_upload_{side}")
            image = ui.open_upload(uploaded) if uploaded is not None else None
            if image is None:
                st.info("Upload a photo for this side.")
                return None
        key = pixels_hash(image)
        with st.spinner("Finding faces…"):
            faces = detect_faces_cached(image, key)
        if not faces:
            st.error(f"No face found in photo {side}: try another photo (MTCNN needs a face of about 20 px or more).")
            return None
        index = 0
        if len(faces) > 1:
            index = st.selectbox(f"{len(faces)} faces: which one", range(len(faces)), key=f"face_index_{side}")
        return key, image, faces, index


def face_pair_mode() -> None:
    st.caption(
        "Which pixels of face A make the recognizer find it close to face B? The score is minus the L2 distance "
        "between their embeddings; it is attributed to a crop around face A through the differentiable alignment."
    )
    recognizers = available_recognizers()
    if not recognizers:
        st.error("No face recognizer is available (see the Home page's model table for why).")
        return
    recognizer = st.selectbox("Recognizer", recognizers, key="recognizer")
    if ui.model_or_error(recognizer) is None or ui.model_or_error("mtcnn") is None:
        return
    methods = st.multiselect(
        "Methods",
        list(FACE_METHODS),
        default=list(FACE_METHODS),
        format_func=lambda m: METHODS[m].title,
        key="face_methods",
    )
    left, right = st.columns(2)
    picked_a, picked_b = pick_face("A", DEFAULT_FACES[0], left), pick_face("B", DEFAULT_FACES[1], right)
    if picked_a is None or picked_b is None or not methods:
        if not methods:
            st.info("Choose at least one method.")
        return
    pair = face_pair(picked_a, picked_b, recognizer, tuple(methods))
    verdict = "same person" if pair.same_person else "different people"
    st.metric(
        "Distance A–B (L2)",
        f"{pair.distance:.3f}",
        help=f"{recognizer} threshold {pair.threshold}: below it, the same person",
    )
    st.write(f"The recognizer says: **{verdict}** (threshold {pair.threshold}).")
    columns = st.columns(len(pair.attributions) + 2)
    columns[0].image(pair.a.pixels, caption="Face A", width="stretch")
    for column, result in zip(columns[1:-1], pair.attributions, strict=True):
        column.image(
            overlay(pair.a.pixels, result.map),
            caption=f"{METHODS[result.method].title} · {result.seconds:.2f} s",
            width="stretch",
        )
    columns[-1].image(pair.b.pixels, caption="Face B", width="stretch")


st.title("Attributions")
if st.radio("Explain", ["ImageNet classifier", "Face pair"], horizontal=True, key="mode") == "Face pair":
    face_pair_mode()
    st.stop()
st.caption(
    "What in this picture made the ImageNet classifier (MobileNetV2) say what it said? Every map is computed by "
    "Captum on the 224×224 crop the model sees, and scored by how fast the class probability falls when the "
    "pixels it ranks highest are deleted (RISE deletion/insertion, Petsiuk et al. 2018)."
)

source = st.radio("Image", ["Demo photo", "ImageNet sample", "Upload"], horizontal=True, key="source")
image = None
if source == "Demo photo":
    image = skimage_photo(st.selectbox("scikit-image photo", SKIMAGE_PHOTOS, key="photo"))
elif source == "ImageNet sample":
    folder = ui.data_folder("imagenet_samples")
    if folder is not None:
        try:
            samples = cached_samples(str(folder))
            chosen = st.selectbox(
                "Sample (type to search)",
                range(len(samples)),
                format_func=lambda i: f"{samples[i].name} (class {samples[i].class_index})",
                key="sample",
            )
            image = open_sample(samples[chosen])
        except (OSError, ImageError, KeyError, ValueError) as err:
            ui.error(f"Cannot read the ImageNet samples: {err}")
else:
    uploaded = st.file_uploader("An image", type=None, key="upload")
    if uploaded is None:
        st.info("Upload a photo to explain, or pick a demo.")
    else:
        image = ui.open_upload(uploaded)
if image is None:
    st.stop()

loaded = ui.model_or_error(MODEL)
if loaded is None:
    st.stop()
view = classifier_view(image)
pixels_key = pixels_hash(view.pixels)
top5 = top_predictions(loaded.model, view.inputs)
names = categories()

if st.session_state.get("target_for") != pixels_key:  # a new image: explain its top-1 again
    st.session_state["target_for"] = pixels_key
    st.session_state["target"] = top5[0].index

left, right = st.columns([1, 2])
with left:
    st.image(view.pixels, caption="What the model sees (resize 256, centre crop 224)", width="stretch")
with right:
    st.dataframe(
        pd.DataFrame(
            {
                "class": [p.index for p in top5],
                "name": [p.name for p in top5],
                "probability": [p.probability for p in top5],
            }
        ),
        hide_index=True,
        column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)},
    )
    target = st.selectbox(
        "Class to explain (type to search all 1000)",
        range(len(names)),
        format_func=lambda i: f"{i}: {names[i]}",
        key="target",
    )
    methods = st.multiselect(
        "Methods", list(METHODS), default=DEFAULT_METHODS, format_func=lambda m: METHODS[m].title, key="methods"
    )

with st.expander("Method settings and display"):
    c1, c2, c3 = st.columns(3)
    settings = Settings(
        ig_steps=c1.slider("Integrated Gradients steps", 8, 128, Settings.ig_steps, key="ig_steps"),
        smoothgrad_samples=c1.slider("SmoothGrad samples", 4, 64, Settings.smoothgrad_samples, key="sg_samples"),
        smoothgrad_noise=c2.slider("SmoothGrad noise (fraction of range)", 0.05, 0.5, Settings.smoothgrad_noise),
        occlusion_window=c2.slider("Occlusion window (px)", 8, 112, Settings.occlusion_window, key="occ_window"),
        occlusion_stride=c3.slider("Occlusion stride (px)", 4, 56, Settings.occlusion_stride, key="occ_stride"),
    )
    opacity = c3.slider("Heatmap opacity", 0.0, 1.0, 0.6, key="opacity")
    colormap = c3.selectbox("Colormap", list(COLORMAPS), key="colormap")

if not methods:
    st.info("Choose at least one method.")
    st.stop()

request = Request(pixels_key, target, tuple(dict.fromkeys(methods)), settings)
attributions = maps(request, view.inputs)

st.subheader(f"Why “{names[target]}”?")
for start in range(0, len(attributions), GRID_COLUMNS):
    for column, result in zip(st.columns(GRID_COLUMNS), attributions[start : start + GRID_COLUMNS], strict=False):
        column.image(
            overlay(view.pixels, result.map, colormap, opacity),
            caption=f"{METHODS[result.method].title} · {result.seconds:.2f} s",
            width="stretch",
        )

st.subheader("Faithfulness")
if st.toggle("Score the maps (deletion / insertion curves)", value=True, key="score"):
    scores, baseline = faithfulness(request, view.inputs, attributions)
    titles = {m: METHODS[m].title for m in methods}
    st.plotly_chart(faithfulness_figure(scores, baseline, titles), key="curves")
    ranking = rank_by_deletion(scores)
    st.dataframe(
        pd.DataFrame(
            {
                "rank": range(1, len(ranking) + 1),
                "method": [titles[r.name] for r in ranking],
                "deletion AUC ↓": [r.deletion.auc for r in ranking],
                "insertion AUC ↑": [r.insertion.auc for r in ranking],
                "beats random (deletion)": [r.deletion.auc < baseline.deletion.auc for r in ranking],
            }
        ),
        hide_index=True,
    )
    st.caption(
        f"Random pixel order: deletion AUC {baseline.deletion.auc:.3f}, insertion AUC {baseline.insertion.auc:.3f} "
        "(mean of 3 orders). Deleted pixels take the dataset's mean colour; insertion starts from a blurred copy."
    )

st.subheader("Sanity check (Adebayo et al. 2018)")
if st.toggle("Randomise the classifier's top layers and compare the maps", value=False, key="sanity"):
    randomised = sanity(request, view.inputs, attributions)
    st.dataframe(
        pd.DataFrame(
            {
                "method": [METHODS[r.method].title for r in randomised],
                "rank correlation with the original map": [r.rank_correlation for r in randomised],
                "flag": ["barely changes: ignores the weights" if r.flagged else "" for r in randomised],
            }
        ),
        hide_index=True,
    )
    st.caption(
        f"The classifier head and the last two blocks get fresh random weights; a Spearman correlation above "
        f"{FLAG_CORRELATION} means the map hardly depends on what the model learned."
    )
    for column, result in zip(st.columns(len(randomised)), randomised, strict=True):
        column.image(
            overlay(view.pixels, result.randomized_map, colormap, opacity), caption=METHODS[result.method].title
        )

st.subheader("Black-box occlusion")
if st.toggle("Occlude through a query-only interface", value=False, key="blackbox"):
    occluded = blackbox(request, view.pixels)
    st.image(
        overlay(view.pixels, occluded.map, colormap, opacity),
        caption=f"Drop in P({names[target]}) when a grey {settings.occlusion_window}px window covers each place · "
        f"{occluded.seconds:.2f} s",
        width=320,
    )
    st.caption(
        "The classifier is wrapped as a function from uint8 images to the class probability, as a remote API "
        "would be: no gradients, no weights. Any such scoring function works (core.attribution.methods.blackbox_occlusion)."
    )
