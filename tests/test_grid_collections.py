"""Collections from the real demo data, uploads and zips: labels from sub-folders, server folders only inside the
data roots, and clear errors for unusable input."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.config import PathNotAllowed, inside_data_roots
from core.grid.collections import cifar10, digits, from_folder, from_uploads, imagenet_samples
from core.images import ImageError, open_image


def test_cifar10_is_labelled_by_class_folder() -> None:
    collection = cifar10()
    assert len(collection) == 500
    assert Counter(collection.labels) == {label: 50 for label in set(collection.labels)}
    assert {"airplane", "frog", "truck"} <= set(collection.labels)
    assert collection.open(0).size == (32, 32)


def test_imagenet_samples_take_labels_from_labels_csv(data_dir: Path) -> None:
    collection = imagenet_samples()
    assert len(collection) == 500 and len(set(collection.labels)) == 500
    first = collection.items[0]
    assert first.name.startswith("n01440764") and first.label == "tench"


def test_folder_must_lie_inside_the_data_roots(data_dir: Path) -> None:
    with pytest.raises(PathNotAllowed):
        from_folder("/etc")
    with pytest.raises(PathNotAllowed):
        from_folder("../../etc")
    faces = from_folder("faces", limit=30)
    assert len(faces) == 30 and all(label for label in faces.labels)


def test_digits_are_labelled_pixels_and_decodable_images() -> None:
    collection = digits(limit=50)
    assert collection.pixels.shape == (50, 64)
    assert collection.labels[:10] == [str(d) for d in range(10)]
    image = collection.open(3)
    assert image.size == (8, 8)
    ink = 255 - np.asarray(image.convert("L"), dtype=float)  # black on white
    assert np.corrcoef(ink.ravel(), collection.pixels[3])[0, 1] > 0.99


def test_zip_upload_labels_by_sub_folder_and_skips_junk(data_dir: Path) -> None:
    cat, ship = (data_dir / "cifar10" / name / "0000.jpg" for name in ("cat", "ship"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(cat, "pets/cat.jpg")
        archive.write(ship, "boats/ship.jpg")
        archive.writestr("__MACOSX/pets/._cat.jpg", b"resource fork")
        archive.writestr("readme.txt", b"not an image")
    collection = from_uploads([("set.zip", buffer.getvalue()), ("loose.jpg", cat.read_bytes())])
    assert collection.names == ["boats/ship.jpg", "pets/cat.jpg", "loose.jpg"]
    assert collection.labels == ["boats", "pets", ""]
    assert open_image(collection.items[1].source).size == (32, 32)
    assert collection.hashes[1] == collection.hashes[2]  # same bytes, same cache key


def test_bad_uploads_give_readable_errors() -> None:
    with pytest.raises(ImageError, match="not a readable zip"):
        from_uploads([("broken.zip", b"PK\x03\x04 not really")])
    with pytest.raises(ImageError, match="no images"):
        from_uploads([])


def test_subset_keeps_order_labels_and_hashes() -> None:
    collection = digits(limit=20)
    hashes = collection.hashes
    chosen = collection.subset([5, 2])
    assert chosen.labels == ["5", "2"] and chosen.hashes == [hashes[5], hashes[2]]
    assert np.array_equal(chosen.pixels, collection.pixels[[5, 2]])


def test_a_folder_never_reads_links_that_lead_outside_the_data_roots(linked_root: Path) -> None:
    refused = [
        "cat/secret.jpg: a link to a file outside the data roots",
        "ships: a link to a folder outside the data roots",
    ]
    for collection in (from_folder("cifar10"), cifar10()):
        assert collection.names == [
            *(f"cat/000{i}.jpg" for i in range(3)),
            *(f"dog/000{i}.jpg" for i in range(3)),
            "dog/alias.jpg",
        ]
        assert collection.skipped == refused
        assert all(inside_data_roots(item.source) for item in collection.items)
        assert collection.hashes[3] == collection.hashes[6]  # dog/alias.jpg is dog/0000.jpg, read through its link
    assert from_folder("cifar10").subset([0]).skipped == refused
    (linked_root / "only_links").mkdir()
    (linked_root / "only_links" / "a.jpg").symlink_to(linked_root.parent / "outside" / "secret.jpg")
    with pytest.raises(ImageError, match=r"no image files .*a\.jpg: a link to a file outside the data roots"):
        from_folder("only_links")


@pytest.mark.parametrize("limit", [0, -1, -500])
def test_a_limit_below_one_is_refused_not_sliced(limit: int) -> None:
    for load in (digits, cifar10, imagenet_samples):
        with pytest.raises(ImageError, match=f"the image limit must be at least 1, got {limit}"):
            load(limit)
    with pytest.raises(ImageError, match="at least 1"):
        from_uploads([("a.jpg", b"bytes")], limit)
