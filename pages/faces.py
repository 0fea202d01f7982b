"""Faces: detect, align and embed every face in a set of photos; a clustered distance matrix with a threshold that
groups faces into people, threshold calibration from labelled data, every available recognizer side by side and how
often they agree, HSE FaceRec's age and gender estimates, and open-set gallery identification; or faces in a short
video, tracked over frames and named from each track's averaged embedding."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.cache import content_hash
from core.config import data_root
from core.faces import RECOGNIZERS, available_recognizers, threshold
from core.faces.attributes import ATTRIBUTE_MODEL, AgeGender, attributes_available, estimate_photo
from core.faces.calibrate import Calibration, calibrate
from core.faces.collection import (
    FaceRow,
    Photo,
    PhotoResult,
    analyze_photo,
    demo_photos,
    demo_queries,
    face_rows,
    labelled_faces,
    photos_from_folder,
    photos_from_zip,
)
from core.faces.compare import Agreement, RecognizerRow, agreement, compare_recognizers
from core.faces.gallery import UNKNOWN, enroll, identify
from core.faces.metrics import METRICS, cluster_order, distance_matrix, group_identities
from core.faces.synth_video import pan_zoom_video
from core.faces.video import (
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    MAX_SECONDS,
    MAX_VIDEO_BYTES,
    VIDEO_SUFFIXES,
    VideoError,
    accuracy,
    analyze_video,
    identify_tracks,
)
from core.faces.view import data_uri, heatmap_figure, histogram_figure, roc_figure, sweep_figure
from core.images import ImageError, open_image
from core.models import availability, get_spec, recognizer_facts
from core.text import plain_markdown

MODES = ("Photos", "Video")
VIDEO_SOURCES = ("Demo: a test video of a demo person", "Upload a video")
NOT_GIVEN = "(not given)"
SOURCES = ("Demo: five people, three photos each", "Folder under the data root", "Upload photos or a zip")
MAX_HEATMAP_FACES = 150


@st.cache_data(show_spinner=False, max_entries=8)
def demo_video(path: str) -> bytes:
    """A test video made from a demo person's photo that is not in the demo set (pan, zoom, degraded frames)."""
    return pan_zoom_video(open_image(path))


@st.cache_data(show_spinner=False, max_entries=32, ttl=ui.DECODED_MAX_AGE)
def calibrated(embeddings: np.ndarray, labels: tuple[str, ...], metric: str, default: float) -> Calibration:
    return calibrate(embeddings, list(labels), metric, default)


@st.cache_data(show_spinner=False, max_entries=32, ttl=ui.DECODED_MAX_AGE)
def compared(
    embeddings: dict[str, np.ndarray], labels: tuple[str, ...], metric: str, thresholds: dict[str, float]
) -> list[RecognizerRow]:
    return compare_recognizers(embeddings, list(labels), metric, thresholds)


@st.cache_data(show_spinner=False, max_entries=32, ttl=ui.DECODED_MAX_AGE)
def agreed(embeddings: dict[str, np.ndarray], metric: str, thresholds: dict[str, float]) -> list[Agreement]:
    return agreement(embeddings, metric, thresholds)


def analyze_all(photos: list[Photo], recognizers: list[str]) -> dict[str, list[PhotoResult]]:
    """Every photo through each recognizer's pipeline, cached per (content hash, name, label, recognizer), with one
    progress bar for the ones not done yet."""
    jobs = [
        (
            (photo.digest, photo.name, photo.identity, name),
            plain_markdown(f"{photo.name} ({name})"),
            lambda photo=photo, name=name: analyze_photo(photo, name),
        )
        for name in recognizers
        for photo in photos
    ]
    done = iter(ui.cached_each("face_analysis", jobs, "Detecting and embedding faces…"))
    return {name: [next(done) for _ in photos] for name in recognizers}


