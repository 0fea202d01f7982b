"""Recognizers side by side on one set of faces: how well each separates the labelled people (calibration numbers
next to the threshold in use and where it comes from), and how often two recognizers give the same verdict.

Both take embeddings by recognizer whose rows are the same faces in the same order (every recognizer sees MTCNN's
one set of detections), so a row index names one face for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.faces.calibrate import calibrate
from core.faces.metrics import distance_matrix, threshold
from core.models import get_spec, recognizer_facts

COMPARED_FAR = 1e-2
SHOWN_DISAGREEMENTS = 3


@dataclass(frozen=True)
class RecognizerRow:
    """One recognizer's numbers on the labelled faces; ``threshold`` is the one in use, ``accuracy`` at it."""

    recognizer: str
    title: str
    faces: int
    auc: float
    best_threshold: float
    tar_at_far: float  # at COMPARED_FAR
    threshold: float
    threshold_source: str
    accuracy: float

    def record(self, metric: str) -> dict[str, object]:
        """The row as the page's table shows it (column names with the metric and the FAR in them)."""
        return {
            "recognizer": self.title,
            "faces": self.faces,
            "ROC AUC": round(self.auc, 4),
            f"best threshold ({metric})": round(self.best_threshold, 4),
            f"TAR @ FAR {COMPARED_FAR:.0e}": round(self.tar_at_far, 3),
            f"threshold in use ({metric})": round(self.threshold, 4),
            "accuracy at it": round(self.accuracy, 3),
            "threshold from": self.threshold_source,
        }


def threshold_source(recognizer: str, metric: str, cutoff: float | None = None) -> str:
    """Where the threshold in use comes from: the recognizer's facts (converted when ``metric`` is not the one
    its threshold was set in), or the page when ``cutoff`` differs from that default."""
    facts = recognizer_facts(recognizer)
    default = threshold(recognizer, metric)
    source = facts.threshold_source
    if metric != facts.metric:
        source += f"; converted from {facts.threshold:g} ({facts.metric}) at embedding length {facts.typical_norm:g}"
    if cutoff is not None and not np.isclose(cutoff, default, rtol=0, atol=5e-4):
        return f"set by hand (default {default:.4g}: {source})"
    return source


def _thresholds(recognizers: list[str], metric: str, thresholds: dict[str, float] | None) -> dict[str, float]:
    given = thresholds or {}
    return {name: float(given[name]) if name in given else threshold(name, metric) for name in recognizers}


def compare_recognizers(
    embeddings_by_recognizer: dict[str, np.ndarray],
    labels: list[str],
    metric: str = "l2",
    thresholds: dict[str, float] | None = None,
) -> list[RecognizerRow]:
    """One row per recognizer: core.faces.calibrate's ROC AUC, best threshold and TAR at COMPARED_FAR on the
    same sampled pairs of ``labels``, and the accuracy at the threshold in use (``thresholds``, else each one's
    default in ``metric``)."""
    cutoffs = _thresholds(list(embeddings_by_recognizer), metric, thresholds)
    rows = []
    for name, embeddings in embeddings_by_recognizer.items():
        if len(embeddings) != len(labels):
            raise ValueError(f"{name}: {len(embeddings)} embeddings for {len(labels)} labels")
        calibration = calibrate(np.asarray(embeddings), list(labels), metric, cutoffs[name])
        rows.append(
            RecognizerRow(
                recognizer=name,
                title=get_spec(name).title,
                faces=len(labels),
                auc=calibration.auc,
                best_threshold=calibration.best_threshold,
                tar_at_far=calibration.tar_at_far[COMPARED_FAR],
                threshold=cutoffs[name],
                threshold_source=threshold_source(name, metric, cutoffs[name]),
                accuracy=calibration.accuracy_at_default_threshold,
            )
        )
    return rows


@dataclass(frozen=True)
class Agreement:
    """How often recognizers ``first`` and ``second`` (each at its own threshold) both call a pair of faces the
    same person or both call it different; ``disagreements`` are the first few pairs where they do not, as
    (face i, face j, first says same)."""

    first: str
    second: str
    pairs: int
    agreeing: int
    disagreements: tuple[tuple[int, int, bool], ...]

    @property
    def share(self) -> float:
        return self.agreeing / self.pairs if self.pairs else float("nan")

    def notes(self, names: list[str]) -> list[str]:
        """The shown disagreements in words, e.g. "a.jpg ~ b.jpg: dlib_resnet29 same, mobileface different"."""
        verdict = {True: "same", False: "different"}
        return [
            f"{names[i]} ~ {names[j]}: {self.first} {verdict[same]}, {self.second} {verdict[not same]}"
            for i, j, same in self.disagreements
        ]

    def record(self, names: list[str]) -> dict[str, object]:
        return {
            "recognizers": f"{self.first} / {self.second}",
            "face pairs": self.pairs,
            "same verdict": round(self.share, 4),
            "disagree on": self.pairs - self.agreeing,
            "first disagreements": "; ".join(self.notes(names)),
        }


def same_person_verdicts(embeddings: np.ndarray, metric: str, cutoff: float) -> np.ndarray:
    """(P,) "same person" (distance below ``cutoff``) for every pair i < j, in np.triu_indices order."""
    first, second = np.triu_indices(len(embeddings), k=1)
    return distance_matrix(np.asarray(embeddings), metric)[first, second] < cutoff


def agreement(
    embeddings_by_recognizer: dict[str, np.ndarray],
    metric: str = "l2",
    thresholds: dict[str, float] | None = None,
    shown: int = SHOWN_DISAGREEMENTS,
) -> list[Agreement]:
    """For every pair of recognizers, the share of face pairs on which both give the same verdict, each at its
    own threshold (``thresholds``, else its default in ``metric``), and the first ``shown`` pairs they disagree on."""
    names = list(embeddings_by_recognizer)
    sizes = {len(embeddings) for embeddings in embeddings_by_recognizer.values()}
    if len(sizes) > 1:
        raise ValueError(f"the recognizers' embeddings are of different faces (row counts {sorted(sizes)})")
    cutoffs = _thresholds(names, metric, thresholds)
    verdicts = {name: same_person_verdicts(embeddings_by_recognizer[name], metric, cutoffs[name]) for name in names}
    count = sizes.pop() if sizes else 0
    first_index, second_index = np.triu_indices(count, k=1)
    results = []
    for position, first in enumerate(names):
        for second in names[position + 1 :]:
            differ = np.flatnonzero(verdicts[first] != verdicts[second])
            results.append(
                Agreement(
                    first,
                    second,
                    pairs=len(first_index),
                    agreeing=len(first_index) - len(differ),
                    disagreements=tuple(
                        (int(first_index[k]), int(second_index[k]), bool(verdicts[first][k])) for k in differ[:shown]
                    ),
                )
            )
    return results
