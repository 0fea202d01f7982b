"""Inside the network: what the classifier's classes, channels and layers respond to, found by optimising images
(class models, channel and neuron visualisation, top patches, DeepDream, feature inversion, fooling images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core import visualize as vis
from core.attribution.demos import imagenet_samples, open_sample
from core.cache import pixels_hash
from core.config import data_root, public_mode
from core.grid.collections import Collection, from_folder, load_dataset
from core.images import ImageError
from core.text import plain_markdown

MODES = ("Class model", "Channel / neuron", "Top patches", "DeepDream", "Feature inversion", "Fooling image")
DEFAULT_CLASS = 130  # flamingo
PATCH_UNIT = ("features.6", 5)  # a colour-stripe channel whose 59 px receptive field makes readable patches
DEFAULT_PHOTO = "n02510455_giant_panda.JPEG"
COLLECTIONS = {
    "ImageNet samples": "imagenet_samples",
    "CIFAR-10": "cifar10",
    "Demo pack photos": "demo_photos",
    "Folder under the data root": "folder",
}
FIGURES = {
    "target_probability": ("P(target)", "{:.3f}"),
    "start_probability": ("P(target) of the start", "{:.2g}"),
    "top1_probability": ("top-1 probability", "{:.3f}"),
    "activation": ("activation reached", "{:.3f}"),
    "start_activation": ("activation at the start", "{:.3f}"),
    "activation_increase": ("increase", "{:+.3f}"),
    "rms_activation_before": ("RMS activation before", "{:.3f}"),
    "rms_activation_after": ("RMS activation after", "{:.3f}"),
    "activation_gain": ("activation gain", "×{:.2f}"),
    "feature_distance": ("relative feature distance", "{:.3f}"),
    "ssim": ("SSIM to the photo", "{:.3f}"),
    "psnr": ("PSNR (dB)", "{:.1f}"),
    "linf_from_noise": ("max change from the noise", "{:.3f}"),
    "ssim_to_noise": ("SSIM to the noise", "{:.3f}"),
}


@st.cache_data(show_spinner=False)
def sample_list(folder: str) -> list:
    return imagenet_samples(folder)


@st.cache_resource(show_spinner="Listing and hashing the images…", max_entries=8)
def named_collection(source: str, folder: str, limit: int) -> Collection:
    collection = from_folder(folder, limit) if source == "folder" else load_dataset(source, limit)
    _ = collection.hashes
    return collection


def show(results: list[vis.Visualisation], net: vis.Network, beside: np.ndarray | None = None) -> None:
    """The images, each run's figures and its objective curve."""
    pictures = ([(beside, "the photo")] if beside is not None else []) + [(r.image, r.title) for r in results]
    for column, (pixels, caption) in zip(st.columns(max(len(pictures), 2)), pictures, strict=False):
        column.image(pixels, caption=caption, width="stretch")
    for result in results:
        shown = [(key, value) for key, value in result.figures.items() if key in FIGURES]
        for column, (key, value) in zip(st.columns(len(shown) + 1), shown, strict=False):
            label, style = FIGURES[key]
            column.metric(label, style.format(value))
        if "top1_class" in result.figures:
            st.caption(f"The classifier's top-1: {net.categories[int(result.figures['top1_class'])]}")
        st.caption(f"{result.objective}, per step · {result.seconds:.1f} s")
        st.line_chart(pd.DataFrame({"objective": result.curve}), x_label="step", y_label="objective", height=220)


def pick_class(key: str, default: int, net: vis.Network) -> int:
    return st.selectbox(
        "Class (type to search all 1000)",
        range(len(net.categories)),
        index=default,
        format_func=lambda i: f"{i}: {net.categories[i]}",
        key=key,
    )


def pick_layer(net: vis.Network, default: str, key: str) -> str:
    layers = net.layers
    return st.selectbox("Layer", layers, index=layers.index(default) if default in layers else 0, key=key)


def pick_photo() -> np.ndarray | None:
    """An ImageNet sample (default: the giant panda), a demo-pack photo (the default without the data folder) or an
    upload, as an H,W,3 uint8 array; None after an error."""
    sources = ["ImageNet sample", "Demo pack", "Upload"]
    default = 0 if (data_root() / "imagenet_samples").is_dir() else 1
    source = st.radio("Photo", sources, index=default, horizontal=True, key="photo_source")
    if source == "Upload":
        uploaded = st.file_uploader("A photo", key="upload")
        image = ui.open_upload(uploaded) if uploaded is not None else None
        if uploaded is None:
            st.info("Upload a photo, or pick a sample.")
        return None if image is None else np.asarray(image)
    if source == "Demo pack":
        return demo_pack_photo()
    folder = ui.data_folder("imagenet_samples")
    if folder is None:
        return None
    try:
        samples = sample_list(str(folder))
        names = [s.path.name for s in samples]
        chosen = st.selectbox(
            "Sample (type to search)",
            range(len(samples)),
            index=names.index(DEFAULT_PHOTO) if DEFAULT_PHOTO in names else 0,
            format_func=lambda i: samples[i].name,
            key="sample",
        )
        return np.asarray(open_sample(samples[chosen]))
    except (OSError, ImageError, KeyError, ValueError) as err:
        ui.error(plain_markdown(f"Cannot read the ImageNet samples: {err}"))
        return None


