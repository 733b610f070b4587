"""The stat state of a folder (the key a directory's cached fingerprint is found under).

Real files; the state must be equal across processes (else a cache filled by one command
never hits in the next) and differ on any change that could change content.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iscc_lineage.codes import fingerprint_tree
from iscc_lineage.codes.fingerprint import RACY_SECONDS
from iscc_lineage.codes.treestate import tree_state
from iscc_lineage.store import Store

ROOT = Path(__file__).resolve().parent.parent


def make(root: Path) -> Path:
    for i, name in enumerate(("a", "b", "0/0/0", "0/0/1", "0/1/0", "caf\u00e9")):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(100 + i))
    return root


def test_state_is_equal_in_another_process(tmp_path: Path) -> None:
    root = make(tmp_path / "t")
    code = (
        "import sys; from iscc_lineage.codes.treestate import tree_state;"
        "print(tree_state(sys.argv[1], 512)[0])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "7"}
    other = subprocess.run(
        [sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True, check=True
    )
    state = tree_state(root, 512)
    assert state is not None
    assert other.stdout.strip() == state[0]


@pytest.mark.parametrize("change", ["same-size-edit", "restored-mtime", "add", "remove", "rename"])
def test_any_change_changes_the_state(tmp_path: Path, change: str) -> None:
    root = make(tmp_path / "t")
    before = tree_state(root, 512)
    member = root / "0" / "1" / "0"
    if change == "same-size-edit":
        data = member.read_bytes()
        member.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    elif change == "restored-mtime":  # content edited, mtime put back: ctime still moves
        old = member.stat()
        time.sleep(0.01)
        member.write_bytes(member.read_bytes()[::-1])
        os.utime(member, ns=(old.st_atime_ns, old.st_mtime_ns))
        assert member.stat().st_mtime_ns == old.st_mtime_ns
    elif change == "add":
        (root / "0" / "1" / "new").write_bytes(b"x")
    elif change == "remove":
        member.unlink()
    else:
        member.rename(root / "0" / "1" / "1")
    after = tree_state(root, 512)
    assert before is not None and after is not None
    assert after[0] != before[0]


def test_snakemake_timestamp_is_not_part_of_the_state(tmp_path: Path) -> None:
    root = make(tmp_path / "t")
    before = tree_state(root, 512)
    (root / "0" / ".snakemake_timestamp").touch()
    assert tree_state(root, 512) == before


def test_too_deep_or_unreadable_is_no_state(tmp_path: Path) -> None:
    root = make(tmp_path / "t")
    assert tree_state(root, 1) is None  # 0/0/0 is two folders down
    assert tree_state(tmp_path / "missing", 512) is None


def test_cached_tree_is_found_by_a_new_process_and_new_store_handle(tmp_path: Path) -> None:
    root = make(tmp_path / "t")
    newest = max(max(p.lstat().st_mtime_ns, p.lstat().st_ctime_ns) for p in root.rglob("*"))
    time.sleep(max(0.0, newest / 1e9 + RACY_SECONDS + 0.05 - time.time()))
    db = tmp_path / "lineage.db"
    with Store(str(db)) as store:
        fp = fingerprint_tree(root, cache=store)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = (
        "import sys; from pathlib import Path; from iscc_lineage.store import Store;"
        "from iscc_lineage.codes import fingerprint_tree;"
        "reads = [];"
        "fp = fingerprint_tree(Path(sys.argv[1]), cache=Store(sys.argv[2]), on_bytes=reads.append);"
        "print(fp.datahash, len(reads))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(db)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [fp.datahash, "1"]  # one progress call for the whole tree: nothing read


def test_newest_is_the_newest_file_or_link_target_time(tmp_path: Path) -> None:
    root = make(tmp_path / "t")
    target = tmp_path / "target"
    target.write_bytes(b"x")
    (root / "link").symlink_to(target)
    os.utime(root / "a", ns=(1, 5_000_000_000_000_000_000))  # a file from the far future
    state = tree_state(root, 512, want_newest=True)
    assert state is not None and state[1] == 5_000_000_000_000_000_000
    os.utime(root / "a", ns=(1, 1))
    os.utime(target, ns=(1, 4_000_000_000_000_000_000))  # now a link target is newest
    state = tree_state(root, 512, want_newest=True)
    assert state is not None and state[1] == 4_000_000_000_000_000_000
    assert tree_state(root, 512) == (state[0], 0)  # the key does not depend on asking
