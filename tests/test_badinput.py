"""Bad input through the CLI: one line, exit status 2, no traceback, nothing written.

Missing files, a directory where a file is expected, a FIFO, /dev/null, a symlink loop, a
file name that is not UTF-8, a command that does not exist, and the 0-byte file: a valid
ISCC, but every empty log and marker file shares it, so it names no lineage.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner, Result
from helpers_store import snapshot

from iscc_lineage.cli import cli

BAD_NAME = os.fsdecode(b"bad\xff.txt")  # a str with a surrogate, as Python gives argv
SIDE_EFFECT = ["--", "sh", "-c", "echo ran > ran.txt"]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recorded chain raw -> a -> b, and every kind of bad path beside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "store" / "lineage.db"))
    (tmp_path / "raw.txt").write_text("raw acquisition\n")
    runner = CliRunner()
    for src, dst in (("raw.txt", "a.txt"), ("a.txt", "b.txt")):
        res = runner.invoke(
            cli, ["record", "-i", src, "-o", dst, "--", "sh", "-c", f"tr a-z A-Z < {src} > {dst}"]
        )
        assert res.exit_code == 0, res.output
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "member.txt").write_text("inside\n")
    (tmp_path / "emptydir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    os.symlink("loop", tmp_path / "loop")
    (tmp_path / BAD_NAME).write_text("never recorded\n")
    (tmp_path / "empty.txt").touch()
    return tmp_path


def _one_line_error(res: Result, needle: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert needle in lines[0], lines[0]


RECORD_CASES = {
    "missing input": (["-i", "missing.txt"], "missing.txt: no such file or directory"),
    "FIFO input": (["-i", "fifo"], "fifo: is a FIFO, not a regular file"),
    "/dev/null input": (["-i", "/dev/null"], "/dev/null: is a device or socket"),
    "symlink loop input": (["-i", "loop"], "loop: Too many levels of symbolic links"),
    "non-UTF-8 input": (["-i", BAD_NAME], "file name is not valid UTF-8"),
    "FIFO output": (["-o", "fifo"], "fifo: is a FIFO, not a regular file"),
    "/dev/null output": (["-o", "/dev/null"], "/dev/null: is a device or socket"),
    "symlink loop output": (["-o", "loop"], "loop: Too many levels of symbolic links"),
    "non-UTF-8 output": (["-o", BAD_NAME], "file name is not valid UTF-8"),
    "directory as code": (["--code", "dir"], "dir: is a directory, not a regular file"),
    "missing code": (["--code", "segment.py"], "segment.py: no such file or directory"),
    "FIFO as code": (["--code", "fifo"], "fifo: is a FIFO"),
    "non-UTF-8 code": (["--code", BAD_NAME], "file name is not valid UTF-8"),
}


@pytest.mark.parametrize("case", RECORD_CASES)
@pytest.mark.parametrize("store_exists", [True, False], ids=["store", "no-store"])
def test_record_refuses_bad_input_before_running_or_writing(
    work: Path, case: str, store_exists: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not store_exists:
        monkeypatch.setenv("ISCC_LINEAGE_STORE", str(work / "new" / "lineage.db"))
    args, needle = RECORD_CASES[case]
    before = snapshot(work)
    res = CliRunner().invoke(cli, ["record", "-i", "raw.txt", *args, *SIDE_EFFECT])
    _one_line_error(res, needle)
    assert not (work / "ran.txt").exists(), "the command ran"
    assert snapshot(work) == before
    assert (work / "new").exists() is False


def test_record_of_a_missing_program_writes_nothing(work: Path) -> None:
    before = snapshot(work)
    res = CliRunner().invoke(cli, ["record", "-i", "raw.txt", "--", "no-such-program-zq"])
    _one_line_error(res, "no-such-program-zq: command not found")
    assert snapshot(work) == before


def test_record_of_an_output_the_command_did_not_make_writes_nothing(work: Path) -> None:
    before = snapshot(work)
    res = CliRunner().invoke(cli, ["record", "-i", "raw.txt", "-o", "never.txt", "--", "true"])
    _one_line_error(res, "never.txt: no such file or directory")
    assert snapshot(work) == before


TRACE_CASES = {
    "missing": ("missing.txt", "missing.txt: no such file or directory"),
    "FIFO": ("fifo", "fifo: is a FIFO, not a regular file"),
    "/dev/null": ("/dev/null", "/dev/null: is a device or socket"),
    "symlink loop": ("loop", "loop: Too many levels of symbolic links"),
    "0-byte file": ("empty.txt", "empty.txt: is empty (0 bytes); every empty file shares"),
    "empty directory": ("emptydir", "emptydir: is an empty directory"),
}


@pytest.mark.parametrize("case", TRACE_CASES)
@pytest.mark.parametrize("command", ["trace", "impact"])
def test_trace_and_impact_refuse_bad_input(work: Path, command: str, case: str) -> None:
    path, needle = TRACE_CASES[case]
    before = snapshot(work)
    for extra in ([], ["--json"]):
        res = CliRunner().invoke(cli, [command, *extra, path])
        _one_line_error(res, needle)
        assert res.stdout == ""
    assert snapshot(work) == before


def test_empty_output_is_recorded_but_traces_to_an_error(work: Path) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "record",
            "-i",
            "b.txt",
            "-o",
            "job.log",
            "-o",
            "c.txt",
            "--",
            "sh",
            "-c",
            ": > job.log; cp b.txt c.txt; echo >> c.txt",
        ],
    )
    assert res.exit_code == 0, res.output
    shown = json.loads(CliRunner().invoke(cli, ["trace", "--json", "c.txt"]).stdout)
    log = [o for s in shown["steps"] for o in s["outputs"] if o["path"].endswith("job.log")]
    assert len(log) == 1 and shown["contents"][log[0]["datahash"]]["size"] == 0
    res = CliRunner().invoke(cli, ["trace", "job.log"])
    _one_line_error(res, "is empty (0 bytes)")


@pytest.mark.parametrize("command", ["trace", "impact"])
def test_unrecorded_directory_and_non_utf8_name_are_a_negative_answer(
    work: Path, command: str
) -> None:
    for path in ("dir", BAD_NAME):
        res = CliRunner().invoke(cli, [command, "--json", path])
        assert res.exit_code == 1, res.output
        doc = json.loads(res.stdout)
        assert doc["known"] is False
    assert doc["target"]["path"] == str(work / "bad\\udcff.txt")


VERIFY_CASES = {
    "never recorded": ("raw-copy.txt", "raw-copy.txt: no recorded content at this path"),
    "FIFO": ("fifo", "fifo: no recorded content at this path"),
    "/dev/null": ("/dev/null", "/dev/null: no recorded content at this path"),
    "symlink loop": ("loop", "loop: no recorded content at this path"),
    "non-UTF-8": (BAD_NAME, "file name is not valid UTF-8"),
}


@pytest.mark.parametrize("case", VERIFY_CASES)
def test_verify_refuses_paths_it_has_no_record_of(work: Path, case: str) -> None:
    path, needle = VERIFY_CASES[case]
    before = snapshot(work)
    _one_line_error(CliRunner().invoke(cli, ["verify", path]), needle)
    assert snapshot(work) == before


def test_verify_reports_a_recorded_file_that_became_a_fifo(work: Path) -> None:
    (work / "b.txt").unlink()
    os.mkfifo(work / "b.txt")
    res = CliRunner().invoke(cli, ["verify", "--json", "b.txt"])
    assert res.exit_code == 1, res.output
    [check] = json.loads(res.stdout)
    assert check["status"] == "error" and "FIFO" in check["detail"]


@pytest.mark.parametrize(
    "path,needle",
    [
        ("missing.txt", "missing.txt: no such file or directory"),
        ("fifo", "fifo: is a FIFO"),
        ("/dev/null", "/dev/null: is a device or socket"),
        ("loop", "loop: Too many levels of symbolic links"),
    ],
)
def test_fingerprint_bad_input(work: Path, path: str, needle: str) -> None:
    res = CliRunner().invoke(cli, ["fingerprint", "raw.txt", path])
    _one_line_error(res, needle)
    assert res.stdout.endswith(" *raw.txt\n")  # the good path is still answered


def test_fingerprint_of_an_empty_file_is_the_empty_iscc(work: Path) -> None:
    data = ic.gen_data_code_v0(io.BytesIO(b""), bits=64)["iscc"]
    instance = ic.gen_instance_code_v0(io.BytesIO(b""), bits=64)["iscc"]
    expected = ic.gen_iscc_code_v0([data, instance])["iscc"]
    res = CliRunner().invoke(cli, ["fingerprint", "empty.txt"])
    assert res.exit_code == 0, res.output
    assert res.stdout == f"{expected} *empty.txt\n"


# -- the same through a real process: one line on stderr, never a traceback -----------------


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([b"record", b"-i", b"bad\xff.txt", b"--", b"touch", b"ran.txt"], b"not valid UTF-8"),
        ([b"record", b"-i", b"fifo", b"--", b"touch", b"ran.txt"], b"is a FIFO"),
        ([b"trace", b"/dev/null"], b"is a device or socket"),
        ([b"impact", b"empty.txt"], b"is empty (0 bytes)"),
        ([b"verify", b"loop"], b"no recorded content"),
    ],
)
def test_bad_input_in_a_real_process(work: Path, argv: list[bytes], needle: bytes) -> None:
    before = snapshot(work)
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"iscc_lineage", *argv], capture_output=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(b"Error: ") and proc.stderr.count(b"\n") == 1, proc.stderr
    assert needle in proc.stderr and b"Traceback" not in proc.stderr
    assert proc.stdout == b""
    assert snapshot(work) == before


def test_fingerprint_several_bad_paths_one_error_line(work: Path) -> None:
    res = CliRunner().invoke(cli, ["fingerprint", "missing.txt", "raw.txt", "fifo"])
    _one_line_error(res, "missing.txt: no such file or directory (and 1 more: ")
    assert "fifo: is a FIFO" in res.stderr and res.stdout.endswith(" *raw.txt\n")
