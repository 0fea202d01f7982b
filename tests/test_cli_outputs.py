"""Every command's output path goes through one check (core.cli.writable_output) before the slow part: a read-only
place, an existing file where a folder is expected, or a folder where a file is expected ends in one line on stderr
with the reason and exit status 2, never a traceback, and nothing is written.

Read-only: a chmod 555 folder stops an ordinary user, but these tests also run as root, whom chmod does not stop;
the fixture checks which holds and, for root, uses /sys/kernel instead: sysfs refuses new files and folders to
root as well (it is the kernel's own file system), so the same refusal is exercised for real, not mocked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from core.cli import main

FOLDER_COMMANDS = {
    "cloak": lambda image, out: ["cloak", str(image), "--steps", "1", "--out", str(out)],
    "attribute": lambda image, out: ["attribute", str(image), "--methods", "saliency", "--out", str(out)],
}
FILE_COMMANDS = {
    "grid": (lambda out, tmp: ["grid", "--dataset", "digits", "--limit", "30", "--out", str(out)], "--out"),
    "grid-csv": (
        lambda out, tmp: [
            "grid",
            "--dataset",
            "digits",
            "--limit",
            "30",
            "--out",
            str(tmp / "ok.png"),
            "--csv",
            str(out),
        ],
        "--csv",
    ),
    "waldo-train": (lambda out, tmp: ["waldo", "train", "--iterations", "1", "--out", str(out)], "--out"),
}


@pytest.fixture
def read_only(tmp_path: Path):
    """A folder this process cannot write in: chmod 555 where that binds, /sys/kernel for root (see the docstring)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        yield folder
    else:  # root: chmod does not bind
        (folder / "probe").unlink()
        assert os.geteuid() == 0
        yield Path("/sys/kernel")
    finally:
        folder.chmod(0o755)


@pytest.fixture
def photo(data_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "powell.png"
    Image.open(data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg").save(path)
    return path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err and not captured.out
    return lines[0]


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_folder_outputs_refuse_read_only_places_and_files(command, photo, read_only, tmp_path, capsys) -> None:
    args = FOLDER_COMMANDS[command]
    assert main(args(photo, read_only / "new")) == 2
    assert f"--out {read_only / 'new'}: cannot create the folder" in one_line_error(capsys)
    assert main(args(photo, read_only)) == 2
    assert one_line_error(capsys).endswith(": cannot write there (Permission denied)")
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    assert main(args(photo, existing)) == 2
    assert one_line_error(capsys) == f"error: --out {existing}: exists and is not a folder"
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_file_outputs_refuse_read_only_places_and_folders(command, read_only, tmp_path, capsys) -> None:
    args, option = FILE_COMMANDS[command]
    assert main(args(read_only / "out.file", tmp_path)) == 2
    assert one_line_error(capsys).startswith(f"error: {option} {read_only / 'out.file'}: cannot write there (")
    folder = tmp_path / "a folder"
    folder.mkdir()
    assert main(args(folder, tmp_path)) == 2
    assert one_line_error(capsys) == f"error: {option} {folder}: is a folder; give a file name"
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    assert main(args(file / "out.file", tmp_path)) == 2
    assert one_line_error(capsys) == f"error: {option} {file / 'out.file'}: {file} is not a folder"
    assert not (tmp_path / "ok.png").exists() and file.read_text() == "keep me"


def test_an_output_name_taken_by_a_folder_is_refused_before_the_work(photo, tmp_path, capsys) -> None:
    (tmp_path / "maps" / "powell_saliency.png").mkdir(parents=True)
    assert main(FOLDER_COMMANDS["attribute"](photo, tmp_path / "maps")) == 2
    assert "powell_saliency.png there is a folder" in one_line_error(capsys)
    (tmp_path / "cloaked" / "powell_cloaked.png").mkdir(parents=True)
    assert main(FOLDER_COMMANDS["cloak"](photo, tmp_path / "cloaked")) == 2
    assert "powell_cloaked.png is a folder" in one_line_error(capsys)


def test_missing_folders_of_a_file_output_are_created(tmp_path, capsys) -> None:
    out, csv = tmp_path / "new" / "deeper" / "grid.png", tmp_path / "other" / "grid.csv"
    assert main(FILE_COMMANDS["grid"][0](out, tmp_path) + ["--csv", str(csv)]) == 0
    assert Image.open(out).size[0] > 0 and csv.stat().st_size > 0


def test_a_write_that_fails_mid_run_is_one_line_too(tmp_path, capsys, monkeypatch) -> None:
    def disk_full(self: Path, data: bytes) -> int:
        raise OSError(28, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    out = tmp_path / "grid.png"
    assert main(FILE_COMMANDS["grid"][0](out, tmp_path)) == 2
    assert one_line_error(capsys) == f"error: {out}: No space left on device"
