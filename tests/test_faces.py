"""The face pipeline on real photos with the real models, checked against dlib's own pipeline (dlib is test-only)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from core import faces
from core.archive import MAX_MEMBER_BYTES
from core.faces.align import DLIB_TEMPLATE, chip_to_image, crop_rule, similarity_transform
from core.faces.calibrate import calibrate, sample_pairs, tar_at_far
from core.faces.collection import (
    Photo,
    analyze_photo,
    analyze_photos,
    demo_photos,
    demo_queries,
    face_rows,
    labelled_faces,
    photos_from_folder,
    photos_from_paths,
    photos_from_zip,
    primary_face,
)
from core.faces.detect import match_by_overlap
from core.faces.gallery import UNKNOWN, enroll, identify
from core.faces.metrics import TYPICAL_NORM, distance_matrix, face_distance, group_identities
from core.images import ImageError, open_image, to_array
from core.models import ModelUnavailable, load_model
from scripts.fit_dlib_template import DlibPipeline, fit_template

RECOGNIZER = "dlib_resnet29"


@pytest.fixture(scope="session")
def face_results(data_dir, tmp_path_factory):
    """Every photo of ../shared/data/faces through detection, alignment and dlib ResNet-29 (our pipeline).
    Session fixtures run before conftest's per-test cache redirection, so this one redirects the cache itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HIDESEEK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return analyze_photos(photos_from_folder(data_dir / "faces"), RECOGNIZER)


@pytest.fixture(scope="session")
def versus_dlib(face_results, data_dir):
    """Our embedding of each photo's primary face next to dlib's own pipeline's embedding of the same face
    (dlib's HOG detector + 5-point shape + get_face_chip + ResNet-29), matched by box overlap."""
    pipeline = DlibPipeline()
    ours, theirs, labels, unmatched = [], [], [], []
    for result in face_results:
        row = primary_face(result)
        pixels = to_array(open_image(data_dir / "faces" / result.name))
        matched = match_by_overlap([row.face], pipeline.faces(pixels)) if row is not None else []
        if not matched:
            unmatched.append(result.name)
            continue
        ours.append(row.embedding)
        theirs.append(pipeline.embed(pixels, matched[0][1]))
        labels.append(result.identity)
    return np.array(ours), np.array(theirs), labels, unmatched


def test_every_demo_photo_has_a_face(face_results):
    rows, missing = labelled_faces(face_results)
    assert missing == [] and len(rows) == len(face_results) == 126
    assert all(r.embedding.shape == (128,) and np.isfinite(r.embedding).all() for r in rows)


def test_detection_finds_both_people_and_maps_back_from_the_downscaled_copy(data_dir):
    image = open_image(data_dir / "faces_multi" / "face_recognition_two_people.jpg")
    assert max(image.size) > 1000  # so detection really runs on a downscaled copy
    found = faces.detect_faces(image)
    assert len(found) == 2
    full_size = faces.detect_faces(image, long_side=max(image.size))
    for face in found:
        nearest = min(full_size, key=lambda f: np.abs(f.box - face.box).sum())
        # MTCNN's pyramid differs with the scale, so points move a little; a mapping error would move them by
        # a fraction of their coordinates (hundreds of pixels here)
        error = np.linalg.norm(nearest.landmarks - face.landmarks, axis=1) / (face.box[2] - face.box[0])
        assert error.mean() < 0.05 and error.max() < 0.1
        assert 0 <= face.box[0] < face.box[2] <= image.width and 0 <= face.box[1] < face.box[3] <= image.height
    assert faces.detect_faces(open_image(data_dir / "imagenet_samples" / "images" / "n09472597_volcano.JPEG")) == []


def test_embeddings_agree_with_dlibs_own_pipeline(versus_dlib):
    ours, theirs, _, unmatched = versus_dlib
    assert len(unmatched) <= 2, unmatched
    cosine = 1 - face_distance(ours, theirs, "cosine")
    assert np.median(cosine) >= 0.98
    assert np.mean(cosine >= 0.95) >= 0.9