def estimate_all(photos: list[Photo]) -> list[list[AgeGender]]:
    """HSE FaceRec's age and gender estimates for each photo's faces, cached per content hash."""
    jobs = [(photo.digest, plain_markdown(photo.name), lambda photo=photo: estimate_photo(photo)) for photo in photos]
    return ui.cached_each("age_gender", jobs, "Estimating age and gender…")


def thresholds_in_use(recognizers: list[str], metric: str) -> dict[str, float]:
    """Each recognizer's threshold as this session has it (its slider), else its default."""
    return {
        name: float(st.session_state.get(threshold_key(name, metric), threshold(name, metric))) for name in recognizers
    }


def stacked(rows: list[FaceRow]) -> np.ndarray:
    return np.stack([r.embedding for r in rows])


def choose_recognizer() -> str:
    """The selector lists every recognizer; those without weights are shown disabled with the reason."""
    usable = available_recognizers()
    recognizer = st.selectbox("Recognizer", usable, format_func=lambda n: get_spec(n).title, key="recognizer")
    for name in RECOGNIZERS:
        available, reason = availability(name)
        if not available:
            st.checkbox(get_spec(name).title, value=False, disabled=True, key=f"off_{name}", help=reason)
            st.caption(f"Unavailable: {reason}")
    return recognizer


def input_photos(source: str) -> list[Photo]:
    if source == SOURCES[0]:
        photos = demo_photos(data_root() / "faces")
        if not photos:
            st.info("The demo people's photos are in the data folder, which this server does not have.")
        return photos
    if source == SOURCES[1]:
        typed = st.session_state.get("folder", "").strip()
        folder = ui.data_folder(typed) if typed else None
        return photos_from_folder(folder) if folder is not None and folder.is_dir() else []
    photos = []
    for upload in ui.limited_uploads(st.session_state.get("uploads") or []):
        if upload.name.lower().endswith(".zip"):
            try:
                photos += photos_from_zip(upload.getvalue())
            except ImageError as err:
                ui.error(plain_markdown(f"{upload.name}: {err}"))
        else:
            photos.append(Photo(upload.name, None, upload.getvalue()))
    return photos


def forget_truth() -> None:
    """Another video: who is in it is no longer known (the demo video's person is preselected again)."""
    st.session_state.pop("video_truth", None)


def threshold_key(recognizer: str, metric: str) -> str:
    return f"threshold_{recognizer}_{metric}"


st.title("Faces")
st.caption(
    "MTCNN finds each face and its 5 landmarks; a similarity transform (differentiable, on the full-resolution "
    "image) aligns it to the recognizer's template; the recognizer turns it into a vector of numbers. Faces closer "
    "than the threshold are called the same person."
)

with st.sidebar:
    st.header("Model")
    with st.container():
        recognizer = choose_recognizer()
    metric = st.radio(
        "Distance",
        METRICS,
        horizontal=True,
        key="metric",
        help="l2: the recognizers' own convention (dlib: 0.6). cosine: 1 - cos",
    )
    mode = st.radio("Analyse", MODES, horizontal=True, key="mode", help="Video: the photos below are the gallery")
    st.header("Photos" if mode == MODES[0] else "Gallery photos")
    source = st.radio("Source", [s for s in SOURCES if s != SOURCES[1] or ui.folder_inputs()], key="source")
    if source == SOURCES[1]:
        st.text_input(
            "Folder (relative to the data root; <identity>/ sub-folders become labels)",
            placeholder="faces",
            key="folder",
        )
    if source == SOURCES[2]:
        st.file_uploader("Photos, or a zip (its sub-folders become labels)", accept_multiple_files=True, key="uploads")

if ui.model_or_error("mtcnn") is None or ui.model_or_error(recognizer) is None:
    st.stop()
photos = input_photos(source)
if not photos:
    st.info("No photos yet: choose the demo, a folder under the data root, or upload photos or a zip.")
    st.stop()

