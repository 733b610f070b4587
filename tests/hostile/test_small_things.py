"""Profiles and the small things a user hits: alias bombs, special files, a typo'd folder,
a non-UTF-8 id, an empty --run, and exit 2 that leaves the store as it was."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line, snapshot


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _profile(root: Path) -> Path:
    folder = root / "profiles" / "default"
    folder.mkdir(parents=True)
    return folder / "config.yaml"


@pytest.mark.parametrize(
    "text", [_bomb(12), "a: &x [1, *x]\nlogger: [rich]\n"], ids=["billion laughs", "self-reference"]
)
def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path, text: str) -> None:
    _profile(tmp_path).write_text(text)  # 12 levels: hours when expanded by ==
    t = time.perf_counter()
    line = one_line(cli("init", ".", cwd=tmp_path, timeout=60))
    assert time.perf_counter() - t < 30
    assert "alias" in line
    assert (tmp_path / "profiles/default/config.yaml").read_text() == text  # left as it was


def test_ordinary_anchors_still_merge(tmp_path: Path) -> None:
    _profile(tmp_path).write_text("base: &b {jobs: 2}\nother: *b\nlogger: [rich]\n")
    proc = cli("init", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "rich, iscc" in proc.stdout


@pytest.mark.parametrize("special", ["fifo", "devzero"])
def test_special_profile_files_are_refused(tmp_path: Path, special: str) -> None:
    path = _profile(tmp_path)
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    line = one_line(cli("init", ".", cwd=tmp_path, timeout=20))
    assert "not a regular file" in line


def test_init_refuses_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    line = one_line(cli("init", str(tmp_path / "nope" / "dir"), cwd=tmp_path))
    assert "does not exist" in line
    assert not (tmp_path / "nope").exists()


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("a\n")
    proc = cli(
        "--store",
        "s.db",
        "record",
        "-i",
        "a.txt",
        "-o",
        "b.txt",
        "--",
        "sh",
        "-c",
        "tr a b < a.txt > b.txt",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    old = time.time() - 3600  # old enough for the stat cache to keep it
    for name in ("a.txt", "b.txt"):
        os.utime(tmp_path / name, (old, old))
    return tmp_path


def test_show_with_a_non_utf8_id_is_one_line(recorded: Path) -> None:
    line = one_line(cli("--store", "s.db", "show", os.fsdecode(b"bad\xff"), cwd=recorded))
    assert "bad" in line


def test_verify_with_an_empty_run_is_a_usage_error(recorded: Path) -> None:
    line = one_line(cli("--store", "s.db", "verify", "--run", "", cwd=recorded))
    assert "--run" in line


def _store_rows(db: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return [
            tuple(r)
            for t in ("stat_cache", "step", "content", "observation")
            for r in con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        ]
    finally:
        con.close()


@pytest.mark.parametrize(
    "args",
    [
        ["record", "-i", "a.txt", "-o", "never.txt", "--", "true"],
        ["fingerprint", "a.txt", "missing.txt"],
    ],
)
def test_exit_2_writes_nothing(recorded: Path, args: list[str]) -> None:
    (recorded / "old.txt").write_text("old\n")
    old = time.time() - 3600
    os.utime(recorded / "old.txt", (old, old))
    time.sleep(2.1)  # past the racy window (ctime): the stat cache would keep it now
    args = [a if a != "a.txt" else "old.txt" for a in args]
    before = _store_rows(recorded / "s.db")
    one_line(cli("--store", "s.db", *args, cwd=recorded))
    assert _store_rows(recorded / "s.db") == before


def test_an_empty_store_file_stays_empty_when_the_command_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    before = snapshot(tmp_path)
    one_line(cli("--store", "empty.db", "record", "-o", "never.txt", "--", "true", cwd=tmp_path))
    assert snapshot(tmp_path) == before