def test_verification_accuracy_is_within_one_point_of_dlibs_pipeline(versus_dlib):
    ours, theirs, labels, _ = versus_dlib
    mine = calibrate(ours, labels, "l2", faces.threshold(RECOGNIZER))
    reference = calibrate(theirs, labels, "l2", faces.threshold(RECOGNIZER))
    assert mine.best_accuracy >= reference.best_accuracy - 0.01
    assert mine.accuracy_at_default_threshold >= reference.accuracy_at_default_threshold - 0.01


def test_calibration_on_the_demo_set(face_results):
    rows, _ = labelled_faces(face_results)
    result = calibrate(
        np.stack([r.embedding for r in rows]), [r.identity for r in rows], "l2", faces.threshold(RECOGNIZER)
    )
    assert result.auc >= 0.99
    assert result.pair_counts == {"same": 470, "different": 470}
    assert 0.5 < result.best_threshold < 0.7  # dlib publishes 0.6
    assert result.best_accuracy >= result.accuracy_at_default_threshold >= 0.95
    assert 0.8 < result.tar_at_far[1e-3] <= result.tar_at_far[1e-2] <= 1.0
    cosine = calibrate(
        np.stack([r.embedding for r in rows]),
        [r.identity for r in rows],
        "cosine",
        faces.threshold(RECOGNIZER, "cosine"),
    )
    assert cosine.auc >= 0.99 and cosine.accuracy_at_default_threshold >= 0.95


def test_typical_descriptor_length_matches_the_data(face_results):
    norms = np.linalg.norm([r.embedding for r in face_rows(face_results)], axis=1)
    assert abs(norms.mean() / TYPICAL_NORM[RECOGNIZER] - 1) < 0.02