results = analyze_all(photos, [recognizer])[recognizer]
rows = face_rows(results)
default_threshold = threshold(recognizer, metric)
key = threshold_key(recognizer, metric)
st.session_state.setdefault(key, round(default_threshold, 3))

if mode == MODES[1]:
    st.subheader("Faces in video")
    st.caption(
        "One video frame is a poor photo (blur, compression, a turned head); the frames of one face are many poor "
        "photos of it. Sampled frames are searched for faces, faces are linked into tracks (the same face by "
        "embedding distance, box overlap as a tie-break and for blurred frames), and each track is named from the "
        "mean of its embeddings, open set: the nearest enrolled identity, or unknown at or above the threshold."
    )
    labelled, _ = labelled_faces(results)
    if not labelled:
        st.info("The gallery is the labelled photos chosen in the sidebar (folders per identity): none here.")
        st.stop()
    gallery = enroll(stacked(labelled), [r.identity for r in labelled])
    st.caption(
        f"Gallery: {', '.join(plain_markdown(name) for name in gallery.names)} ({len(labelled)} faces, the photos "
        "chosen in the sidebar)."
    )
    video_source = st.radio("Video", VIDEO_SOURCES, horizontal=True, key="video_source", on_change=forget_truth)
    if video_source == VIDEO_SOURCES[0]:
        demo_people = {
            path.parent.name: path for path in demo_queries(data_root()) if path.parent.parent.name == "faces"
        }
        if not demo_people:
            st.info("The demo videos are made from the data folder's faces/, which is missing: upload a video.")
            st.stop()
        person = st.selectbox(
            "Made from the next photo of", list(demo_people), key="video_person", on_change=forget_truth
        )
        video_name, video = demo_people[person].name, demo_video(str(demo_people[person]))
        st.caption(
            f"{plain_markdown(demo_people[person].relative_to(data_root()).as_posix())}, not in the demo gallery, "
            "as a short video: the camera pans and zooms, every frame shrunk, noisy and JPEG-compressed at a random "
            "low quality."
        )
    else:
        uploaded = st.file_uploader(
            f"Video ({', '.join(VIDEO_SUFFIXES)}; at most {MAX_SECONDS:g} s, 1920x1080 and {MAX_VIDEO_BYTES >> 20} MB)",
            type=list(VIDEO_SUFFIXES),
            key="video_upload",
            on_change=forget_truth,
        )
        if uploaded is None:
            st.info("Upload a short video with faces, or pick the demo video.")
            st.stop()
        video_name, video = uploaded.name, uploaded.getvalue()
        person = None
    columns = st.columns(3)
    samples = columns[0].slider("Frames to sample", 2, MAX_SAMPLES, DEFAULT_SAMPLES, key="video_samples")
    video_cutoff = columns[1].slider(
        f"Threshold ({metric})",
        0.0,
        1.5 if metric == "l2" else 1.0,
        round(default_threshold, 3),
        step=0.005,
        key=f"video_threshold_{recognizer}_{metric}",
    )
    truth = columns[2].selectbox(
        "Who is in it (to score the answers)",
        [NOT_GIVEN, *gallery.names],
        index=1 + gallery.names.index(person) if person in gallery.names else 0,
        key="video_truth",
    )
    try:
        analysis = ui.cached_stage(
            "faces_video",
            (content_hash(video), recognizer, metric, samples),
            lambda progress: analyze_video(video, recognizer, default_threshold, metric, samples, video_name, progress),
            "Reading the video and finding its faces…",
        )
    except VideoError as err:
        st.error(plain_markdown(str(err)))
        st.stop()
    tracked = identify_tracks(analysis, gallery, video_cutoff, metric)
    found = sum(len(result.track.faces) for result in tracked)
    info = analysis.info
    shown, summary = st.columns([1, 2])
    shown.video(video)
    summary.caption(
        f"{plain_markdown(video_name)}: {info.width}x{info.height}, {info.seconds:g} s, {info.frames} frames "
        f"({info.codec}); {len(analysis.times)} sampled, {found} faces in {len(tracked)} tracks."
    )
    if not tracked:
        st.warning("No face found in the sampled frames.")
        st.stop()
    if truth != NOT_GIVEN:
        scored = accuracy(tracked, truth)
        summary.metric("Frames scored", scored.frames, help="each sampled frame's largest face")
        summary.metric("Accuracy, each frame alone", f"{scored.per_frame:.3f}")
        summary.metric("Accuracy, averaged track", f"{scored.averaged:.3f}")
    for number, result in enumerate(tracked):
        named = result.averaged
        verdict = named.identity if named.identity != UNKNOWN else f"{UNKNOWN} (nearest: {named.nearest})"
        st.markdown(
            f"**Track {number}: {plain_markdown(verdict)}**, averaged distance {named.distance:.3f} (threshold "
            f"{video_cutoff:.3f}); {result.agreement:.0%} of its {len(result.per_frame)} frames alone say the same"
        )
        st.image(
            [face.thumbnail for face in result.track.faces],
            caption=[
                plain_markdown(f"{face.time:.1f} s: {alone.identity} {alone.distance:.2f}")
                for face, alone in zip(result.track.faces, result.per_frame, strict=True)
            ],
            width=80,
        )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "track": number,
                    "time (s)": round(face.time, 2),
                    "face": data_uri(face.thumbnail),
                    "this frame alone": alone.identity,
                    "its distance": round(alone.distance, 3),
                    "averaged track": result.averaged.identity,
                    "track distance": round(result.averaged.distance, 3),
                }
                for number, result in enumerate(tracked)
                for face, alone in zip(result.track.faces, result.per_frame, strict=True)
            ]
        ),
        hide_index=True,
        column_config={"face": st.column_config.ImageColumn("face", width="small")},
        key="video_frames",
    )
    st.stop()