def demo_pack_photo() -> np.ndarray | None:
    try:
        pack = named_collection("demo_photos", "", 100)
        chosen = st.selectbox("Demo photo", range(len(pack)), format_func=lambda i: pack.names[i], key="demo_photo")
        return np.asarray(pack.open(chosen))
    except (OSError, ImageError) as err:
        ui.error(plain_markdown(f"Cannot read the demo pack: {err}"))
        return None


def run(stage: str, key: tuple, compute, label: str):
    """One cached run; a bad layer or channel shows an error and returns None."""
    try:
        return ui.cached_stage(stage, key, compute, label)
    except ValueError as err:
        ui.error(plain_markdown(str(err)))
        return None


def run_on_photo(stage: str, net: vis.Network, photo: np.ndarray, settings, function, label: str):
    """One cached run of ``function(net, photo, settings, progress)``, keyed by the photo's pixels."""
    return run(
        stage,
        (net.name, pixels_hash(photo), settings),
        lambda progress: function(net, photo, settings, progress),
        label,
    )


def class_mode(net: vis.Network) -> None:
    target = pick_class("target", DEFAULT_CLASS, net)
    c1, c2, c3 = st.columns(3)
    recipe = c1.radio(
        "Recipe",
        ["robust", "simonyan"],
        horizontal=True,
        key="recipe",
        help="robust: Lucid's Fourier image + jitter/scale/rotate; simonyan: pixels + L2 (2014)",
    )
    settings = vis.ClassSettings(
        recipe=recipe,
        size=c2.select_slider("Size (px)", [96, 128, 160, 224], value=128, key="size"),
        steps=c3.slider("Steps", 8, 256, 64, key="steps"),
        start=c1.radio("Start (simonyan)", ["zeros", "noise"], horizontal=True, key="start"),
        l2=c2.slider("L2 weight (simonyan)", 0.0, 0.05, vis.ClassSettings.l2, step=0.001, format="%.3f", key="l2"),
        seed=c3.number_input("Seed", 0, 10_000, 0, key="seed"),
    )
    results = run(
        "inside_class",
        (net.name, target, settings),
        lambda progress: vis.class_model(net, [target], settings, progress),
        f"Visualising {net.categories[target]}…",
    )
    if results:
        show(results, net)


def channel_mode(net: vis.Network) -> None:
    layer = pick_layer(net, vis.ChannelSettings.layer, "channel_layer")
    count = vis.channel_count(net, layer)
    c1, c2, c3 = st.columns(3)
    settings = vis.ChannelSettings(
        layer=layer,
        channel=c1.number_input(f"Channel (0..{count - 1})", 0, count - 1, 0, key="channel"),
        neuron=c1.toggle("Only the centre neuron", key="neuron"),
        size=c2.select_slider("Size (px)", [96, 128, 160, 224], value=128, key="channel_size"),
        steps=c3.slider("Steps", 8, 256, vis.ChannelSettings.steps, key="channel_steps"),
        seed=c3.number_input("Seed", 0, 10_000, 0, key="channel_seed"),
    )
    result = run(
        "inside_channel",
        (net.name, settings),
        lambda progress: vis.channel(net, settings, progress),
        f"Visualising {layer} channel {settings.channel}…",
    )
    if result:
        show([result], net)


