"""``export crate`` ships nothing from outside the workflow folder by default, names no local
path or user, verifies itself across runs, and is written to OUT.partial then renamed."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hostile_helpers import ROOT, cli, one_line, snapshot


def _crate_text(out: Path) -> str:
    """Every text the crate holds (metadata, README, scripts), as one string."""
    if out.is_dir():
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(out.rglob("*")) if p.is_file()
        )
    with zipfile.ZipFile(out) as zf:
        return "\n".join(zf.read(n).decode(errors="replace") for n in zf.namelist())


def test_a_hostile_record_cannot_ship_outside_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY\n")
    w = tmp_path / "w"
    (w / ".snakemake" / "metadata").mkdir(parents=True)
    (w / "out.txt").write_text("result\n")
    t = os.stat(w / "out.txt").st_mtime
    rec = {
        "rule": "innocent",
        "input": ["../secret.txt", str(secret)],
        "starttime": t - 1,
        "endtime": t,
        "incomplete": False,
        "job_hash": 1,
        "log": [],
        "params": [],
        "shellcmd": "x",
        "input_checksums": {},
    }
    name = base64.urlsafe_b64encode(b"out.txt").decode()
    (w / ".snakemake" / "metadata" / name).write_text(json.dumps(rec))
    assert cli("--store", "h.db", "import", "-q", ".", cwd=w).returncode == 0
    proc = cli("--store", "h.db", "export", "crate", "h.zip", "--zip", cwd=w)
    assert proc.returncode == 0, proc.stderr
    assert "outside the workflow folder" in proc.stderr
    with zipfile.ZipFile(w / "h.zip") as zf:
        assert not [n for n in zf.namelist() if n.startswith("external/")]
    assert "TOP-SECRET-CANARY" not in _crate_text(w / "h.zip")
    assert str(tmp_path) not in _crate_text(w / "h.zip")
    proc = cli(
        "--store", "h.db", "export", "crate", "i.zip", "--zip", "--include-outside", cwd=w
    )  # asked for: then it is shipped
    assert proc.returncode == 0 and "TOP-SECRET-CANARY" in _crate_text(w / "i.zip")


@pytest.fixture
def private(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A workflow folder in the home of a user 'alice-lab', recorded by her."""
    home = tmp_path / "home" / "alice-lab"
    w = home / "projects" / "exp1"
    (w / "scripts").mkdir(parents=True)
    env = {"HOME": str(home), "USER": "alice-lab", "LOGNAME": "alice-lab"}
    (w / "raw.txt").write_text("raw\n")
    (w / "scripts" / "up.sh").write_text("tr a-z A-Z\n")
    (home / "ref.txt").write_text("reference\n")
    cmd = f"cat {w}/raw.txt {home}/ref.txt | sh {w}/scripts/up.sh > {w}/up.txt"
    proc = cli(
        "--store",
        "s.db",
        "record",
        "-i",
        "raw.txt",
        "-i",
        str(home / "ref.txt"),
        "-o",
        "up.txt",
        "--code",
        "scripts/up.sh",
        "--",
        "sh",
        "-c",
        cmd,
        cwd=w,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return w, env


@pytest.mark.parametrize("zipped", [False, True])
def test_crates_name_no_local_path_or_user(
    private: tuple[Path, dict[str, str]], zipped: bool
) -> None:
    w, env = private
    out = w.parent / ("c.zip" if zipped else "c")
    proc = cli(
        "--store",
        "s.db",
        "export",
        "crate",
        str(out),
        "--data",
        "all",
        *(["--zip"] if zipped else []),
        cwd=w,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    text = _crate_text(out)
    assert "alice-lab" not in text and str(w.parent.parent.parent) not in text
    assert "scripts/up.sh" in text and "~/ref.txt" in text  # relative, and the home as ~
    proc = cli("verify", "--crate", str(out), cwd=w)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = w.parent / ("k.zip" if zipped else "k")
    proc = cli(
        "--store",
        "s.db",
        "export",
        "crate",
        str(kept),
        "--keep-paths",
        *(["--zip"] if zipped else []),
        cwd=w,
        env=env,
    )
    assert proc.returncode == 0 and str(w) in _crate_text(kept)


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    (tmp_path / "raw.txt").write_text("raw data\n")
    steps = [("r1", "raw.txt", "a.txt", "tr a-z A-Z"), ("r2", "a.txt", "fig.txt", "rev")]
    for run, src, dst, tool in steps:
        proc = cli(
            "--store",
            "s.db",
            "record",
            "--run",
            run,
            "-i",
            src,
            "-o",
            dst,
            "--",
            "sh",
            "-c",
            f"{tool} < {src} > {dst}",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
    return tmp_path


@pytest.mark.parametrize("zipped", [False, True])
def test_a_crate_for_a_figure_of_two_runs_verifies_itself(two_runs: Path, zipped: bool) -> None:
    out = "c.zip" if zipped else "c"
    proc = cli(
        "--store",
        "s.db",
        "export",
        "crate",
        out,
        "--for",
        "fig.txt",
        "--json",
        *(["--zip"] if zipped else []),
        cwd=two_runs,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["runs"]) == ["r1", "r2"]
    proc = cli("verify", "--crate", out, cwd=two_runs)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_for_and_run_together_export_that_runs_part(two_runs: Path) -> None:
    proc = cli(
        "--store",
        "s.db",
        "export",
        "crate",
        "c",
        "--for",
        "fig.txt",
        "--run",
        "r2",
        "--json",
        cwd=two_runs,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["runs"] == ["r2"] and summary["steps"] == 1
    assert cli("verify", "--crate", "c", cwd=two_runs).returncode == 0


def test_a_killed_export_leaves_no_half_crate(two_runs: Path) -> None:
    big = two_runs / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(1 << 20) * 300)  # 300 MiB: the copy takes a while
    proc = cli(
        "--store",
        "s.db",
        "record",
        "--run",
        "r3",
        "-i",
        "fig.txt",
        "-o",
        "big.bin",
        "--",
        "true",
        cwd=two_runs,
    )
    assert proc.returncode == 0, proc.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iscc_lineage",
            "--store",
            "s.db",
            "export",
            "crate",
            "out",
            "--run",
            "r3",
            "--data",
            "all",
        ],
        cwd=two_runs,
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (two_runs / "out.partial" / "big.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not (two_runs / "out").exists()  # never a half-written crate under OUT
    proc = cli(
        "--store", "s.db", "export", "crate", "out", "--run", "r3", "--data", "all", cwd=two_runs
    )  # and no --force or rm -rf needed
    assert proc.returncode == 0, proc.stderr
    assert not (two_runs / "out.partial").exists()
    assert cli("verify", "--crate", "out", cwd=two_runs).returncode == 0


def test_a_crate_verifies_itself_after_a_later_run_rewrote_an_input(two_runs: Path) -> None:
    """Wrong answer 11: the crate of fig.txt (runs r1 + r2) described a.txt as it was; a
    later run r4 rewrote a.txt, and verify --crate read the new a.txt on disk: exit 1."""
    proc = cli(
        "--store",
        "s.db",
        "record",
        "--run",
        "r4",
        "-i",
        "raw.txt",
        "-o",
        "a.txt",
        "--",
        "sh",
        "-c",
        "tr a-z A-Z < raw.txt | rev > a.txt",
        cwd=two_runs,
    )
    assert proc.returncode == 0, proc.stderr
    for out, extra in (("c", []), ("c.zip", ["--zip"])):
        proc = cli(
            "--store", "s.db", "export", "crate", out, "--for", "fig.txt", *extra, cwd=two_runs
        )
        assert proc.returncode == 0, proc.stderr
        proc = cli("verify", "--crate", out, cwd=two_runs)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # under the workflow folder, an older content of a path is not compared to the new
        proc = cli("verify", "--crate", out, "--local-root", ".", cwd=two_runs)
        assert proc.returncode == 0 and "older content" in proc.stdout, proc.stdout


def test_an_export_refused_for_its_output_writes_nothing(two_runs: Path) -> None:
    time.sleep(2.1)  # past the stat cache's racy window: a cache write would happen now
    before = snapshot(two_runs)
    line = one_line(cli("--store", "s.db", "export", "crate", "nope/dir/out", cwd=two_runs))
    assert "no such folder" in line
    assert snapshot(two_runs) == before  # not even the stat cache
