"""Directory names that used to lose a step or break an export: NFC/NFD-equal pairs,
non-UTF-8 names, and folders nested 1,000 deep."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line

from iscc_lineage.codes import fingerprint_path
from iscc_lineage.codes.tree import MAX_DEPTH, tree_files
from iscc_lineage.errors import FingerprintError

NFC = unicodedata.normalize("NFC", "caf\u00e9.txt")
NFD = unicodedata.normalize("NFD", NFC)


def _iscc_sum() -> str:
    found = Path(sys.executable).parent / "iscc-sum"
    return str(found) if found.exists() else shutil.which("iscc-sum") or "iscc-sum"


@pytest.fixture(autouse=True)
def _remove_deep_trees(tmp_path: Path) -> Iterator[None]:
    yield  # pytest's own clean-up (shutil.rmtree) recurses per level: remove them first
    subprocess.run(["rm", "-rf", str(tmp_path / "deep")], check=False)


def _deep(root: Path, depth: int) -> Path:
    """``root/a/a/…/leaf`` nested ``depth`` folders deep (built with relative mkdirs)."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("a", dir_fd=fd)
            nxt = os.open("a", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        leaf = os.open("leaf", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(leaf, b"x\n")
        os.close(leaf)
    finally:
        os.close(fd)
    return root


def test_nfc_and_nfd_twins_keep_both_members_and_iscc_sums_tree_code(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / NFC).write_text("composed\n")
    (d / NFD).write_text("decomposed\n")
    fp = fingerprint_path(d)
    paths = [m.path for m in fp.members]
    assert len(paths) == 2 and len(set(paths)) == 2, paths  # two members, two names
    assert set(paths) == {NFC, NFD}  # twins keep their own (raw) names
    out = subprocess.run(
        [_iscc_sum(), "--tree", "--narrow", str(d)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert fp.iscc == out[0]  # the tree code is still iscc-sum's
    files = tree_files(d)
    assert sorted(files) == sorted(paths) and all(p.is_file() for p in files.values())


def test_a_lone_nfd_name_is_stored_nfc_and_found_on_disk(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / NFD).write_text("decomposed\n")
    [m] = fingerprint_path(d).members
    assert m.path == NFC  # the identity rule for a lone name is unchanged
    assert tree_files(d)[NFC] == d / NFD  # and the export finds its real entry


def test_thousand_deep_folders_are_one_fingerprint_error(tmp_path: Path) -> None:
    deep = _deep(tmp_path / "deep", 1000)
    with pytest.raises(FingerprintError, match=f"deeper than {MAX_DEPTH}"):
        fingerprint_path(deep)
    line = one_line(cli("fingerprint", "deep", cwd=tmp_path))
    assert line.startswith("Error: ") and f"deeper than {MAX_DEPTH}" in line


def test_folders_just_below_the_limit_fingerprint(tmp_path: Path) -> None:
    deep = _deep(tmp_path / "deep", MAX_DEPTH - 1)
    [m] = fingerprint_path(deep).members
    assert m.path.endswith("/leaf") and m.path.count("/") == MAX_DEPTH - 1


def test_record_and_export_a_folder_with_twins_and_a_non_utf8_name(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / NFC).write_text("composed\n")
    (d / NFD).write_text("decomposed\n")
    (d / os.fsdecode(b"raw\xff.bin")).write_bytes(b"\x00\x01")
    assert cli("record", "-o", "d", "--", "true", cwd=tmp_path).returncode == 0
    for out, extra in (("crate", []), ("crate.zip", ["--zip"])):
        proc = cli("export", "crate", out, "--data", "all", *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        check = cli("verify", "--crate", out, cwd=tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
