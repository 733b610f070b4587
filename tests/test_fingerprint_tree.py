"""Directory fingerprints: the tree code is iscc-sum's, the manifest digest is ours.

Oracles: the iscc-sum CLI (``--tree --narrow --units``), iscc-sum's own ``treewalk`` module
for the order, iscc-core / the ``blake3`` package for member hashes and the manifest digest.
Documented differences from iscc-sum are asserted as such, not hidden.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import blake3  # type: ignore[import-not-found,unused-ignore]
import pytest
from iscc_sum import IsccSumProcessor
from iscc_sum.treewalk import treewalk, treewalk_iscc

from iscc_lineage.codes import fingerprint_path
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint, Member

EMPTY_ISCC = "ISCC:KUACL4F2WZY7KBXBV4JUTOPV7GQ2M"
MIB = 1 << 20
NFD_E = unicodedata.normalize("NFD", "\u00e9")  # "e" + combining acute: 3 UTF-8 bytes


def _iscc_sum() -> str:
    found = Path(sys.executable).parent / "iscc-sum"
    return str(found) if found.exists() else shutil.which("iscc-sum") or "iscc-sum"


def iscc_sum_tree(root: Path) -> tuple[str, str, str]:
    """``iscc-sum --tree --narrow --units ROOT`` -> (code, Data-Code, Instance-Code)."""
    out = subprocess.run(
        [_iscc_sum(), "--tree", "--narrow", "--units", str(root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1] == f"*{root}/"
    return out[0], out[2], out[3]


def codes(fp: Fingerprint) -> tuple[str, str, str]:
    return fp.iscc, fp.data_code, fp.instance_code


def b3(data: bytes) -> str:
    return "1e20" + blake3.blake3(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    """Every ordering rule at once; each file has distinct bytes, so order shows in the code."""
    root = tmp_path / "tricky"
    names = [
        ".a",
        ".gitignore",
        ".dockerignore",
        "Zed",
        "zed",
        "B",
        "a.txt",
        "a-b",
        "\u00e9",
        NFD_E,
        "x.iscc.json",
        "empty",
        ".hid/f",
        "sub/f",
        "sub/.gitignore",
        "sub/deep/g",
        "a/inner",
        "a.txt.d/z",
    ]
    for i, name in enumerate(names):
        write(root / name, b"" if name == "empty" else f"{i}:{name}\n".encode() * (i + 1))
    write(root / "big", os.urandom(2 * MIB + 5))  # crosses every read buffer mid-tree
    (root / "link-file").symlink_to("zed")
    (root / "link-dir").symlink_to("sub")
    (root / "dangling").symlink_to("nowhere")
    return root


def test_tree_code_equals_iscc_sum(tricky: Path) -> None:
    assert codes(fingerprint_path(tricky)) == iscc_sum_tree(tricky)


def test_order_is_iscc_sums_treewalk(tricky: Path) -> None:
    """Our non-link members follow iscc-sum's own walk (which already skips symlinks)."""
    fp = fingerprint_path(tricky)
    base = tricky.resolve()
    raw = [p.relative_to(base).as_posix() for p in treewalk(base)]
    # names are NFC, except NFC-equal twins in one folder, which keep their own form
    twins = {"\u00e9", NFD_E}
    assert [m.path for m in fp.members if m.link is None] == [
        p if p in twins else unicodedata.normalize("NFC", p) for p in raw
    ]
    theirs = [unicodedata.normalize("NFC", p) for p in raw]
    # the rules, spelled out: ignore files first, raw-byte tie-break of NFC-equal names,
    # files before subdirectories, hidden entries included
    assert theirs[:2] == [".dockerignore", ".gitignore"]
    assert theirs.index("\u00e9") + 1 == theirs.index("\u00e9", theirs.index("\u00e9") + 1)
    assert theirs.index("zed") < theirs.index(".hid/f") < theirs.index("a/inner")
    assert theirs[-3:] == ["sub/.gitignore", "sub/f", "sub/deep/g"]