def test_gradients_flow_from_the_embedding_to_the_original_pixels(data_dir):
    image = open_image(data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    face = faces.detect_faces(image)[0]
    pixels = faces.image_to_tensor(image).requires_grad_(True)
    embedding = faces.embed_chips(faces.align(pixels, face.landmarks)[None])[0]
    embedding.norm().backward()
    gradient = pixels.grad.abs().sum(dim=0)
    x0, y0, x1, y1 = face.box.astype(int)
    assert gradient[y0:y1, x0:x1].sum() > 0
    assert gradient[:5, :5].sum() == 0  # the corner is outside every chip
    with torch.inference_mode():
        cached = faces.embed_faces(image, [face])[0]
    np.testing.assert_allclose(embedding.detach().numpy(), cached, atol=1e-4)


def test_alignment_puts_landmarks_on_the_template():
    rng = np.random.default_rng(0)
    angle, scale, shift = 0.3, 2.5, np.array([40.0, -12.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (DLIB_TEMPLATE @ rotation.T) * scale + shift + rng.normal(0, 0.01, DLIB_TEMPLATE.shape)
    fitted = similarity_transform(landmarks, DLIB_TEMPLATE)
    np.testing.assert_allclose(landmarks @ fitted[:, :2].T + fitted[:, 2], DLIB_TEMPLATE, atol=0.05)
    to_image = chip_to_image(landmarks, RECOGNIZER)
    np.testing.assert_allclose(DLIB_TEMPLATE @ to_image[:, :2].T + to_image[:, 2], landmarks, atol=0.05)


def test_aligned_chip_samples_the_right_pixels():
    """A chip of a coordinate ramp must hold, at each chip pixel, the image coordinates chip_to_image gives."""
    height, width = 300, 400
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij"
    )
    ramp = torch.stack([xs, ys, torch.zeros_like(xs)])
    landmarks = DLIB_TEMPLATE * 1.3 + np.array([90.0, 60.0])  # 1.3 image px per chip px: no pyramid level
    chip = faces.align(ramp, landmarks)
    to_image = chip_to_image(landmarks, RECOGNIZER)
    for u, v in [(10, 10), (75, 75), (140, 30)]:
        expected = to_image @ np.array([u, v, 1.0])
        np.testing.assert_allclose(chip[:2, v, u].numpy(), expected, atol=1e-3)


def test_facenet_crop_is_the_box_with_a_margin_and_needs_weights():
    rule = crop_rule("facenet_vggface2")
    box = np.array([100.0, 50.0, 200.0, 170.0])
    to_image = chip_to_image(np.zeros((5, 2)), "facenet_vggface2", box)
    left_edge = to_image @ np.array([-0.5, -0.5, 1.0])  # the chip's outer corner
    right_edge = to_image @ np.array([rule.chip_size - 0.5, rule.chip_size - 0.5, 1.0])
    grow = rule.margin * (box[2:] - box[:2]) / (rule.chip_size - rule.margin) / 2
    np.testing.assert_allclose(left_edge + 0.5, box[:2] - grow, atol=1e-9)
    np.testing.assert_allclose(right_edge + 0.5, box[2:] + grow, atol=1e-9)
    with pytest.raises(ValueError, match="box"):
        chip_to_image(np.zeros((5, 2)), "facenet_vggface2")
    assert "facenet_vggface2" not in faces.available_recognizers()  # no weights offline: disabled, with a reason
    assert RECOGNIZER in faces.available_recognizers()
    with pytest.raises(ModelUnavailable, match="no weights"):
        load_model("facenet_vggface2")


def test_gallery_names_known_people_and_rejects_strangers(face_results):
    rows, _ = labelled_faces(face_results)
    by_identity: dict[str, list] = {}
    for row in rows:
        by_identity.setdefault(row.identity, []).append(row)
    enrolled_people = [name for name, group in by_identity.items() if len(group) == 10][:6]
    enrolled = [row for name in enrolled_people for row in by_identity[name][:5]]
    gallery = enroll(np.stack([r.embedding for r in enrolled]), [r.identity for r in enrolled])
    cutoff = faces.threshold(RECOGNIZER)
    known = [
        identify(gallery, row.embedding, cutoff).identity == row.identity
        for name in enrolled_people
        for row in by_identity[name][5:]
    ]
    strangers = [
        identify(gallery, row.embedding, cutoff).identity == UNKNOWN
        for row in rows
        if row.identity not in enrolled_people
    ]
    assert np.mean(known) >= 0.9
    assert np.mean(strangers) >= 0.8  # 0.86 measured at dlib's 0.6


def test_grouping_at_the_threshold_recovers_identities(face_results):
    rows = [
        r
        for r in face_rows(face_results, primary_only=True)
        if r.identity.startswith(("Colin", "George", "Tony", "Hugo"))
    ]
    labels = group_identities(distance_matrix(np.stack([r.embedding for r in rows])), faces.threshold(RECOGNIZER))
    assert adjusted_rand_score([r.identity for r in rows], labels) > 0.8


def test_distances_and_thresholds():
    a, b = np.array([3.0, 4.0]), np.array([0.0, 1.0])
    assert face_distance(a, b) == pytest.approx(np.sqrt(9 + 9))
    assert face_distance(a, b, "cosine") == pytest.approx(1 - 4 / 5)
    matrix = distance_matrix(np.array([a, b, -a]), "cosine")
    assert matrix.shape == (3, 3) and np.allclose(matrix, matrix.T) and matrix[0, 2] == pytest.approx(2.0)
    assert faces.threshold(RECOGNIZER) == 0.6
    # the cosine threshold is the same boundary for descriptors of dlib's typical length
    n = TYPICAL_NORM[RECOGNIZER]
    assert faces.threshold(RECOGNIZER, "cosine") == pytest.approx(0.6**2 / (2 * n**2))
    with pytest.raises(ValueError):
        face_distance(a, b, "manhattan")


def test_pairs_are_all_same_pairs_and_as_many_seeded_different_ones():
    labels = ["a", "a", "a", "b", "b", "c"]
    pairs, same = sample_pairs(labels)
    assert same.sum() == 4 and (~same).sum() == 4
    assert all((labels[i] == labels[j]) == s for (i, j), s in zip(pairs, same, strict=True))
    again, _ = sample_pairs(labels)
    np.testing.assert_array_equal(pairs, again)


def test_tar_at_far_counts_accepted_impostors():
    same = np.array([True] * 4 + [False] * 10)
    distances = np.array([0.1, 0.2, 0.5, 0.9] + [0.3, 0.6, 0.7, 0.8, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    assert tar_at_far(distances, same, 0.0) == 0.5  # below the closest impostor (0.3): 0.1 and 0.2
    assert tar_at_far(distances, same, 0.1) == 0.75  # one impostor may pass: below 0.6
    assert tar_at_far(distances, same, 1.0) == 1.0


def test_zip_upload_reads_only_images_in_memory(data_dir):
    photo = (data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("set/Colin_Powell/one.jpg", photo)
        archive.writestr("loose.jpg", photo)
        archive.writestr("notes.txt", "not an image")
        archive.writestr("__MACOSX/set/._one.jpg", b"resource fork")
    photos = photos_from_zip(buffer.getvalue())
    assert [(p.name, p.identity) for p in photos] == [("loose.jpg", None), ("set/Colin_Powell/one.jpg", "Colin_Powell")]
    with pytest.raises(ImageError, match="zip"):
        photos_from_zip(b"PK but not really a zip")


def test_zip_member_size_cap(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.png", b"\0" * (MAX_MEMBER_BYTES + 10))
    with pytest.raises(ImageError, match="larger than"):
        photos_from_zip(buffer.getvalue())


def test_unreadable_photo_is_reported_not_raised():
    result = analyze_photo(Photo("broken.jpg", None, b"\xff\xd8 truncated"), RECOGNIZER)
    assert result.faces == [] and "broken.jpg" in result.error


def test_refitting_the_template_on_a_subset_lands_near_the_hard_coded_one(data_dir):
    people = ("Colin_Powell", "Hugo_Chavez", "Tony_Blair")
    paths = [path for person in people for path in sorted((data_dir / "faces" / person).glob("*.jpg"))[:2]]
    template, points = fit_template(paths)
    assert len(points) == 6
    error = np.linalg.norm(template - DLIB_TEMPLATE, axis=1)  # chip pixels, out of 150
    assert error[:2].max() < 3.0 and error.max() < 7.0  # one face's points scatter 3 (eyes) to 7 px (mouth)


def test_a_server_folder_never_reads_links_that_lead_outside_the_data_roots(linked_root, data_dir):
    photos = {photo.name: photo for photo in photos_from_folder(linked_root / "faces")}
    assert list(photos) == [
        "Colin_Powell/Colin_Powell_0001.jpg",
        "Colin_Powell/Colin_Powell_0002.jpg",
        "Colin_Powell/secret.jpg",
        "Stranger",
    ]
    real = data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg"
    assert photos["Colin_Powell/Colin_Powell_0001.jpg"].data == real.read_bytes()
    assert photos["Colin_Powell/Colin_Powell_0001.jpg"].identity == "Colin_Powell"
    refused = photos["Colin_Powell/secret.jpg"]
    assert refused.data == b"" and refused.identity is None
    assert refused.error == "Colin_Powell/secret.jpg: a link to a file outside the data roots; not read"
    assert photos["Stranger"].error == "Stranger: a link to a folder outside the data roots; not read"
    result = analyze_photo(refused, RECOGNIZER)
    assert result.faces == [] and result.error == refused.error
    assert [p.name for p in demo_photos(linked_root / "faces")] == [
        "Colin_Powell/Colin_Powell_0001.jpg",
        "Colin_Powell/Colin_Powell_0002.jpg",
    ]
    assert all(path.name != "secret.jpg" for path in demo_queries(linked_root))
    # the command line reads its user's own folders, links and all
    assert not any(photo.error for photo in photos_from_paths([linked_root / "faces"]))
