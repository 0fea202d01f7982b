"""Faces in a video: read it within limits, sample frames, detect and embed the faces of each frame, link them into
tracks (box overlap plus embedding distance), average each track's embeddings and identify each track.

One frame of a video is a poor photo (blur, compression, a turned head); the same person over many frames is many
poor photos of one face, and their mean embedding is closer to that person than most single frames are.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import numpy as np
from PIL import Image
from scipy.optimize import linear_sum_assignment

from core.boxes import box_iou
from core.cache import pixels_hash
from core.faces.collection import detect_faces_cached, face_thumbnail
from core.faces.detect import Face
from core.faces.embed import embed_photos
from core.faces.gallery import Gallery, Identification, identify
from core.faces.metrics import face_distance
from core.images import ImageError
from core.progress import Progress, silent

VIDEO_SUFFIXES = ("mp4", "webm", "mov", "m4v", "mkv")
MAX_VIDEO_BYTES = 64 << 20
MAX_SECONDS = 30.0
MAX_PIXELS = 1920 * 1080
MAX_SAMPLES = 48
DEFAULT_SAMPLES = 12
MIN_IOU = 0.3  # boxes of consecutive samples overlapping this much may belong to one face...
LOOSE_DISTANCE = 1.5  # ...even up to this many thresholds apart (a blurred frame); otherwise below one threshold
LOOSE_PENALTY = 100.0  # any link by the face outranks a link by the box (boxes of two people can trade places)
MAX_GAP = 2  # a track stays open through this many samples without its face


class VideoError(ImageError):
    """A video that cannot be used (unreadable, damaged, too long or too large); str(err) says why. An ImageError,
    so every caller that reports bad input reports this one too."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    seconds: float
    frames: int
    codec: str


@dataclass
class Frame:
    """One sampled frame: its position among the samples, its time in the video and its pixels."""

    index: int
    time: float
    image: Image.Image


@dataclass
class FrameFace:
    """One face found in one sampled frame."""

    frame: int
    time: float
    face: Face
    embedding: np.ndarray
    thumbnail: np.ndarray


@dataclass
class Track:
    """One face followed over frames; ``embedding`` is the members' mean direction at their mean length."""

    faces: list[FrameFace] = field(default_factory=list)

    @property
    def embedding(self) -> np.ndarray:
        embeddings = np.stack([f.embedding for f in self.faces]).astype(np.float64)
        mean = embeddings.mean(axis=0)
        return mean / max(np.linalg.norm(mean), 1e-12) * np.linalg.norm(embeddings, axis=1).mean()


@dataclass
class VideoAnalysis:
    """What the expensive part of the pipeline found; identification against a gallery is cheap and done after."""

    info: VideoInfo
    times: list[float]
    faces: list[list[FrameFace]]  # per sampled frame
    tracks: list[Track]


@dataclass
class TrackResult:
    """A track's identity from its averaged embedding, and each of its frames identified alone."""

    track: Track
    averaged: Identification
    per_frame: list[Identification]

    @property
    def agreement(self) -> float:
        """Share of the track's frames that alone give the averaged identity (how sure the track is)."""
        return float(np.mean([one.identity == self.averaged.identity for one in self.per_frame]))


def read_video(data: bytes, samples: int = DEFAULT_SAMPLES, name: str = "video") -> tuple[VideoInfo, list[Frame]]:
    """``samples`` frames evenly spread over the video (fewer when it has fewer), after checking the limits.
    Every failure is a VideoError with a reason a user can act on."""
    if not data:
        raise VideoError(f"{name}: the file is empty")
    if len(data) > MAX_VIDEO_BYTES:
        raise VideoError(f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_VIDEO_BYTES >> 20} MB limit")
    if not 1 <= samples <= MAX_SAMPLES:
        raise VideoError(f"sample between 1 and {MAX_SAMPLES} frames, not {samples}")
    info, stamps = _probe(data, name)
    wanted = {stamps[i] for i in np.unique(np.linspace(0, len(stamps) - 1, samples).round().astype(int))}
    return info, _decode(data, name, wanted)


def _open(data: bytes, name: str) -> av.container.InputContainer:
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise VideoError(f"{name}: not a video that can be read (mp4, webm or mov: {_reason(err)})") from err
    if container.format.name == "image2" or container.format.name.endswith("_pipe"):
        container.close()
        raise VideoError(f"{name}: a still image, not a video (use the photo tools for photos)")
    if not container.streams.video:
        container.close()
        raise VideoError(f"{name}: the file has no video stream")
    return container


def _reason(err: Exception) -> str:
    """FFmpeg's own words for a failure, without PyAV's errno and file-name decoration."""
    return str(getattr(err, "strerror", None) or err).lower()


def _probe(data: bytes, name: str) -> tuple[VideoInfo, list[int]]:
    """Size, length and every frame's time stamp, from the container and its packets (nothing decoded yet)."""
    with _open(data, name) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > MAX_PIXELS:
            raise VideoError(f"{name}: frames of {width}x{height} are over the limit of 1920x1080 pixels")
        declared = container.duration / av.time_base if container.duration else None
        _check_length(declared or 0.0, name)  # before reading a long file's packets
        try:
            stamps = sorted(packet.pts for packet in container.demux(stream) if packet.pts is not None)
        except av.FFmpegError as err:
            raise VideoError(f"{name}: the video is damaged ({_reason(err)})") from err
        if not stamps:
            raise VideoError(f"{name}: the video has no frames (damaged or truncated?)")
        seconds = (stamps[-1] - stamps[0]) * float(stream.time_base) + 1 / float(stream.average_rate or 25)
        _check_length(seconds, name)
        if declared is not None and seconds < 0.9 * declared - 0.25:
            raise VideoError(f"{name}: truncated: the file says {declared:.1f} s but holds {seconds:.1f} s of frames")
        return VideoInfo(width, height, round(seconds, 3), len(stamps), stream.codec_context.name), stamps


