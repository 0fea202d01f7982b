"""Home: one sentence and a thumbnail per tool, and the model table (what is available, from where, on what device)."""

from pathlib import Path

import pandas as pd
import streamlit as st
import torch

import ui
from core.config import ASSETS_DIR, REPO_ROOT, data_root, public_mode
from core.models import model_table
from core.text import hide_paths

TOOLS = [
    ("pages/waldo.py", "Find Waldo", "A Mask R-CNN trained here masks Waldo out of a full Where's Waldo page."),
    (
        "pages/faces.py",
        "Faces",
        "Detect, align and embed faces; similarity matrix, threshold calibration from data, gallery search.",
    ),
    (
        "pages/cloak.py",
        "Cloak",
        "Adversarial perturbations that stop a face recognizer from matching your photo, measured on the saved file.",
    ),
    (
        "pages/attributions.py",
        "Attributions",
        "Why did the model say that? Captum maps side by side, scored for faithfulness.",
    ),
    (
        "pages/grid.py",
        "Image grid",
        "Embed a collection, t-SNE/UMAP it and snap it to a grid where similar photos sit together.",
    ),
    (
        "pages/robustness.py",
        "Robustness",
        "Clean and robust accuracy per attack and eps, and adversarial examples exported for training.",
    ),
    (
        "pages/inside.py",
        "Inside the network",
        "Class models, channel visualisations, top patches, DeepDream, feature inversion and fooling images.",
    ),
]

st.title("Hide & Seek")
st.write(
    "Vision models **seek** — find Waldo, recognise faces — and people **hide** — with adversarial cloaks. "
    "Every number on these pages is measured on the image in front of you."
)

PER_ROW = 4
for start in range(0, len(TOOLS), PER_ROW):
    for column, (page, title, blurb) in zip(st.columns(PER_ROW), TOOLS[start : start + PER_ROW], strict=False):
        with column:
            screenshot = ASSETS_DIR / "screenshots" / f"{Path(page).stem}.png"
            if screenshot.exists():
                st.image(str(screenshot), width="stretch")
            if (REPO_ROOT / page).exists():
                st.page_link(page, label=f"**{title}**")
            else:
                st.markdown(f"**{title}**")
            st.caption(blurb)

st.subheader("Models")
where = (
    "Demo data: the built-in demos."
    if public_mode()
    else f"Demo data: `{data_root()}` (set `HIDESEEK_DATA` to change)."
)
st.caption(
    f"Running on **{'cuda' if torch.cuda.is_available() else 'cpu'}** with {torch.get_num_threads()} torch threads. "
    f"{where} Weights load only from installed packages or files you provide: a model without its real weights is "
    "shown unavailable, never replaced by random ones."
)
table = pd.DataFrame(model_table(load=False))
if public_mode():
    table["reason"] = table["reason"].map(lambda reason: hide_paths(reason) if isinstance(reason, str) else reason)
st.dataframe(
    table[["title", "available", "reason", "task", "source", "license", "training_data", "threshold"]],
    hide_index=True,
)

st.subheader("Privacy")
st.write(ui.privacy_note())
