"""The stat cache in the store: hits skip hashing, any change misses, fresh files wait.

No timing and no mocks. A hit is shown by what comes back (a marker fingerprint planted under
the file's stat key is returned as is, so nothing was hashed) and by ``on_bytes`` (a hit
reports the whole size in one call; hashing reports 1 MiB reads). Files must be older than
``RACY_SECONDS`` to be cached, so one module fixture writes them and waits that long once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import blake3  # type: ignore[import-not-found,unused-ignore]
import pytest
from click.testing import CliRunner
from iscc_sum import IsccSumProcessor

from iscc_lineage.cli import cli
from iscc_lineage.codes import fingerprint_path, stat_key
from iscc_lineage.codes.fingerprint import IO_READ_SIZE, RACY_SECONDS
from iscc_lineage.model import Fingerprint
from iscc_lineage.store import Store

MIB = 1 << 20
BIG = 3 * MIB + 5  # hashing it reads 1 MiB, 1 MiB, 1 MiB, 5 bytes
#: a fingerprint no file here has: returned only by a cache hit under a planted key
MARKER = Fingerprint(
    "ISCC:KUACL4F2WZY7KBXBV4JUTOPV7GQ2M",
    "1e20" + "ab" * 32,
    424242,
    "ISCC:GADSL4F2WZY7KBXBYUZPREWZ26IXUJJOPJJAQMXVSY5IZVHJU7RRFNI",
    "ISCC:IAD26E2JXH27TINGUBAE32RW3TEUTG6LEXE23QISW7GJVE6K4QPTEYQ",
)


def b3(data: bytes) -> str:
    return "1e20" + blake3.blake3(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_tree(root: Path) -> Path:
    for name in ("a", "b", "sub/c", "sub/deeper/d"):
        write(root / name, os.urandom(5000 + len(name)))
    return root


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files and trees older than the racy window (the one wait of this module)."""
    root = tmp_path_factory.mktemp("aged")
    write(root / "big.bin", os.urandom(BIG))
    for name in ("size", "mtime", "content", "reopen", "cli"):
        write(root / f"{name}.bin", os.urandom(100_000))
    for name in ("hit", "edit", "rename", "add", "link"):
        make_tree(root / f"tree-{name}")
    write(root / "target.bin", b"linked content")
    (root / "tree-link" / "linked").symlink_to(root / "target.bin")
    newest = max(max(p.lstat().st_mtime_ns, p.lstat().st_ctime_ns) for p in root.rglob("*"))
    time.sleep(max(0.0, newest / 1e9 + RACY_SECONDS + 0.05 - time.time()))
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "lineage.db")) as s:
        yield s


def reads_of(path: Path, cache: Store | None) -> tuple[Fingerprint, list[int]]:
    reads: list[int] = []
    fp = fingerprint_path(path, cache=cache, on_bytes=reads.append)
    return fp, reads


def test_stat_key_covers_every_field() -> None:
    st = os.stat(__file__)
    fields = {
        "st_ino": st.st_ino,
        "st_dev": st.st_dev,
        "st_size": st.st_size,
        "st_mtime_ns": st.st_mtime_ns,
        "st_ctime_ns": st.st_ctime_ns,
    }

    def key(change: str | None = None) -> str:
        f = {k: v + (k == change) for k, v in fields.items()}
        seq = [
            st.st_mode,
            f["st_ino"],
            f["st_dev"],
            st.st_nlink,
            st.st_uid,
            st.st_gid,
            f["st_size"],
            0,
            0,
            0,
        ]
        return stat_key(
            os.stat_result(seq, {"st_mtime_ns": f["st_mtime_ns"], "st_ctime_ns": f["st_ctime_ns"]})
        )

    assert key() == stat_key(st)
    variants = [key(), *(key(name) for name in fields)]
    assert len(set(variants)) == len(variants)


def test_hit_returns_the_cached_fingerprint_without_reading(aged: Path, store: Store) -> None:
    big = aged / "big.bin"
    fp, reads = reads_of(big, store)
    assert reads == [IO_READ_SIZE] * 3 + [5]  # hashed
    assert fp.datahash == b3(big.read_bytes())
    assert store.cache_get(stat_key(os.stat(big))) == fp  # cached: old enough, unchanged
    again, reads = reads_of(big, store)
    assert (again, reads) == (fp, [BIG])  # one call with the size: nothing read
    store.cache_put([(stat_key(os.stat(big)), MARKER)])
    assert reads_of(big, store)[0] == MARKER  # what the cache holds is what comes back