def _check_length(seconds: float, name: str) -> None:
    if seconds > MAX_SECONDS:
        raise VideoError(f"{name}: {seconds:.1f} s is over the {MAX_SECONDS:g} s limit; cut a shorter clip")


def _decode(data: bytes, name: str, wanted: set[int]) -> list[Frame]:
    frames = []
    with _open(data, name) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        try:
            for decoded in container.decode(stream):
                if decoded.pts in wanted:
                    time = float((decoded.pts - start) * stream.time_base)
                    frames.append(Frame(len(frames), time, decoded.to_image().convert("RGB")))
        except av.FFmpegError as err:
            raise VideoError(f"{name}: the video is damaged after {len(frames)} good frames ({_reason(err)})") from err
    if not frames:
        raise VideoError(f"{name}: no frame could be decoded (damaged or truncated?)")
    return frames


def detect_frames(frames: list[Frame], recognizer: str, progress: Progress = silent) -> list[list[FrameFace]]:
    """Faces of every frame with their embeddings (the photo pipeline's cached detection and batched embedding)."""
    found = []
    for frame in frames:
        key = pixels_hash(frame.image)
        found.append((frame, detect_faces_cached(frame.image, key), key))
        progress(len(found) / (len(frames) + 1), f"Detecting faces: frame {len(found)}/{len(frames)}")
    embeddings = embed_photos([(frame.image, faces, key) for frame, faces, key in found], recognizer)
    return [
        [
            FrameFace(frame.index, frame.time, face, embedding, face_thumbnail(frame.image, face))
            for face, embedding in zip(faces, block, strict=True)
        ]
        for (frame, faces, _), block in zip(found, embeddings, strict=True)
    ]


def link_tracks(faces: list[list[FrameFace]], cutoff: float, metric: str = "l2") -> list[Track]:
    """Faces of consecutive samples joined into tracks, one-to-one per frame (Hungarian assignment). A face joins a
    track whose mean embedding is within ``cutoff`` (overlap breaks ties), or, second choice, within LOOSE_DISTANCE
    cutoffs when its box overlaps the track's last box by MIN_IOU: overlap alone would swap two people who pass
    each other, distance alone would split a face over one badly blurred frame."""
    tracks: list[Track] = []
    for frame, found in enumerate(faces):
        live = [t for t in tracks if frame - t.faces[-1].frame <= MAX_GAP + 1]
        cost = np.full((len(live), len(found)), np.inf)
        for i, track in enumerate(live):
            mean = track.embedding
            for j, face in enumerate(found):
                distance = face_distance(mean, face.embedding, metric) / cutoff
                iou = box_iou(track.faces[-1].face.box, face.face.box)
                if distance < 1.0:
                    cost[i, j] = distance - iou / 2
                elif iou >= MIN_IOU and distance < LOOSE_DISTANCE:
                    cost[i, j] = LOOSE_PENALTY + distance - iou
        joined = set()
        if live and found:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e6))
            for i, j in zip(rows, cols, strict=True):
                if np.isfinite(cost[i, j]):
                    live[i].faces.append(found[j])
                    joined.add(j)
        tracks += [Track([face]) for j, face in enumerate(found) if j not in joined]
    return tracks


def analyze_video(
    data: bytes,
    recognizer: str,
    cutoff: float,
    metric: str = "l2",
    samples: int = DEFAULT_SAMPLES,
    name: str = "video",
    progress: Progress = silent,
) -> VideoAnalysis:
    """Read, sample, detect, embed and track: everything that costs time, for one video and one recognizer."""
    info, frames = read_video(data, samples, name)
    faces = detect_frames(frames, recognizer, progress)
    progress(1.0, "Linking faces into tracks")
    return VideoAnalysis(info, [frame.time for frame in frames], faces, link_tracks(faces, cutoff, metric))


def identify_tracks(analysis: VideoAnalysis, gallery: Gallery, cutoff: float, metric: str = "l2") -> list[TrackResult]:
    """Each track identified from its averaged embedding, and each of its frames alone (open set, as for photos)."""
    return [
        TrackResult(
            track,
            identify(gallery, track.embedding, cutoff, metric),
            [identify(gallery, face.embedding, cutoff, metric) for face in track.faces],
        )
        for track in analysis.tracks
    ]


@dataclass(frozen=True)
class Accuracy:
    """Identification accuracy of the subject (each sampled frame's largest face) over the frames where a face was
    found: the face alone, and the face given its track's averaged identity."""

    frames: int
    per_frame: float
    averaged: float


def accuracy(results: list[TrackResult], truth: str) -> Accuracy:
    """Accuracy on a video of one person, ``truth``; smaller faces (bystanders in the photo) are not scored."""
    subject: dict[int, tuple[float, bool, bool]] = {}  # frame -> (area, alone right, averaged right)
    for result in results:
        for face, alone in zip(result.track.faces, result.per_frame, strict=True):
            area = float(np.prod(face.face.box[2:] - face.face.box[:2]))
            if area > subject.get(face.frame, (-1.0,))[0]:
                subject[face.frame] = (area, alone.identity == truth, result.averaged.identity == truth)
    if not subject:
        return Accuracy(0, 0.0, 0.0)
    scored = np.array([[alone, averaged] for _, alone, averaged in subject.values()], dtype=float)
    return Accuracy(len(subject), float(scored[:, 0].mean()), float(scored[:, 1].mean()))
