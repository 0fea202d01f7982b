"""The one zip reader (core.archive) that the Grid and Faces uploads share: images only, one bomb policy, and a clear
ImageError for every zip it will not read. The bombs are real zips built here: a genuine 100 MB member of zeros, and
headers forged to declare 1000 MB or 60,000 entries."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from core import archive
from core.archive import MAX_MEMBER_BYTES, MAX_TOTAL_BYTES, zip_images
from core.faces.collection import MAX_ZIP_PHOTOS, photos_from_zip
from core.grid.collections import from_uploads
from core.images import IMAGE_SUFFIXES, ImageError, is_image_name, open_image


@pytest.fixture(scope="module")
def cat(data_dir: Path) -> bytes:
    return (data_dir / "cifar10" / "cat" / "0000.jpg").read_bytes()


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def forge(data: bytes, signature: bytes, offset: int, value: int, width: int = 4) -> bytes:
    """``data`` with the field at ``offset`` of every record starting with ``signature`` set to ``value``."""
    forged, start = bytearray(data), 0
    while (start := forged.find(signature, start)) >= 0:
        forged[start + offset : start + offset + width] = value.to_bytes(width, "little")
        start += len(signature)
    return bytes(forged)


LOCAL, CENTRAL, END = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"


def declare_size(data: bytes, size: int) -> bytes:
    """Every member's uncompressed size, in its local and central headers, declared as ``size``."""
    return forge(forge(data, LOCAL, 22, size), CENTRAL, 24, size)


def test_images_only_sorted_with_hidden_entries_and_junk_left_out(cat: bytes) -> None:
    data = make_zip(
        {
            "pets/b.JPG": cat,
            "a.png": cat,
            "notes.txt": b"text",
            "__MACOSX/pets/._b.JPG": b"resource fork",
            ".hidden/c.jpg": cat,
            "pets/": b"",
        }
    )
    members = zip_images(data)
    assert [m.path.as_posix() for m in members] == ["a.png", "pets/b.JPG"]
    assert all(m.data == cat for m in members)
    assert open_image(members[1].data).size == (32, 32)
    assert is_image_name("x/y.TIFF") and not is_image_name("x/.y.jpg") and not is_image_name("y.svg")
    assert ".webp" in IMAGE_SUFFIXES


def test_a_real_100_mb_member_is_refused_before_it_is_decompressed(zeros_zip) -> None:
    bomb = zeros_zip("bomb.png", 100)
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match=f"bomb.png: larger than {MAX_MEMBER_BYTES >> 20} MB uncompressed"):
            zip_images(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(bomb)  # the member was never inflated


def test_both_uploads_refuse_a_zip_that_declares_a_1000_mb_member(cat: bytes) -> None:
    bomb = declare_size(make_zip({"set/bomb.png": cat}), 1000 * 2**20)
    with pytest.raises(ImageError, match=r"^bomb.zip: set/bomb.png: larger than 25 MB uncompressed$"):
        from_uploads([("bomb.zip", bomb)])
    with pytest.raises(ImageError, match=r"^set/bomb.png: larger than 25 MB uncompressed$"):
        photos_from_zip(bomb)  # the Faces page puts the upload's name in front itself


def test_a_header_that_understates_the_size_is_not_trusted(zeros_zip, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1 << 20)
    lying = declare_size(zeros_zip("small.png", 3), 1000)  # 3 MB inside, "1000 bytes" in both headers
    with pytest.raises(ImageError, match="small.png: cannot be unpacked"):
        zip_images(lying)


def test_the_total_and_the_counts_are_capped(cat: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    many = make_zip({f"img_{i:03d}.jpg": cat for i in range(MAX_ZIP_PHOTOS + 1)})
    with pytest.raises(ImageError, match=f"holds {MAX_ZIP_PHOTOS + 1} images; at most {MAX_ZIP_PHOTOS}"):
        photos_from_zip(many)
    assert len(from_uploads([("many.zip", many)])) == MAX_ZIP_PHOTOS + 1  # the Grid reads up to MAX_IMAGES
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 100 * len(cat))
    with pytest.raises(ImageError, match="add up to more than"):
        zip_images(many)
    assert MAX_TOTAL_BYTES >= 10 * MAX_MEMBER_BYTES


def test_declared_entries_are_counted_before_the_directory_is_parsed(cat: bytes) -> None:
    forged = forge(forge(make_zip({"a.jpg": cat}), END, 8, 60_000, 2), END, 10, 60_000, 2)
    with pytest.raises(ImageError, match="declares 60000 entries; at most 50000"):
        zip_images(forged, label="huge.zip")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda zipped: zipped[:40], "not a readable zip file"),
        (lambda zipped: b"PK\x03\x04" + bytes(100), "not a readable zip file"),
        (lambda zipped: forge(forge(zipped, LOCAL, 6, 1, 2), CENTRAL, 8, 1, 2), "cannot be unpacked.*encrypted"),
        (lambda zipped: zipped[:60] + b"\xff" * 64 + zipped[124:], "cannot be unpacked"),  # inside a.png's data
    ],
    ids=["truncated", "not-a-zip", "encrypted", "damaged-data"],
)
def test_unreadable_zips_give_one_line_reasons(zeros_zip, damage, reason: str) -> None:
    zipped = damage(zeros_zip("a.png", 1))
    with pytest.raises(ImageError, match=reason) as caught:
        from_uploads([("set.zip", zipped)])
    assert str(caught.value).startswith("set.zip: ") and "\n" not in str(caught.value)