def test_members_and_manifest_digest(tricky: Path) -> None:
    """Member hashes and the manifest digest recomputed with the blake3 package."""
    fp = fingerprint_path(tricky)
    files = iter(treewalk(tricky))  # the raw names: two members share the NFC path "\u00e9"
    manifest: list[list[object]] = []
    for m in fp.members:
        target = tricky / m.path
        if m.link is None:
            data = next(files).read_bytes()
            manifest.append([m.path, b3(data), len(data)])
            assert (m.datahash, m.size) == (b3(data), len(data))
        elif target.is_file():
            data = target.read_bytes()
            manifest.append([m.path, "symlink", m.link, b3(data), len(data)])
        else:
            manifest.append([m.path, "symlink", m.link])
    text = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False)
    assert fp.datahash == b3(text.encode())
    links = {m.path: m for m in fp.members if m.link is not None}
    assert links["link-file"] == Member(
        "link-file", b3((tricky / "zed").read_bytes()), (tricky / "zed").stat().st_size, "zed"
    )
    assert links["link-dir"] == Member("link-dir", None, 0, "sub")
    assert links["dangling"] == Member("dangling", None, 0, "nowhere")  # recorded as a link
    assert fp.kind == "tree"
    # the tree size is the byte count of the tree code (iscc-sum's: no links, no .iscc.json)
    assert fp.size == sum(p.stat().st_size for p in treewalk_iscc(tricky))


def test_member_paths_are_nfc(tmp_path: Path) -> None:
    write(tmp_path / "d" / f"caf{NFD_E}.tif", b"x")
    (member,) = fingerprint_path(tmp_path / "d").members
    assert member.path == "caf\u00e9.tif"


def test_rename_or_move_changes_identity_not_tree_code(tmp_path: Path) -> None:
    root = tmp_path / "img.zarr"
    for i, chunk in enumerate(["0/0/0", "0/0/1", "0/1/0"]):
        write(root / chunk, bytes([i]) * 3000)
    before = fingerprint_path(root)
    (root / "0/0/1").rename(root / "0/0/2")  # rename: same order, other path
    renamed = fingerprint_path(root)
    (root / "0/1/0").rename(root / "0/0/3")  # move to another directory: same byte order
    moved = fingerprint_path(root)
    assert len({before.datahash, renamed.datahash, moved.datahash}) == 3
    assert before.iscc == renamed.iscc == moved.iscc  # TREEWALK codes are path-blind
    assert codes(moved) == iscc_sum_tree(root)


def test_snakemake_timestamp_is_ignored(tmp_path: Path) -> None:
    """Documented difference: iscc-sum hashes .snakemake_timestamp, we skip it."""
    root = tmp_path / "out"
    write(root / "a.csv", b"1,2\n")
    without = iscc_sum_tree(root)
    plain = fingerprint_path(root)
    write(root / ".snakemake_timestamp", b"")
    write(root / "sub" / ".snakemake_timestamp", b"1700000000")
    stamped = fingerprint_path(root)
    assert codes(stamped) == without
    assert iscc_sum_tree(root) != without
    assert stamped.datahash == plain.datahash
    assert [m.path for m in stamped.members] == ["a.csv"]


def test_isccignore_is_not_honoured(tmp_path: Path) -> None:
    """Documented difference: ignored files stay content (ordering rules still apply)."""
    root = tmp_path / "d"
    write(root / ".isccignore", b"*.tmp\n")
    write(root / "a.tmp", b"scratch")
    write(root / "b.dat", b"data")
    fp = fingerprint_path(root)
    assert [m.path for m in fp.members] == [".isccignore", "a.tmp", "b.dat"]
    proc = IsccSumProcessor()  # iscc-sum's bytes in iscc-sum's unfiltered order
    for p in treewalk(root):
        proc.update(p.read_bytes())
    assert fp.iscc == proc.result(wide=False, add_units=False).iscc
    assert fp.iscc != iscc_sum_tree(root)[0]