@pytest.mark.parametrize("change", ["size", "mtime", "content"])
def test_any_change_misses(aged: Path, store: Store, change: str) -> None:
    path = aged / f"{change}.bin"
    old = os.stat(path)
    fp = fingerprint_path(path, cache=store)
    assert store.cache_get(stat_key(old)) == fp
    store.cache_put([(stat_key(old), MARKER)])  # a stale hit would now be visible
    data = path.read_bytes()
    if change == "size":
        path.write_bytes(data + b"\0")
    elif change == "mtime":  # same bytes, another mtime (ctime moves too; it can't be kept)
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns - 10**9))
    else:  # same size, same mtime, same inode: only the bytes (and the ctime) differ
        with path.open("r+b") as f:
            f.write(bytes([data[0] ^ 0xFF]))
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    new = os.stat(path)
    assert new.st_ino == old.st_ino
    assert (new.st_size != old.st_size) == (change == "size")
    if change != "size":
        assert (new.st_mtime_ns != old.st_mtime_ns) == (change == "mtime")
    got = fingerprint_path(path, cache=store)
    assert got != MARKER
    assert got.datahash == b3(path.read_bytes())


def test_recently_changed_files_are_not_cached(tmp_path: Path, aged: Path, store: Store) -> None:
    fresh = write(tmp_path / "fresh.bin", b"just written")
    fp = fingerprint_path(fresh, cache=store)
    assert fp.datahash == b3(b"just written")
    assert store.cache_get(stat_key(os.stat(fresh))) is None  # racy: mtime within 2 s
    fresh_tree = make_tree(tmp_path / "fresh-tree")
    fingerprint_path(fresh_tree, cache=store)
    assert len(reads_of(fresh_tree, store)[1]) == 4  # read again: the tree was not cached
    old = aged / "reopen.bin"
    fingerprint_path(old, cache=store)
    assert store.cache_get(stat_key(os.stat(old))) is not None


def test_cache_lives_in_the_store_and_survives_reopening(aged: Path, tmp_path: Path) -> None:
    path = aged / "big.bin"
    with Store(str(tmp_path / "lineage.db")) as first:
        fp = fingerprint_path(path, cache=first)
    assert store_reads(tmp_path / "lineage.db", path) == (fp, [BIG])
    assert store_reads(tmp_path / "other.db", path) == (fp, [IO_READ_SIZE] * 3 + [5])


def store_reads(db: Path, path: Path) -> tuple[Fingerprint, list[int]]:
    with Store(str(db)) as reopened:
        return reads_of(path, reopened)


def test_no_cache_option_forces_hashing(aged: Path, tmp_path: Path) -> None:
    path = aged / "cli.bin"
    db = tmp_path / "lineage.db"
    with Store(str(db)) as s:
        s.cache_put([(stat_key(os.stat(path)), MARKER)])
    runner = CliRunner()
    cached = runner.invoke(cli, ["--store", str(db), "fingerprint", str(path)])
    assert (cached.exit_code, cached.output) == (0, f"{MARKER.iscc} *{path}\n")
    proc = IsccSumProcessor()
    proc.update(path.read_bytes())
    hashed = runner.invoke(cli, ["--store", str(db), "fingerprint", "--no-cache", str(path)])
    assert (hashed.exit_code, hashed.output) == (0, f"{proc.result(False, False).iscc} *{path}\n")


def test_tree_caches_as_a_whole(aged: Path, store: Store) -> None:
    root = aged / "tree-hit"
    fp, reads = reads_of(root, store)
    assert len(reads) == 4
    again, reads = reads_of(root, store)
    assert (again, reads) == (fp, [fp.size])  # one call for the whole tree: nothing read
    for member in ("a", "sub/deeper/d"):  # members are not cached one by one
        assert store.cache_get(stat_key(os.stat(root / member))) is None


@pytest.mark.parametrize("change", ["edit", "rename", "add", "link"])
def test_tree_misses_when_any_member_changes(aged: Path, store: Store, change: str) -> None:
    root = aged / f"tree-{change}"
    before = fingerprint_path(root, cache=store)
    assert reads_of(root, store)[1] == [before.size]  # cached
    if change == "edit":  # a nested member, same size and mtime
        member = root / "sub" / "deeper" / "d"
        old = os.stat(member)
        data = member.read_bytes()
        member.write_bytes(bytes([data[0] ^ 1]) + data[1:])
        os.utime(member, ns=(old.st_atime_ns, old.st_mtime_ns))
    elif change == "rename":
        (root / "sub" / "c").rename(root / "sub" / "c2")
    elif change == "add":
        write(root / "sub" / "new", b"new")
    else:  # the target of a member symlink, outside the tree
        write(aged / "target.bin", b"linked content, edited")
    after = fingerprint_path(root, cache=store)
    assert after.datahash != before.datahash
    members = {m.path: m.datahash for m in after.members}
    for path, datahash in members.items():
        assert datahash == b3((root / path).read_bytes()), path
