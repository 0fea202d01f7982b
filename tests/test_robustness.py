"""Robustness for model builders on the real MobileNetV2 and real photos: labels, robust accuracy per eps, the export's
round trip and the on-the-fly adversarial dataset."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
from torchvision.datasets import ImageFolder

from core.cache import content_hash
from core.cloak.attacks import Attack
from core.cloak.classifier import top_k
from core.cloak.imageio import to_image
from core.faces import image_to_tensor
from core.images import open_image
from core.models.builders import imagenet_categories
from core.robustness import (
    MANIFEST_FIELDS,
    AdversarialDataset,
    DatasetError,
    LabelledImages,
    attack_grid,
    backbone_features,
    evaluate,
    export,
    labelled_folder,
    read_manifest,
    train_head,
    with_new_head,
)


@pytest.fixture(scope="module")
def samples(data_dir: Path):
    """Eight ImageNet samples spread over the 500 (classes 0 to about 870), labelled by labels.csv."""
    return labelled_folder(data_dir / "imagenet_samples", imagenet_categories()).subset(8)


def test_imagenet_samples_take_their_labels_from_labels_csv(data_dir: Path, samples) -> None:
    with (data_dir / "imagenet_samples" / "labels.csv").open() as handle:
        truth = {row["file"]: (int(row["class_index"]), row["wnid"]) for row in csv.DictReader(handle)}
    assert len(samples.images) == 8 and len({image.label for image in samples.images}) == 8
    for image in samples.images:
        assert truth[image.name] == (image.label, image.folder)
        assert image.path.name.startswith(image.folder)  # files are named <wnid>_<name>.JPEG
    # the images/ folder itself finds labels.csv one level up, with the same labels
    inner = labelled_folder(data_dir / "imagenet_samples" / "images", imagenet_categories())
    assert len(inner.images) == 500 and {i.path for i in samples.images} <= {i.path for i in inner.images}


def test_sub_folders_name_classes_and_names_no_model_class_are_refused(data_dir: Path, tmp_path: Path) -> None:
    cifar_classes = sorted(path.name for path in (data_dir / "cifar10").iterdir())
    cifar = labelled_folder(data_dir / "cifar10", cifar_classes)
    assert len(cifar.images) == 500 and all(cifar_classes[i.label] == i.folder for i in cifar.images)
    with pytest.raises(DatasetError, match="dog, frog, horse, ship, truck name no class"):
        labelled_folder(data_dir / "cifar10", ["airplane", "automobile", "bird", "cat", "deer"])
    with pytest.raises(DatasetError, match="airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck"):
        labelled_folder(data_dir / "cifar10", imagenet_categories())  # CIFAR-10's names are not ImageNet classes
    # folders named by ImageNet names (underscores for spaces, any case) or indices are labelled
    for folder in ("Giant_Panda", "388"):
        (tmp_path / folder).mkdir()
        shutil.copy(data_dir / "imagenet_samples" / "images" / "n02510455_giant_panda.JPEG", tmp_path / folder)
    found = labelled_folder(tmp_path, imagenet_categories())
    assert [image.label for image in found.images] == [388, 388]
    with pytest.raises(DatasetError, match="no labelled images"):
        labelled_folder(tmp_path / "388", imagenet_categories())  # files beside no class folder carry no label


def test_robust_accuracy_falls_with_eps_and_never_exceeds_clean(mobilenet, samples) -> None:
    attacks = attack_grid(["fgsm", "pgd"], [4, 1, 2], steps=3)
    assert [(a.method, a.eps) for a in attacks] == [
        ("fgsm", 1),
        ("fgsm", 2),
        ("fgsm", 4),
        ("pgd", 1),
        ("pgd", 2),
        ("pgd", 4),
    ]
    report = evaluate(mobilenet, samples, attacks)
    clean = report.clean
    assert report.clean_accuracy >= 0.5  # MobileNetV2 is right on most clean samples
    for result in report.results:
        assert all(c or not r for c, r in zip(clean, result.robust, strict=True))  # clean errors stay errors
    for method in ("fgsm", "pgd"):
        curve = [report.clean_accuracy] + [r.accuracy for r in report.results if r.method == method]
        assert curve == sorted(curve, reverse=True), (method, curve)
        assert curve[-1] < curve[0] / 2, (method, curve)  # an undefended model loses most of it by 4/255
    payload = report.as_dict()
    assert payload["images"] == 8 and [row["eps"] for row in payload["robust"]] == [1, 2, 4, 1, 2, 4]


def test_attack_grid_refuses_budgets_an_image_cannot_hold() -> None:
    with pytest.raises(ValueError, match="at least 1 grey level"):
        attack_grid(["fgsm"], [0.5], steps=1)
    with pytest.raises(ValueError, match="unknown attack method"):
        attack_grid(["cw"], [1], steps=1)
    with pytest.raises(ValueError, match="at least one attack"):
        attack_grid([], [1], steps=1)


def test_export_round_trips_and_never_touches_the_inputs(mobilenet, samples, tmp_path: Path) -> None:
    dataset = samples.subset(4)
    before = {image.path: content_hash(image.path) for image in dataset.images}
    attacks = attack_grid(["fgsm", "pgd"], [1, 4], steps=2)
    report, manifest = export(mobilenet, dataset, attacks, tmp_path / "out")
    rows = read_manifest(manifest)
    assert tuple(rows[0]) == MANIFEST_FIELDS and len(rows) == 4 * len(attacks)
    sources = {image.path: image for image in dataset.images}
    for row in rows:
        written = open_image(tmp_path / "out" / row["file"])
        source = sources[Path(row["source"])]
        assert int(row["label"]) == source.label and row["file"].split("/")[1] == source.folder
        assert top_k(mobilenet, written, k=1)[0].index == int(row["after"])  # re-opened: predicted as the manifest says
        assert row["misclassified"] == str(int(int(row["after"]) != source.label))
        clean = image_to_tensor(open_image(source.path))
        assert (image_to_tensor(written) - clean).abs().max() <= float(row["eps"])  # within the budget, as a file
    for result in report.results:  # the manifest agrees with the report
        same = [r for r in rows if r["attack"] == result.method and float(r["eps"]) == result.eps]
        right = [int(r["after"]) == int(r["label"]) == int(r["before"]) for r in same]
        assert sum(right) == sum(result.robust)
    assert sum(row["misclassified"] == "1" for row in rows) >= len(rows) // 2
    tree = ImageFolder(str(tmp_path / "out" / "pgd-eps4"))  # an ImageFolder tree per attack and eps
    assert len(tree) == 4 and sorted(tree.classes) == sorted(image.folder for image in dataset.images)
    assert before == {path: content_hash(path) for path in before}


def test_export_into_the_input_folder_is_refused_before_anything_is_written(
    data_dir: Path, mobilenet, tmp_path: Path
) -> None:
    for name in ("0000.jpg", "0001.jpg"):
        (tmp_path / "in" / "giant_panda").mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / "cifar10" / "cat" / name, tmp_path / "in" / "giant_panda" / name)
    dataset = labelled_folder(tmp_path / "in", imagenet_categories())
    for out in (tmp_path / "in", tmp_path / "in" / "adv", tmp_path):
        with pytest.raises(DatasetError, match="overlaps the input folder"):
            export(mobilenet, dataset, [Attack("fgsm", eps=2)], out)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "in",
        "in/giant_panda",
        "in/giant_panda/0000.jpg",
        "in/giant_panda/0001.jpg",
    ]


def test_adversarial_dataset_attacks_items_when_drawn(mobilenet, samples) -> None:
    base = LabelledImages(samples.subset(3))
    clean = [base[i] for i in range(len(base))]
    attacked = AdversarialDataset(base, mobilenet, Attack("pgd", eps=2, steps=2), probability=1.0)
    untouched = AdversarialDataset(base, mobilenet, Attack("pgd", eps=2, steps=2), probability=0.0)
    fooled = 0
    for index, (pixels, label) in enumerate(clean):
        adversarial, adversarial_label = attacked[index]
        assert adversarial_label == label and adversarial.shape == pixels.shape
        assert 0 < (adversarial - pixels).abs().max() <= 2 and torch.equal(adversarial, adversarial.round())
        fooled += top_k(mobilenet, to_image(adversarial), k=1)[0].index != label
        assert torch.equal(untouched[index][0], pixels)
    assert fooled >= 2
    again = attacked[0][0]
    assert not torch.equal(again, attacked[0][0])  # each draw is a fresh PGD start
    with pytest.raises(ValueError, match="probability"):
        AdversarialDataset(base, mobilenet, Attack("fgsm", eps=2), probability=1.5)


def test_head_fine_tune_learns_new_classes_and_leaves_the_registry_model_alone(
    data_dir: Path, mobilenet, tmp_path: Path
) -> None:
    classes = ["cat", "ship"]
    for name in classes:
        shutil.copytree(data_dir / "cifar10" / name, tmp_path / name, ignore=lambda _, files: sorted(files)[5:])
    train = labelled_folder(tmp_path, classes)
    assert len(train.images) == 10
    weight = mobilenet.classifier[-1].weight.clone()
    tuned = with_new_head(mobilenet, classes)
    losses = train_head(tuned, LabelledImages(train), epochs=1, steps=60)
    pixels = torch.stack([image_to_tensor(open_image(image.path)) for image in train.images])
    predictions = tuned.classifier(backbone_features(tuned, pixels)).argmax(1)
    assert predictions.tolist() == [image.label for image in train.images] and losses[-1] < 0.1
    assert tuned.classifier[-1].out_features == 2 and not any(p.requires_grad for p in tuned.features.parameters())
    assert torch.equal(mobilenet.classifier[-1].weight, weight) and mobilenet.classifier[-1].out_features == 1000
