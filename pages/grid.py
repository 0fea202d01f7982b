"""Image grid: embed a collection with MobileNetV2, map it with t-SNE or UMAP, snap the map to a grid (linear
assignment) and explore it — click a cell to open the image and its nearest neighbours."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

import ui
from core.cache import content_hash
from core.config import data_root
from core.grid import layout_table, mosaic, png_bytes
from core.grid.assign import EXACT_MAX_CELLS, GridAssignment, assign, grid_shape
from core.grid.collections import Collection, from_folder, from_uploads, load_dataset
from core.grid.embed import Embedded, embed, preview, thumbnail
from core.grid.quality import grid_knn_preservation, label_agreement, map_knn_preservation, neighbours_of
from core.grid.reduce import reduce
from core.grid.view import Selection, index_from_selection, mosaic_figure, next_selection, scatter_figure
from core.images import ImageError
from core.text import plain_markdown

SOURCES = {
    "ImageNet samples (500 photos)": "imagenet_samples",
    "CIFAR-10 (500 images, labelled)": "cifar10",
    "Demo pack (15 public-domain and CC0 photos)": "demo_photos",
    "digits (scikit-learn, 8x8, offline)": "digits",
    "Folder under the data root": "folder",
    "Upload images or a zip": "upload",
}
NEIGHBOURS = 8
MODEL = "mobilenet_v2"


@st.cache_resource(show_spinner="Listing and hashing the images…", max_entries=8)
def named_collection(source: str, folder: str, limit: int) -> Collection:
    collection = from_folder(folder, limit) if source == "folder" else load_dataset(source, limit)
    _ = collection.hashes  # hash once per server process, not on every rerun
    return collection


def embed_stage(collection: Collection, model: torch.nn.Module | None) -> Embedded:
    """Features once per server for this collection (the disk cache also keeps each image's vector across restarts)."""
    return ui.cached_stage(
        "grid_embed",
        (collection.fingerprint, MODEL),
        lambda progress: embed(collection, model, MODEL, progress=progress),
        f"Embedding {len(collection)} images…",
    )


@dataclass(frozen=True)
class MapSettings:
    reducer: str
    perplexity: float
    n_neighbors: int
    min_dist: float


def map_stage(fingerprint: str, features: np.ndarray, settings: MapSettings) -> tuple[np.ndarray, float]:
    def compute(progress: ui.Progress) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        progress(0.0, f"Mapping with {settings.reducer}…")
        points = reduce(
            features,
            settings.reducer,
            perplexity=settings.perplexity,
            n_neighbors=settings.n_neighbors,
            min_dist=settings.min_dist,
        )
        return points, time.perf_counter() - start

    return ui.cached_stage("grid_map", (fingerprint, MODEL, settings), compute, f"Mapping with {settings.reducer}…")


def mosaic_with_png(collection: Collection, assignment: GridAssignment, cell_size: int) -> tuple[np.ndarray, bytes]:
    """The mosaic and its PNG bytes (the download button's file)."""
    image = mosaic(collection, assignment, cell_size)
    return image, png_bytes(image)


def quality_of(features: np.ndarray, points: np.ndarray, assignment: GridAssignment, labels: list[str]) -> dict:
    quality = {
        "k-NN kept, 2-D map": map_knn_preservation(features, points),
        "k-NN kept, grid": grid_knn_preservation(features, assignment),
    }
    if 1 < len(set(labels)) < len(labels):  # labels that group images (not one per image)
        try:
            same, chance = label_agreement(assignment, labels)
            quality["same-label neighbours"], quality["same label by chance"] = same, chance
        except ValueError:  # a sparse grid (many more cells than images) can have no two images side by side
            pass
    return quality


st.title("Image grid")
st.caption(
    "Similar images side by side: MobileNetV2 features (digits: raw pixels) → PCA 50 → t-SNE or UMAP → "
    "an optimal assignment of the 2-D points to grid cells (Jonker-Volgenant; a block method above 32x32)."
)

with st.sidebar:
    st.header("Collection")
    offered = [name for name, source in SOURCES.items() if source != "folder" or ui.folder_inputs()]
    photos_here = (data_root() / "imagenet_samples" / "labels.csv").is_file()  # else the demo pack's photos
    source = SOURCES[st.selectbox("Images", offered, index=0 if photos_here else 2, key="source")]
    limit = int(st.number_input("At most this many images", 10, 20_000, 2_000, step=100, key="limit"))
    folder = st.text_input("Folder (relative to the data root)", "cifar10", key="folder") if source == "folder" else ""
    uploads = (
        st.file_uploader("Images or a zip", accept_multiple_files=True, key="uploads") if source == "upload" else []
    )
    st.header("Map")
    reducer = st.radio("Reducer", ["tsne", "umap"], horizontal=True, key="reducer")
    perplexity = st.slider("t-SNE perplexity", 5, 100, 30, key="perplexity", disabled=reducer != "tsne")
    n_neighbors = st.slider("UMAP n_neighbors", 2, 100, 15, key="n_neighbors", disabled=reducer != "umap")
    min_dist = st.slider("UMAP min_dist", 0.0, 0.99, 0.1, key="min_dist", disabled=reducer != "umap")
    st.header("Grid")
    rows = int(st.number_input("Rows (0: automatic)", 0, 500, 0, key="rows"))
    cols = int(st.number_input("Columns (0: automatic)", 0, 500, 0, key="cols"))
    method = st.selectbox(
        "Assignment", ["auto", "exact", "fast"], key="method", help="auto: exact up to 32x32, fast above"
    )
    cell_size = st.slider("Thumbnail size (px)", 16, 64, 32, step=8, key="cell_size")

try:
    if source == "upload":
        if not uploads:
            st.info("Upload some images (or a zip whose sub-folders are labels) to lay them out.")
            st.stop()
        collection = from_uploads([(f.name, f.getvalue()) for f in ui.limited_uploads(uploads)], limit)
    else:
        if source == "folder" and ui.data_folder(folder) is None:
            st.stop()
        collection = named_collection(source, folder, limit)
except ImageError as err:
    ui.error(plain_markdown(str(err)))
    st.stop()

model = None
if collection.pixels is None:
    loaded = ui.model_or_error("mobilenet_v2")
    if loaded is None:
        st.stop()
    model = loaded.model

with st.status("Building the grid…", expanded=True) as status:
    try:
        embedded = embed_stage(collection, model)
    except ImageError as err:
        status.update(label="No usable images", state="error")
        ui.error(plain_markdown(str(err)))
        st.stop()
    st.write(f"**Embedded** {len(embedded.features)} images ({embedded.computed} through the network, the rest cached)")
    for reason in embedded.skipped:
        st.warning(f"skipped {plain_markdown(reason)}")
    collection, features = embedded.collection, embedded.features
    layout_key = (collection.fingerprint, MODEL, MapSettings(reducer, perplexity, n_neighbors, min_dist))
    try:
        shape = grid_shape(len(features), rows or None, cols or None)
        points, map_seconds = map_stage(collection.fingerprint, features, layout_key[2])
        st.write(f"**Mapped** with {reducer} in {map_seconds:.1f} s")
        if method == "exact" and shape[0] * shape[1] > EXACT_MAX_CELLS:
            st.warning("The exact solver above 32x32 cells can take minutes; the fast method stays within 3%.")
        assignment = ui.cached_stage(
            "grid_assign",
            (*layout_key, shape, method),
            lambda progress: assign(points, shape, method),
            f"Snapping to {shape[0]}x{shape[1]}…",
        )
    except ValueError as err:
        status.update(label="Cannot build this grid", state="error")
        ui.error(plain_markdown(str(err)))
        st.stop()
    st.write(
        f"**Snapped** to {shape[0]}x{shape[1]} ({assignment.method}) in {assignment.seconds:.2f} s, "
        f"total squared distance {assignment.cost:.3f}"
    )
    quality = ui.cached_stage(
        "grid_quality",
        (*layout_key, shape, method),
        lambda progress: quality_of(features, points, assignment, collection.labels),
        "Measuring how much of the neighbourhood the grid keeps…",
    )
    status.update(label=f"{len(features)} images on a {shape[0]}x{shape[1]} grid", state="complete", expanded=False)

for column, (name, value) in zip(st.columns(len(quality)), quality.items(), strict=True):
    column.metric(name, f"{value:.0%}")

raw_map = st.toggle("Show the raw 2-D map instead of the grid", key="raw_map")
colour_by_label = st.toggle("Colour by label", key="colour_by_label", disabled=len(set(collection.labels)) < 2)
image, image_png = ui.cached_stage(
    "grid_mosaic",
    (*layout_key, shape, method, cell_size),
    lambda progress: mosaic_with_png(collection, assignment, cell_size),
    "Drawing the mosaic…",
)
if raw_map:
    figure = scatter_figure(points, collection.names, collection.labels, colour_by_label)
else:
    figure = mosaic_figure(image, assignment, collection.names, collection.labels, colour_by_label)
event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key="grid_chart")

