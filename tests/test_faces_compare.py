"""Recognizers side by side and their agreement, on real embeddings of the demo set (five LFW people, three photos
each) from every available recognizer."""

from __future__ import annotations

import numpy as np
import pytest

from core.faces import available_recognizers, threshold
from core.faces.calibrate import calibrate
from core.faces.collection import analyze_photos, demo_photos, labelled_faces
from core.faces.compare import COMPARED_FAR, agreement, compare_recognizers, threshold_source
from core.faces.metrics import face_distance
from core.models import get_spec, recognizer_facts


@pytest.fixture(scope="module")
def demo(data_dir, tmp_path_factory):
    """(labels, photo names, embeddings by recognizer) of each demo photo's face. Module fixtures run before
    conftest's per-test cache redirection, so this one redirects the cache itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HIDESEEK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        photos = demo_photos(data_dir / "faces")
        by_recognizer = {name: analyze_photos(photos, name) for name in available_recognizers()}
    labelled = {name: labelled_faces(results) for name, results in by_recognizer.items()}
    assert all(missing == [] and len(rows) == 15 for rows, missing in labelled.values())
    first = next(iter(labelled.values()))[0]
    assert all([r.photo for r in rows] == [r.photo for r in first] for rows, _ in labelled.values())
    embeddings = {name: np.stack([r.embedding for r in rows]) for name, (rows, _) in labelled.items()}
    return [r.identity for r in first], [r.photo for r in first], embeddings


def test_all_three_real_recognizers_are_compared(demo):
    assert set(demo[2]) == {"dlib_resnet29", "hse_faceres", "mobileface"}


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_one_row_per_recognizer_with_the_calibration_numbers_and_the_threshold_source(demo, metric):
    labels, _, embeddings = demo
    rows = compare_recognizers(embeddings, labels, metric)
    assert [row.recognizer for row in rows] == list(embeddings)
    for row in rows:
        reference = calibrate(embeddings[row.recognizer], labels, metric, threshold(row.recognizer, metric))
        assert 0.0 <= row.auc <= 1.0 and row.auc == reference.auc
        assert row.best_threshold == reference.best_threshold
        assert row.tar_at_far == reference.tar_at_far[COMPARED_FAR]
        assert row.accuracy == reference.accuracy_at_default_threshold
        assert row.threshold == threshold(row.recognizer, metric) and row.faces == 15
        assert row.title == get_spec(row.recognizer).title
        facts = recognizer_facts(row.recognizer)
        assert row.threshold_source.startswith(facts.threshold_source)
        assert ("converted from" in row.threshold_source) == (metric != facts.metric)
        record = row.record(metric)
        assert record["ROC AUC"] == round(row.auc, 4) and record["threshold from"] == row.threshold_source
    # the five demo people are easy: every recognizer ranks same-person pairs almost always closer
    assert min(row.auc for row in rows) >= 0.95


def test_a_hand_set_threshold_is_used_and_said_to_be(demo):
    labels, _, embeddings = demo
    rows = compare_recognizers(embeddings, labels, "l2", {"dlib_resnet29": 0.3})
    dlib = next(row for row in rows if row.recognizer == "dlib_resnet29")
    assert dlib.threshold == 0.3 and dlib.threshold_source.startswith("set by hand (default 0.6:")
    distances = calibrate(embeddings["dlib_resnet29"], labels, "l2", 0.3)
    assert dlib.accuracy == distances.accuracy_at_default_threshold < 1.0  # 0.3 splits some same-person pairs
    assert threshold_source("dlib_resnet29", "l2", 0.6) == recognizer_facts("dlib_resnet29").threshold_source


def test_labels_that_do_not_fit_the_embeddings_are_refused(demo):
    labels, _, embeddings = demo
    with pytest.raises(ValueError, match="15 embeddings for 14 labels"):
        compare_recognizers(embeddings, labels[:14])


def _verdicts(embeddings: np.ndarray, cutoff: float) -> dict[tuple[int, int], bool]:
    """Same person, pair by pair, the slow way."""
    count = len(embeddings)
    return {
        (i, j): face_distance(embeddings[i], embeddings[j]) < cutoff for i in range(count) for j in range(i + 1, count)
    }


def test_agreement_counts_the_pairs_both_call_alike(demo):
    _, names, embeddings = demo
    found = agreement(embeddings, "l2")
    recognizers = list(embeddings)
    assert [(a.first, a.second) for a in found] == [
        (x, y) for k, x in enumerate(recognizers) for y in recognizers[k + 1 :]
    ]
    for pair in found:
        first = _verdicts(embeddings[pair.first], threshold(pair.first))
        second = _verdicts(embeddings[pair.second], threshold(pair.second))
        differ = [key for key in first if first[key] != second[key]]
        assert pair.pairs == 105 and pair.agreeing == 105 - len(differ)
        assert pair.share == pytest.approx(1 - len(differ) / 105)
        assert [(i, j) for i, j, _ in pair.disagreements] == differ[:3]
        assert all(same == first[(i, j)] for i, j, same in pair.disagreements)
        notes = pair.notes(names)
        assert len(notes) == len(pair.disagreements)
        for note, (i, j, same) in zip(notes, pair.disagreements, strict=True):
            verdicts = ("same", "different") if same else ("different", "same")
            assert note == f"{names[i]} ~ {names[j]}: {pair.first} {verdicts[0]}, {pair.second} {verdicts[1]}"
        assert pair.record(names)["disagree on"] == len(differ)
    # measured on the demo set: dlib and HSE FaceRec give the same verdict on all 105 pairs, MobileFace differs
    assert {(a.first, a.second): a.agreeing for a in found}[("dlib_resnet29", "hse_faceres")] == 105
    assert {(a.first, a.second): a.agreeing for a in found}[("dlib_resnet29", "mobileface")] < 105


def test_agreement_with_itself_is_total_and_with_a_zero_threshold_is_the_share_called_different(demo):
    _, _, embeddings = demo
    dlib = embeddings["dlib_resnet29"]
    (same,) = agreement({"a": dlib, "b": dlib.copy()}, "l2", {"a": 0.6, "b": 0.6})
    assert same.share == 1.0 and same.disagreements == ()
    (never,) = agreement({"a": dlib, "never": dlib}, "l2", {"a": 0.6, "never": 0.0})
    called_same = sum(_verdicts(dlib, 0.6).values())
    assert called_same == 15  # the 15 same-person pairs of the demo, no other
    assert never.agreeing == 105 - called_same and len(never.disagreements) == 3
    assert all(first_says_same for *_, first_says_same in never.disagreements)


def test_agreement_needs_the_same_faces_for_every_recognizer(demo):
    _, _, embeddings = demo
    with pytest.raises(ValueError, match="different faces"):
        agreement({"a": embeddings["dlib_resnet29"], "b": embeddings["mobileface"][:10]})