st.subheader("Detections")
st.caption(
    f"{len(rows)} faces in {len(photos)} photos, each embedded by {get_spec(recognizer).title} into "
    f"{recognizer_facts(recognizer).embedding_size} numbers. Boxes and the 5 landmarks (eyes, nose, mouth corners) "
    "as MTCNN found them."
)
for result in results:
    if result.error:
        st.error(plain_markdown(result.error))
    elif not result.faces:
        st.warning(f"{plain_markdown(result.name)}: no face found (MTCNN probability at least 0.9)")
with st.expander("Photos with boxes and landmarks", expanded=False):
    shown = [r for r in results if r.preview is not None]
    for start in range(0, len(shown), 5):
        for column, result in zip(st.columns(5), shown[start : start + 5], strict=False):
            column.image(result.preview, caption=plain_markdown(f"{result.name}: {len(result.faces)} face(s)"))
if not rows:
    st.stop()

if attributes_available()[0] and ui.model_or_error(ATTRIBUTE_MODEL) is not None:
    st.subheader("Age and gender: a model's estimates")
    st.caption(
        f"What {get_spec(ATTRIBUTE_MODEL).title}'s age and gender heads guess from each face's looks: estimates of "
        "a model, they can be years off or wrong, not facts about the person (nor their gender identity). "
        "Gender: the head's male score, called male at 0.6 or above as its author does."
    )
    estimates = estimate_all(photos)
    guessed = [
        (row, guess)
        for result, guesses in zip(results, estimates, strict=True)
        for row, guess in zip(result.faces, guesses, strict=False)
    ]
    table = [
        {
            "face": data_uri(row.thumbnail),
            "photo": row.label,
            "estimated age": round(guess.age),
            "estimated gender": guess.gender,
            "male score": round(guess.male_score, 2),
        }
        for row, guess in guessed[:MAX_HEATMAP_FACES]
    ]
    st.dataframe(
        pd.DataFrame(table),
        hide_index=True,
        column_config={"face": st.column_config.ImageColumn("face", width="small")},
        key="age_gender",
    )
    if len(guessed) > MAX_HEATMAP_FACES:
        st.caption(f"The first {MAX_HEATMAP_FACES} of {len(guessed)} faces.")