# The selection is an image (name and content hash), not a cell number: when the layout moves, its cell follows it.
cell_count = shape[0] * shape[1]
layout = content_hash(f"{collection.fingerprint} {shape}".encode() + assignment.cells.tobytes())
clicked = index_from_selection(event)
if clicked == st.session_state.get("grid_last_click"):
    clicked = None  # the chart still reports the click already handled
else:
    st.session_state["grid_last_click"] = clicked
typed = st.session_state.get("grid_cell")
selection = next_selection(
    st.session_state.get("grid_selection", Selection()),
    list(zip(collection.names, collection.hashes, strict=True)),
    assignment.cells,
    cell_count,
    clicked=clicked,
    entered=typed != st.session_state.get("grid_cell_shown"),
    typed=typed,
    layout_changed=layout != st.session_state.get("grid_layout"),
)
st.session_state.update(grid_selection=selection, grid_cell=selection.cell, grid_cell_shown=selection.cell)
st.session_state["grid_layout"] = layout
cell = st.number_input(
    f"Cell (row × {shape[1]} + column; a click on the chart sets it)", 0, cell_count - 1, value=None, key="grid_cell"
)

left, right = st.columns(2)
left.download_button("Mosaic (PNG)", image_png, f"{collection.title}_grid.png", "image/png", on_click="ignore")
right.download_button(
    "Layout (CSV)",
    layout_table(collection, points, assignment).to_csv(index=False),
    f"{collection.title}_grid.csv",
    "text/csv",
    on_click="ignore",
)

if cell is not None:
    row, col = divmod(int(cell), shape[1])
    occupants = np.flatnonzero(assignment.cells == cell)
    if not len(occupants):
        st.info(f"Cell ({row}, {col}) is empty.")
    else:
        index = int(occupants[0])
        st.subheader(f"Cell ({row}, {col})")
        st.text(f"File: {collection.names[index]}\nLabel: {collection.labels[index] or 'none'}")  # user text: plain
        st.image(preview(collection, index))
        st.write(f"The {NEIGHBOURS} most similar images (nearest in feature space) and their cells:")
        neighbours = neighbours_of(features, index, NEIGHBOURS)
        for column, other in zip(st.columns(len(neighbours)), neighbours, strict=True):
            other_row, other_col = divmod(int(assignment.cells[other]), shape[1])
            caption = plain_markdown(f"{collection.labels[other]} ({other_row}, {other_col})")
            column.image(thumbnail(collection, int(other), 96), caption=caption)