def test_symlinked_file_is_read_once_through_its_target(tmp_path: Path) -> None:
    target = write(tmp_path / "raw" / "big.tif", os.urandom(3 * MIB + 1))
    root = tmp_path / "d"
    write(root / "own.txt", b"own bytes")
    (root / "link1").symlink_to(target)
    (root / "link2").symlink_to(os.path.relpath(target, root))
    read: list[int] = []
    fp = fingerprint_path(root, on_bytes=read.append)
    assert sum(read) == 9 + target.stat().st_size
    links = [m for m in fp.members if m.link is not None]
    assert [m.datahash for m in links] == [b3(target.read_bytes())] * 2
    assert [m.link for m in links] == [str(target), os.path.relpath(target, root)]
    assert codes(fp) == iscc_sum_tree(root)  # link bytes are not in the tree code
    write(target, b"edited")  # the linked content is part of the identity
    edited = fingerprint_path(root)
    assert edited.datahash != fp.datahash
    assert edited.iscc == fp.iscc


def test_directory_symlink_loop_does_not_recurse(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write(root / "sub" / "f", b"f")
    (root / "sub" / "up").symlink_to("..")
    (root / "self").symlink_to(".")
    fp = fingerprint_path(root)
    assert [(m.path, m.datahash, m.link) for m in fp.members] == [
        ("self", None, "."),
        ("sub/f", b3(b"f"), None),
        ("sub/up", None, ".."),
    ]
    assert codes(fp) == iscc_sum_tree(root)


def test_symlink_loop_inside_directory_is_a_link(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write(root / "f", b"f")
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    fp = fingerprint_path(root)
    assert [(m.path, m.datahash, m.link) for m in fp.members] == [
        ("a", None, "b"),
        ("b", None, "a"),
        ("f", b3(b"f"), None),
    ]


def test_ome_zarr_like_tree(tmp_path: Path) -> None:
    root = tmp_path / "s01.ome.zarr"
    write(root / ".zgroup", b'{"zarr_format": 2}')
    write(root / ".zattrs", json.dumps({"multiscales": [{"datasets": [{"path": "0"}]}]}).encode())
    for level, shape in (("0", 3), ("1", 2)):
        write(root / level / ".zarray", json.dumps({"chunks": [1, 64, 64]}).encode())
        for t in range(2):
            for y in range(shape):
                for x in range(shape):
                    write(root / level / str(t) / str(y) / str(x), os.urandom(4096 + 17 * x))
    fp = fingerprint_path(root)
    assert codes(fp) == iscc_sum_tree(root)
    base = root.resolve()
    assert [m.path for m in fp.members] == [p.relative_to(base).as_posix() for p in treewalk(base)]
    assert len(fp.members) == 2 + (1 + 18) + (1 + 8)
    assert fp.members[0].path == ".zattrs" and fp.members[-1].path == "1/1/1/1"
    assert fp.size == sum(m.size for m in fp.members)


def test_non_utf8_member_name_is_escaped(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write(root / "ok", b"ok")
    bad = os.fsdecode(b"bad\xff.tif")
    write(root / bad, b"bad")
    fp = fingerprint_path(root)
    assert [m.path for m in fp.members] == ["bad\\udcff.tif", "ok"]
    json.dumps(fp.to_dict()).encode("utf-8")  # storable and printable
    proc = IsccSumProcessor()  # iscc-sum's CLI itself crashes on this name
    for name in (b"bad\xff.tif", b"ok"):  # raw byte order: 0x62 'b' < 0x6f 'o'
        proc.update((root / os.fsdecode(name)).read_bytes())
    assert fp.iscc == proc.result(wide=False, add_units=False).iscc


def test_empty_directory_is_the_code_of_no_bytes(tmp_path: Path) -> None:
    """Documented difference: iscc-sum refuses an empty tree (exit 2, "no files found")."""
    (tmp_path / "empty").mkdir()
    fp = fingerprint_path(tmp_path / "empty")
    assert (fp.iscc, fp.members, fp.size) == (EMPTY_ISCC, (), 0)
    proc = subprocess.run(
        [_iscc_sum(), "--tree", "--narrow", str(tmp_path / "empty")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "no files found" in proc.stderr


def test_fifo_inside_directory_is_an_error(tmp_path: Path) -> None:
    """Documented difference: iscc-sum skips non-regular files; we refuse the tree."""
    root = tmp_path / "d"
    write(root / "f", b"f")
    os.mkfifo(root / "pipe")
    with pytest.raises(FingerprintError) as err:
        fingerprint_path(root)
    assert str(err.value) == f"{root / 'pipe'}: is a FIFO, not a regular file"
