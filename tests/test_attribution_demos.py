"""The attribution page's demo lists (ImageNet samples, demo faces) come from manifests in the data root; a listed
file that is a link leading outside the data roots is left out, the real photos stay."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.attribution.demos import face_photos, imagenet_samples, open_sample


def test_manifest_entries_that_lead_outside_the_data_roots_are_left_out(linked_root: Path, data_dir: Path) -> None:
    samples = linked_root / "imagenet_samples"
    (samples / "images").mkdir(parents=True)
    panda = "images/n02510455_giant_panda.JPEG"
    shutil.copy(data_dir / "imagenet_samples" / panda, samples / panda)
    (samples / "images" / "secret.JPEG").symlink_to(linked_root.parent / "outside" / "secret.jpg")
    (samples / "labels.csv").write_text(
        f"file,class_index,wnid,name\n{panda},388,n02510455,giant panda\nimages/secret.JPEG,0,n01440764,tench\n"
    )
    listed = imagenet_samples()
    assert [(s.path.name, s.class_index, s.name) for s in listed] == [(Path(panda).name, 388, "giant panda")]
    assert open_sample(listed[0]).size == (341, 256)
    (linked_root / "faces" / "manifest.csv").write_text(
        "file,identity\nColin_Powell/Colin_Powell_0001.jpg,Colin_Powell\nColin_Powell/secret.jpg,Colin_Powell\n"
    )
    assert face_photos() == [linked_root / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg"]
