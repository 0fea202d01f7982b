"""The one reader of uploaded zips of images: read in memory (nothing is extracted to disk) under one bomb policy.

Policy
- Entries: at most MAX_ENTRIES of any kind, checked on the count the archive declares before its directory is parsed
  (a small zip can declare millions of empty entries, and parsing them alone takes gigabytes).
- Images: members named like images (``core.images.is_image_name``: IMAGE_SUFFIXES, nothing hidden, no __MACOSX);
  at most MAX_IMAGES of them (a caller may ask for fewer).
- Uncompressed sizes: each image at most MAX_MEMBER_BYTES and all of them together at most MAX_TOTAL_BYTES. The sizes
  the archive declares are checked before anything is decompressed, and never trusted: each member is decompressed
  only up to its cap plus one byte, and the running total is counted on what was really read.
- A zip that cannot be read (not a zip, damaged, encrypted, an unsupported compression) raises ImageError.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.images import ImageError, is_image_name

MAX_ENTRIES = 50_000
MAX_IMAGES = 20_000
MAX_MEMBER_BYTES = 25 * 2**20
MAX_TOTAL_BYTES = 300 * 2**20
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class Member:
    """One image of a zip: its path inside the archive (POSIX) and its bytes."""

    path: PurePosixPath
    data: bytes


def zip_images(data: bytes, *, label: str | None = None, max_images: int = MAX_IMAGES) -> list[Member]:
    """The image members of the zip ``data``, sorted by path, within the policy of this module's docstring.
    ``label`` (the upload's name) starts every error message when given."""
    prefix = f"{label}: " if label else ""
    declared = _declared_entries(data)
    if declared > MAX_ENTRIES:
        raise ImageError(f"{prefix}the zip declares {declared} entries; at most {MAX_ENTRIES} are accepted")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _READ_ERRORS as err:
        raise ImageError(f"{prefix}not a readable zip file ({err})") from err
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ImageError(f"{prefix}the zip holds {len(entries)} entries; at most {MAX_ENTRIES} are accepted")
        members = sorted(
            (info for info in entries if not info.is_dir() and is_image_name(info.filename)), key=lambda i: i.filename
        )
        cap = min(max_images, MAX_IMAGES)
        if len(members) > cap:
            raise ImageError(f"{prefix}the zip holds {len(members)} images; at most {cap} are read at once")
        for info in members:
            if info.file_size > MAX_MEMBER_BYTES:
                raise ImageError(f"{prefix}{info.filename}: larger than {MAX_MEMBER_BYTES >> 20} MB uncompressed")
        if sum(info.file_size for info in members) > MAX_TOTAL_BYTES:
            raise ImageError(f"{prefix}the zip's images add up to more than {MAX_TOTAL_BYTES >> 20} MB uncompressed")
        images, total = [], 0
        for info in members:
            content = _read_member(archive, info, prefix)
            total += len(content)
            if total > MAX_TOTAL_BYTES:
                raise ImageError(
                    f"{prefix}the zip's images add up to more than {MAX_TOTAL_BYTES >> 20} MB uncompressed"
                )
            images.append(Member(PurePosixPath(info.filename), content))
    return images


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, prefix: str) -> bytes:
    try:
        with archive.open(info) as member:
            content = member.read(MAX_MEMBER_BYTES + 1)  # never trust the declared size alone
    except _READ_ERRORS as err:
        raise ImageError(f"{prefix}{info.filename}: cannot be unpacked ({err})") from err
    if len(content) > MAX_MEMBER_BYTES:
        raise ImageError(f"{prefix}{info.filename}: larger than {MAX_MEMBER_BYTES >> 20} MB uncompressed")
    return content


def _declared_entries(data: bytes) -> int:
    """The entry count in the end-of-central-directory record (Zip64 when the classic field overflows); 0 when there
    is no such record, in which case zipfile refuses the data anyway."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - (22 + 0xFFFF)))
    if end < 0:
        return 0
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        record = int.from_bytes(data[locator + 8 : locator + 16], "little")
        if data[record : record + 4] == b"PK\x06\x06":
            count = int.from_bytes(data[record + 32 : record + 40], "little")
    return count