st.subheader("Who looks like whom")
cutoff = st.slider(
    f"Threshold ({metric}): closer than this = same person",
    0.0,
    1.5 if metric == "l2" else 1.0,
    step=0.005,
    key=key,
    help=f"Default: {get_spec(recognizer).title}'s threshold {default_threshold:.3f}. Calibrate it below.",
)
embeddings = stacked(rows)
distances = distance_matrix(embeddings, metric)
labels = [r.label for r in rows]
order = cluster_order(distances)[:MAX_HEATMAP_FACES]
if len(rows) > MAX_HEATMAP_FACES:
    st.caption(
        f"The heatmap shows the first {MAX_HEATMAP_FACES} faces in cluster order; downloads hold all {len(rows)}."
    )
st.plotly_chart(
    heatmap_figure(
        distances[np.ix_(order, order)], [labels[i] for i in order], [rows[i].thumbnail for i in order], cutoff, metric
    ),
    key="heatmap",
)

groups = group_identities(distances, cutoff)
st.markdown(f"**{groups.max() + 1} people** at threshold {cutoff:.3f} (average-linkage clusters):")
for group in range(groups.max() + 1):
    members = np.flatnonzero(groups == group)
    st.image(
        [rows[i].thumbnail for i in members],
        caption=[plain_markdown(labels[i].rsplit("/", 1)[-1]) for i in members],
        width=80,
    )

frame = pd.DataFrame(distances, index=labels, columns=labels)
left, right = st.columns(2)
left.download_button("Distance matrix (CSV)", frame.to_csv().encode(), "face_distances.csv", "text/csv", key="csv")
buffer = io.BytesIO()
np.save(buffer, embeddings, allow_pickle=False)
right.download_button("Embeddings (.npy, rows as in the CSV)", buffer.getvalue(), "face_embeddings.npy", key="npy")

st.subheader("Calibration: which threshold?")
labelled, missing = labelled_faces(results)
identities = [r.identity for r in labelled]
can_calibrate = len(set(identities)) >= 2 and len(identities) > len(set(identities))
if not can_calibrate:
    st.info(
        "Calibration needs labelled photos (folders per identity, or a zip with sub-folders) of at least two people, one of them twice."
    )
else:
    calibration = calibrated(stacked(labelled), tuple(identities), metric, default_threshold)
    counts = calibration.pair_counts
    st.caption(
        f"{len(labelled)} labelled faces (each photo's largest face), {counts['same']} same-person pairs and as many "
        f"different-person pairs drawn with a fixed seed."
        + (f" No face found in: {plain_markdown(', '.join(missing))}." if missing else "")
    )
    cells = st.columns(6)
    cells[0].metric("ROC AUC", f"{calibration.auc:.4f}")
    cells[1].metric("Best threshold", f"{calibration.best_threshold:.3f}")
    cells[2].metric("Accuracy there", f"{calibration.best_accuracy:.3f}")
    cells[3].metric(f"Accuracy at {default_threshold:.3f}", f"{calibration.accuracy_at_default_threshold:.3f}")
    cells[4].metric("TAR @ FAR 1e-2", f"{calibration.tar_at_far[1e-2]:.3f}")
    cells[5].metric("TAR @ FAR 1e-3", f"{calibration.tar_at_far[1e-3]:.3f}")
    if counts["different"] < 1000:
        st.caption(
            f"With {counts['different']} different-person pairs, FAR 1e-3 means no false accept at all; use more photos for finer FARs."
        )
    st.button(
        f"Use the best threshold ({calibration.best_threshold:.3f})",
        key="use_best",
        on_click=lambda: st.session_state.update({key: round(calibration.best_threshold, 3)}),
    )
    charts = st.columns(2)
    charts[0].plotly_chart(histogram_figure(calibration), key="histogram")
    charts[1].plotly_chart(roc_figure(calibration), key="roc")
    st.plotly_chart(sweep_figure(calibration, cutoff), key="sweep")

