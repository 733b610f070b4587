"""``iscc-lineage run -- <snakemake args>``: snakemake as a subprocess with ``--logger iscc``.

The ``--logger`` merge is checked by feeding the merged arguments to snakemake's own parser
(a dry run must accept them); exit statuses come from real snakemake runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from iscc_lineage.cli import cli
from iscc_lineage.cli.workflow import find_snakemake, with_logger
from iscc_lineage.errors import LineageError

LINEAGE = str(Path(sys.executable).parent / "iscc-lineage")
LIVE_PLUGIN = importlib.util.find_spec("iscc_lineage.snakemake.router") is not None
SNAKEFILE = """\
rule all:
    input: "b.txt"

rule a:
    input: "raw.txt"
    output: "a.txt"
    shell: "tr a-z A-Z < {input} > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    params: fail=config.get("fail", 0)
    shell: "rev {input} > {output}; exit {params.fail}"
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["--logger", "iscc"]),
        (["-c1"], ["--logger", "iscc", "-c1"]),
        (["all", "-c1"], ["all", "--logger", "iscc", "-c1"]),
        (["all"], ["all", "--logger", "iscc"]),
        (["--logger", "json", "-c1"], ["--logger", "json", "iscc", "-c1"]),
        (["-c1", "--logger=json", "all"], ["--logger", "json", "iscc", "-c1", "all"]),
        (["--logger", "iscc", "-c1"], ["--logger", "iscc", "-c1"]),
        (["-c1", "--", "t1"], ["--logger", "iscc", "-c1", "--", "t1"]),
    ],
)
def test_with_logger_merges_never_duplicates(args: list[str], expected: list[str]) -> None:
    assert with_logger(args) == expected
    assert with_logger(with_logger(args)) == expected  # idempotent


def test_find_snakemake_prefers_this_python(tmp_path: Path) -> None:
    here = Path(sys.executable).parent / "snakemake"
    assert find_snakemake() == str(here)
    with pytest.raises(LineageError, match="pip install snakemake"):
        find_snakemake(python=tmp_path / "python", path=str(tmp_path))
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "snakemake"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_snakemake(python=tmp_path / "python", path=str(tmp_path / "bin")) == str(fake)


def test_missing_snakemake_is_one_line_error(tmp_path: Path) -> None:
    # A Python with no snakemake beside it and none on PATH (sys.executable is what the
    # command looks next to; only that is changed, in a child process).
    code = (
        "import sys; sys.executable = sys.argv.pop(1); from iscc_lineage.cli import main;"
        "sys.argv[0] = 'iscc-lineage'; main()"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "python"), "run", "--", "-c1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PATH": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "Error: snakemake not found next to this Python or on PATH; pip install snakemake"
    ]


@pytest.fixture
def workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    wf = tmp_path / "wf"
    wf.mkdir()
    (wf / "Snakefile").write_text(SNAKEFILE)
    (wf / "raw.txt").write_text("hello\n")
    return wf


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINEAGE, "run", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.e2e
def test_merged_logger_is_accepted_by_snakemake(workflow: Path) -> None:
    p = run(workflow, "--", "-n", "--logger", "iscc", "-c1", "all")
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0].endswith("snakemake --logger iscc -n -c1 all")  # echoed


@pytest.mark.e2e
def test_run_passes_exit_status_and_summarises(workflow: Path) -> None:
    store = workflow.parent / "lab.db"
    p = run(
        workflow.parent,
        "--store",
        str(store),
        "--",
        "-c1",
        "-d",
        str(workflow),
        "-s",
        str(workflow / "Snakefile"),
    )
    assert p.returncode == 0, p.stderr
    assert f"--logger-iscc-store {store}" in p.stderr.splitlines()[0]
    if not LIVE_PLUGIN:
        pytest.skip("live plugin (iscc_lineage.snakemake.router) not available yet")
    with sqlite3.connect(store) as db:
        (run_id,) = [r[0] for r in db.execute("SELECT uid FROM run")]
        n = db.execute("SELECT count(*) FROM step").fetchone()[0]
    assert n == 2
    assert p.stdout == f"Recorded run {run_id[:12]} (finished): 2 steps in {store.name}\n"


@pytest.mark.e2e
def test_run_passes_failure_on(workflow: Path) -> None:
    p = run(workflow, "--", "-c1", "--config", "fail=3")
    assert p.returncode == 1, p.stderr  # snakemake's own status for a failed job
    if LIVE_PLUGIN:  # the default store: .iscc-lineage/ in the working directory
        assert p.stdout.startswith("Recorded run ") and "(failed)" in p.stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-c1"], None, ".iscc-lineage/lineage.db"),
        (["-d", "w", "-c1"], None, "w/.iscc-lineage/lineage.db"),
        (["-dw"], None, "w/.iscc-lineage/lineage.db"),
        (["--directory=w"], None, "w/.iscc-lineage/lineage.db"),
        (["--directory", "w", "--", "-d", "t"], None, "w/.iscc-lineage/lineage.db"),
        (["-d", "w", "--logger-iscc-store", "x.db"], None, "x.db"),
        (["-d", "w"], "env.db", "env.db"),
    ],
)
def test_default_store_is_where_the_plugin_writes(
    args: list[str], env: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iscc_lineage.cli.workflow import _default_store

    if env is None:
        monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    else:
        monkeypatch.setenv("ISCC_LINEAGE_STORE", env)
    assert _default_store(args) == Path(expected)


def test_store_given_twice_is_a_usage_error() -> None:
    res = CliRunner().invoke(
        cli, ["run", "--store", "a.db", "--", "--logger-iscc-store", "b.db", "-c1"]
    )
    assert res.exit_code == 2 and "give the store once" in res.output


@pytest.mark.e2e
def test_run_in_process(workflow: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workflow)
    res = CliRunner().invoke(cli, ["run", "--", "-n", "-c1"])  # a dry run records nothing
    assert res.exit_code == 0
    assert "no run recorded in .iscc-lineage/lineage.db" in res.stderr
    if not LIVE_PLUGIN:
        pytest.skip("live plugin (iscc_lineage.snakemake.router) not available yet")
    res = CliRunner().invoke(cli, ["run", "--", "-c1"])
    assert res.exit_code == 0
    assert re.fullmatch(
        r"Recorded run [0-9a-f]{12} \(finished\): 2 steps in "
        r"\.iscc-lineage/lineage\.db\n",
        res.stdout,
    )
