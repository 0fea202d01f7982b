"""Find Waldo: the Mask R-CNN trained in this repository searches a whole page tile by tile and masks Waldo out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st
import torch

import ui
from core.cache import pixels_hash
from core.config import MODELS_DIR, FolderFiles, folder_files
from core.images import ImageError, open_image, to_array
from core.models import get_spec
from core.text import plain_markdown
from core.waldo.data import NEW_ARTWORK_PAGES, VALIDATION_PAGES, load_annotations, waldo_dir
from core.waldo.eval import answer_ranks
from core.waldo.infer import (
    Detection,
    FindResult,
    draw_boxes,
    draw_truth,
    find_waldo,
    hint_window,
    spotlight,
    window_mask,
    zoom,
)
from core.waldo.synth import make_page
from core.waldo.train import LOSS_COLUMNS

SOURCES = ["Synthetic crowd (works offline)", "Real page from the data folder", "Upload a page"]
REVEAL = ["half the page", "a quarter", "an eighth", "Waldo"]
LOSS_LOG = MODELS_DIR / "waldo.losses.csv"


@st.cache_data(show_spinner=False, max_entries=16)
def synthetic_page(seed: int, waldo: bool) -> tuple[np.ndarray, np.ndarray]:
    """The page and its exact Waldo box (none when he is left out)."""
    page = make_page(seed, (768, 1024), waldo=waldo)
    return page.image, page.boxes


@st.cache_data(show_spinner=False, max_entries=16)
def real_page(name: str) -> np.ndarray:
    return to_array(open_image(waldo_dir() / "pages" / name, max_side=None))


@st.cache_data(show_spinner=False)
def annotated_boxes(name: str) -> np.ndarray | None:
    """The data folder's Waldo boxes for page ``name``; None when the page (or the annotation file) has none."""
    path = waldo_dir() / "annotations.json"
    page = load_annotations(path).get(name) if path.is_file() else None
    return None if page is None else page.boxes


def answer_note(ranks: list[int | None], detections: list[Detection]) -> str:
    """Where the true Waldo(s) of the page rank among the finds, in words."""
    said = [
        "not among the candidates" if rank is None else f"candidate {rank} (score {detections[rank - 1].score:.2f})"
        for rank in ranks
    ]
    if not said:
        return "The answer: there is no Waldo on this page, so every find is a false alarm."
    if len(said) == 1:
        return f"The answer: Waldo is {said[0]}."
    return f"The answer: this page has {len(said)} Waldos (a stamp or portrait counts): {'; '.join(said)}."


def search(image: np.ndarray, model: torch.nn.Module, thorough: bool) -> FindResult:
    """The page searched once per server, keyed by its pixels and the search mode; the model is the process-wide
    one from ui.load_model."""
    return ui.cached_stage(
        "waldo_search",
        (pixels_hash(image), thorough),
        lambda progress: find_waldo(model, image, mirror=thorough, coarse=thorough, progress=progress),
        "Searching the page tile by tile…",
    )


def confidence_note(score: float, bands: tuple[dict, ...]) -> str:
    """What a top find's score has meant on the pages the model never trained on (``bands``: the registry's
    calibration), in counts of pages."""
    band = next(row for row in reversed(bands) if score >= row["from"])
    return (
        f"How sure is it? Its best find scores {score:.2f}. On the pages it never trained on, a top find scoring "
        f"{band['from']:.2f}–{band['to']:.2f} was Waldo on {band['waldo']} of {band['pages']} pages."
    )


@st.cache_data(show_spinner=False)
def loss_curves(path: str, modified: float) -> pd.DataFrame:
    table = pd.read_csv(path)
    smooth = table[list(LOSS_COLUMNS)].rolling(50, min_periods=1).mean()
    smooth["iteration"] = table["iteration"]
    return smooth.melt(id_vars="iteration", var_name="loss", value_name="value (rolling mean of 50)")


st.title("Find Waldo")
st.caption(
    "A Mask R-CNN (MobileNetV2 backbone, trained in this project on real pages and synthetic crowds) "
    "searches the page in overlapping tiles at native scale and masks Waldo out, the rest of the page dimmed."
)

loaded = ui.model_or_error("waldo_maskrcnn")
if loaded is None:
    st.stop()
meta = get_spec("waldo_maskrcnn").meta
fresh, chose = meta["new_artwork"], meta["validation"]
st.caption(
    f"How often it is right on artwork it never saw: on the {fresh['pages']} pages of new artwork added after it was "
    f"trained and chosen (no choice about it ever looked at them), its top find is Waldo on "
    f"{fresh['top1_hit_rate']:.0%} of pages (95% interval {fresh['top1_ci95'][0]:.0%}–{fresh['top1_ci95'][1]:.0%}), "
    f"AP50 {fresh['ap50']:.2f} ({fresh['ap50_ci95'][0]:.2f}–{fresh['ap50_ci95'][1]:.2f}). On the {chose['pages']} "
    f"validation pages that chose it among about nine training runs it scores {chose['top1_hit_rate']:.0%} and "
    f"AP50 {chose['ap50']:.2f}, figures that overstate. So few pages make every figure uncertain, and a score is not "
    "a probability: treat a find as a suggestion to check."
)
crossed = meta["cross_validation"]
st.caption(
    f"How its training recipe does, cross-validated by artwork: each fold's pages are searched by a model trained "
    f"the same way on every page but that fold's artwork. Folds scored so far: "
    f"{', '.join(map(str, crossed['folds_scored']))} of {crossed['folds']} ({crossed['pages']} pages); top find "
    f"Waldo on {crossed['top1_hit_rate']:.0%} (95% interval, resampling whole artworks, "
    f"{crossed['top1_ci95'][0]:.0%}–{crossed['top1_ci95'][1]:.0%}), AP50 {crossed['ap50']:.2f} "
    f"({crossed['ap50_ci95'][0]:.2f}–{crossed['ap50_ci95'][1]:.2f})."
)


