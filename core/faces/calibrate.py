"""Threshold calibration on a labelled set: which distance separates "same person" from "different people"?

Pairs: every same-identity pair, plus an equal number of different-identity pairs drawn with a fixed seed, so the
two classes weigh the same in accuracy and the numbers are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from core.faces.metrics import distance_matrix

PAIR_SEED = 0
FARS = (1e-2, 1e-3)


def sample_pairs(labels: list[str], seed: int = PAIR_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(P, 2) index pairs and (P,) booleans "same identity": all same pairs and as many different ones (seeded)."""
    labels_array = np.asarray(labels)
    first, second = np.triu_indices(len(labels_array), k=1)
    same = labels_array[first] == labels_array[second]
    same_pairs = np.flatnonzero(same)
    different_pairs = np.flatnonzero(~same)
    count = min(len(same_pairs), len(different_pairs))
    drawn = np.random.default_rng(seed).choice(different_pairs, size=count, replace=False)
    chosen = np.concatenate([same_pairs, np.sort(drawn)])
    return np.stack([first[chosen], second[chosen]], axis=1), same[chosen]


@dataclass
class Calibration:
    """Distances of the sampled pairs and every number the calibration panel and CLI report."""

    metric: str
    distances: np.ndarray
    same: np.ndarray
    auc: float
    best_threshold: float
    best_accuracy: float
    default_threshold: float
    accuracy_at_default_threshold: float
    tar_at_far: dict[float, float]
    roc: tuple[np.ndarray, np.ndarray] = field(repr=False)  # false accept rate, true accept rate
    sweep: dict[str, np.ndarray] = field(repr=False)  # threshold, accuracy, f1

    @property
    def pair_counts(self) -> dict[str, int]:
        return {"same": int(self.same.sum()), "different": int((~self.same).sum())}

    def summary(self) -> dict:
        """The CLI's JSON fields."""
        return {
            "metric": self.metric,
            "pairs": self.pair_counts,
            "auc": round(self.auc, 5),
            "best_threshold": round(self.best_threshold, 4),
            "best_accuracy": round(self.best_accuracy, 4),
            "default_threshold": round(self.default_threshold, 4),
            "accuracy_at_default_threshold": round(self.accuracy_at_default_threshold, 4),
            **{f"tar_at_far_{far:.0e}".replace("e-0", "e-"): round(tar, 4) for far, tar in self.tar_at_far.items()},
        }


def calibrate(
    embeddings: np.ndarray, labels: list[str], metric: str, default_threshold: float, seed: int = PAIR_SEED
) -> Calibration:
    """ROC, AUC, the accuracy-maximising threshold and TAR at fixed FARs for faces with identity ``labels``."""
    pairs, same = sample_pairs(labels, seed)
    if not same.any() or same.all():
        raise ValueError("calibration needs at least one identity with two faces and at least two identities")
    distances = distance_matrix(embeddings, metric)[pairs[:, 0], pairs[:, 1]]
    false_accepts, true_accepts, _ = roc_curve(same, -distances)
    sweep = threshold_sweep(distances, same)
    best = int(np.argmax(sweep["accuracy"]))
    return Calibration(
        metric=metric,
        distances=distances,
        same=same,
        auc=float(roc_auc_score(same, -distances)),
        best_threshold=float(sweep["threshold"][best]),
        best_accuracy=float(sweep["accuracy"][best]),
        default_threshold=default_threshold,
        accuracy_at_default_threshold=accuracy_at(distances, same, default_threshold),
        tar_at_far={far: tar_at_far(distances, same, far) for far in FARS},
        roc=(false_accepts, true_accepts),
        sweep=sweep,
    )


def accuracy_at(distances: np.ndarray, same: np.ndarray, cutoff: float) -> float:
    """Fraction of pairs decided right when "same" means distance < cutoff."""
    return float(np.mean((distances < cutoff) == same))


def threshold_sweep(distances: np.ndarray, same: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and F1 of "same if distance < t" for t at every midpoint between consecutive observed distances."""
    ordered = np.unique(distances)
    cutoffs = np.concatenate([[ordered[0] - 1e-6], (ordered[:-1] + ordered[1:]) / 2, [ordered[-1] + 1e-6]])
    predicted = distances[None, :] < cutoffs[:, None]
    true_positive = (predicted & same).sum(axis=1)
    false_positive = (predicted & ~same).sum(axis=1)
    false_negative = (~predicted & same).sum(axis=1)
    accuracy = (predicted == same).mean(axis=1)
    f1 = 2 * true_positive / np.maximum(2 * true_positive + false_positive + false_negative, 1)
    return {"threshold": cutoffs, "accuracy": accuracy, "f1": f1}


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float) -> float:
    """Highest true accept rate whose false accept rate on the different pairs stays <= ``far``."""
    different = np.sort(distances[~same])
    allowed = int(np.floor(far * len(different)))  # how many different pairs may be accepted
    cutoff = different[allowed] if allowed < len(different) else np.inf  # strictly below the next impostor
    return float(np.mean(distances[same] < cutoff))