usable = [name for name in available_recognizers() if ui.model_or_error(name) is not None]
everything = analyze_all(photos, usable)  # the chosen recognizer's photos are cached: one bar for the others
in_use = thresholds_in_use(usable, metric)
st.subheader("Recognizers side by side")
if not can_calibrate:
    st.info("The comparison needs the same labelled photos as the calibration above.")
else:
    labelled_by = {name: labelled_faces(everything[name])[0] for name in usable}
    table = compared({name: stacked(found) for name, found in labelled_by.items()}, tuple(identities), metric, in_use)
    st.caption(
        f"Every available recognizer on the same {len(identities)} labelled faces and the same sampled pairs as the "
        f"calibration ({metric} distance): ROC AUC and TAR at FAR 1e-2 do not depend on a threshold; the accuracy is "
        "at the threshold in use (the slider for the chosen recognizer, the default for the others)."
    )
    st.dataframe(pd.DataFrame([row.record(metric) for row in table]), hide_index=True, key="comparison")

st.subheader("Do the recognizers agree?")
primary_by = {name: face_rows(everything[name], primary_only=True) for name in usable}
faces_compared = [row.photo for row in primary_by[recognizer]]
if len(usable) < 2 or len(faces_compared) < 2:
    st.info("Agreement needs two available recognizers and at least two photos with a face.")
else:
    agreements = agreed({name: stacked(found) for name, found in primary_by.items()}, metric, in_use)
    st.caption(
        f"For each pair of recognizers, the share of the {agreements[0].pairs} pairs of photos (each photo's largest "
        "face, labelled or not) on which both say the same (same person, or different people), each at its own "
        "threshold in use; and the first pairs on which they differ."
    )
    st.dataframe(pd.DataFrame([found.record(faces_compared) for found in agreements]), hide_index=True, key="agreement")

st.subheader("Gallery: who is this?")
if not labelled:
    st.info("Enrolment uses the labelled photos above (folders per identity).")
    st.stop()
gallery = enroll(stacked(labelled), identities)
st.caption(
    f"Enrolled: {', '.join(plain_markdown(name) for name in gallery.names)} ({len(labelled)} faces). A query face "
    f'gets the nearest identity, or "{UNKNOWN}" at or above the threshold.'
)
queries = {path.relative_to(data_root()).as_posix(): path for path in demo_queries(data_root())}
query_upload = st.file_uploader("Query photo", type=["jpg", "jpeg", "png", "webp", "bmp"], key="query_upload")
query_name = st.selectbox("…or a photo from the data folder", list(queries), key="query_pick")
query = (
    Photo(query_upload.name, None, query_upload.getvalue())
    if query_upload
    else Photo(query_name, None, queries[query_name].read_bytes())
)
answer = analyze_all([query], [recognizer])[recognizer][0]
if answer.error:
    st.error(plain_markdown(answer.error))
elif not answer.faces:
    st.warning(f"{plain_markdown(answer.name)}: no face found")
else:
    left, right = st.columns([1, 2])
    left.image(answer.preview, caption=plain_markdown(answer.name))
    for row in answer.faces:
        match = identify(gallery, row.embedding, cutoff, metric)
        verdict = match.identity if match.identity != UNKNOWN else f"{UNKNOWN} (nearest: {match.nearest})"
        right.image(row.thumbnail, width=72)
        right.markdown(
            f"face {row.index}: **{plain_markdown(verdict)}**, distance {match.distance:.3f} (threshold {cutoff:.3f})"
        )