source = st.radio("Page", SOURCES, horizontal=True, key="waldo_source")
image = truth = None  # truth: the page's true Waldo boxes where known (synthetic or annotated), to check finds against
if source == SOURCES[0]:
    seed = st.number_input("Crowd seed", min_value=0, max_value=10**6, value=7, step=1, key="waldo_seed")
    absent = st.checkbox("The same crowd without Waldo", key="waldo_absent")
    image, truth = synthetic_page(int(seed), not absent)
elif source == SOURCES[1]:
    folder = waldo_dir() / "pages"
    listing = folder_files(folder, {".jpg"}, depth=0) if folder.is_dir() else FolderFiles()
    names = [relative.as_posix() for relative, _ in listing.files]  # links that lead outside the data roots: refused
    for reason in listing.reasons:
        st.warning(f"skipped {plain_markdown(reason)}")
    if not names:
        ui.error(f"No Waldo pages in {folder}: set HIDESEEK_DATA to the shared data folder.")
    else:
        tags = {
            **dict.fromkeys(VALIDATION_PAGES, " (validation)"),
            **dict.fromkeys(NEW_ARTWORK_PAGES, " (new artwork)"),
        }
        name = st.selectbox(
            "Page (validation and new-artwork pages were never trained on)",
            names,
            format_func=lambda n: n + tags.get(n, ""),
            key="waldo_page",
        )
        try:
            image, truth = real_page(name), annotated_boxes(name)
        except ImageError as err:
            ui.error(str(err))
        except ValueError as err:  # an unreadable annotations file: the page still works, without the answer
            ui.error(f"{waldo_dir() / 'annotations.json'}: {err}")
else:
    upload = st.file_uploader("A Where's-Waldo page (JPEG/PNG/WebP)", type=None, key="waldo_upload")
    if upload is not None:
        opened = ui.open_upload(upload)
        image = None if opened is None else to_array(opened)
if image is None:
    st.stop()

threshold = st.slider(
    "Confidence threshold", 0.05, 0.99, float(get_spec("waldo_maskrcnn").meta["threshold"]), 0.01, key="waldo_threshold"
)
thorough = st.toggle(
    "Thorough search: the mirror image and a coarse pass too (about twice as slow)",
    key="waldo_thorough",
    help="Test-time augmentation: the page, its mirror image and the page shrunk to about two tiles across "
    "(where a poster-sized Waldo fits one tile) are searched and their finds merged.",
)
result = search(image, loaded.model, thorough)
st.caption(f"Searched {result.tiles} tiles of a {result.width}×{result.height} page in {result.seconds:.1f} s.")

show_truth = False
if truth is not None:
    st.caption(answer_note(answer_ranks(result.detections, truth), result.detections))
    show_truth = st.toggle("Show the answer (green)", key="waldo_truth")

finds = result.above(threshold)
if not finds:
    st.warning(f"No Waldo found above a confidence of {threshold:.2f}.")
    if result.detections:
        st.caption(f"The best candidate scored {result.detections[0].score:.2f}; lower the threshold to see it.")
    st.image(draw_truth(image, truth) if show_truth else image, width="stretch")
    st.stop()

hints = st.toggle("Hint mode: narrow it down before showing him", key="waldo_hints")
reveal = st.select_slider("Reveal", REVEAL, key="waldo_reveal") if hints else REVEAL[-1]
if reveal != REVEAL[-1]:
    window = hint_window(finds[0], result.width, result.height, REVEAL.index(reveal) + 1)
    st.image(spotlight(image, window_mask(result.height, result.width, window)), width="stretch")
    st.caption("The best find is somewhere in the bright part of the page.")
    st.stop()

if hints:
    st.caption(confidence_note(finds[0].score, meta["calibration"]))
found = draw_boxes(spotlight(image, result.mask(threshold)), finds)
st.image(draw_truth(found, truth) if show_truth else found, width="stretch")
st.subheader(f"{len(finds)} find{'s' if len(finds) > 1 else ''}")
for column, (rank, detection) in zip(st.columns(min(len(finds), 5)), enumerate(finds[:5], start=1), strict=False):
    column.image(zoom(image, detection), caption=f"{rank}: score {detection.score:.2f}", width="stretch")
st.dataframe(
    pd.DataFrame([{"rank": k, **d.as_dict()} for k, d in enumerate(finds, start=1)]), hide_index=True, width="stretch"
)

if LOSS_LOG.is_file():
    with st.expander("Training losses of the shipped model"):
        curves = loss_curves(str(LOSS_LOG), LOSS_LOG.stat().st_mtime)
        st.plotly_chart(px.line(curves, x="iteration", y="value (rolling mean of 50)", color="loss", log_y=True))