def patches_mode(net: vis.Network) -> None:
    layer = pick_layer(net, PATCH_UNIT[0], "patch_layer")
    count = vis.channel_count(net, layer)
    c1, c2, c3 = st.columns(3)
    unit = c1.number_input(
        f"Channel (0..{count - 1})", 0, count - 1, min(PATCH_UNIT[1], count - 1), key="patch_channel"
    )
    offered = [name for name, source in COLLECTIONS.items() if source != "folder" or not public_mode()]
    default = 0 if (data_root() / "imagenet_samples").is_dir() else offered.index("Demo pack photos")
    source = COLLECTIONS[c2.selectbox("Collection", offered, index=default, key="collection")]
    folder = st.text_input("Folder (relative to the data root)", "cifar10", key="folder") if source == "folder" else ""
    limit = c3.slider("Images to read", 20, 500, 100, step=20, key="limit")
    k = c3.slider("Top k", 3, 16, 8, key="k")
    if source == "folder" and ui.data_folder(folder) is None:
        return
    try:
        collection = named_collection(source, folder, limit)
    except (ImageError, OSError, ValueError) as err:
        ui.error(plain_markdown(str(err)))
        return
    found = run(
        "inside_patches",
        (net.name, collection.fingerprint, layer, unit, k),
        lambda progress: vis.top_patches(net, collection, layer, unit, k, progress),
        f"Reading {len(collection)} images…",
    )
    if found is None:
        return
    st.caption(
        f"The {len(found.patches)} of {found.images_seen} images where channel {unit} of {layer} fires most, each "
        f"cropped to the unit's receptive field ({found.receptive.side} px of the 224 px view), best first."
    )
    for column, patch in zip(st.columns(min(k, 8)) * 2, found.patches, strict=False):
        column.image(patch.crop, caption=f"{patch.name} · {patch.score:.2f}", width="stretch")
    for line in found.skipped:
        st.caption(plain_markdown(f"Skipped: {line}"))


def dream_mode(net: vis.Network) -> None:
    photo = pick_photo()
    if photo is None:
        return
    layer = pick_layer(net, vis.DreamSettings.layer, "dream_layer")
    c1, c2, c3 = st.columns(3)
    settings = vis.DreamSettings(
        layer=layer,
        octaves=c1.slider("Octaves", 1, 5, vis.DreamSettings.octaves, key="octaves"),
        steps=c2.slider("Steps per octave", 2, 40, vis.DreamSettings.steps, key="dream_steps"),
        step_size=c3.slider("Step size", 0.002, 0.05, vis.DreamSettings.step_size, format="%.3f", key="step_size"),
    )
    result = run_on_photo("inside_dream", net, photo, settings, vis.dream, f"Dreaming at {layer}…")
    if result:
        show([result], net, beside=photo)


def invert_mode(net: vis.Network) -> None:
    photo = pick_photo()
    if photo is None:
        return
    layer = pick_layer(net, vis.InvertSettings.layer, "invert_layer")
    c1, c2 = st.columns(2)
    settings = vis.InvertSettings(
        layer=layer,
        steps=c1.slider("Steps", 20, 400, vis.InvertSettings.steps, key="invert_steps"),
        tv=c2.slider("Total-variation weight", 0.0, 10.0, vis.InvertSettings.tv, key="tv"),
    )
    result = run_on_photo("inside_invert", net, photo, settings, vis.invert, f"Inverting {layer}…")
    if result:
        show([result], net, beside=vis.square_view(photo, settings.size))
        st.caption("Try an early layer (features.2) and the last one (features.18): depth keeps less of the photo.")


def fool_mode(net: vis.Network) -> None:
    target = pick_class("fool_target", DEFAULT_CLASS, net)
    c1, c2 = st.columns(2)
    settings = vis.FoolSettings(
        epsilon=c1.slider("Largest change per pixel (of 255)", 1, 64, 16, key="epsilon") / 255,
        steps=c2.slider("Steps", 4, 128, vis.FoolSettings.steps, key="fool_steps"),
        seed=c2.number_input("Seed", 0, 10_000, 0, key="fool_seed"),
    )
    result = run(
        "inside_fool",
        (net.name, target, settings),
        lambda progress: vis.fool(net, target, settings, progress),
        f"Fooling the classifier into {net.categories[target]}…",
    )
    if result:
        show([result], net)


st.title("Inside the network")
st.caption(
    "What does the classifier respond to? Each view optimises an image by backpropagating to its pixels: a class "
    "model (Simonyan et al. 2014; the Lucid recipe of Olah et al. 2017), a channel or neuron, the real patches that "
    "excite a channel most, DeepDream, a photo rebuilt from one layer's code (Mahendran & Vedaldi 2015), and noise "
    "the classifier is sure about (Nguyen et al. 2015)."
)
name = st.selectbox("Classifier", vis.classifiers(), key="model")
loaded = ui.model_or_error(name)
if loaded is None:
    st.stop()
net = vis.from_model(name, loaded.model)
mode = st.radio("View", MODES, horizontal=True, key="mode")
{
    "Class model": class_mode,
    "Channel / neuron": channel_mode,
    "Top patches": patches_mode,
    "DeepDream": dream_mode,
    "Feature inversion": invert_mode,
    "Fooling image": fool_mode,
}[mode](net)
