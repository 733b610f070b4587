"""``iscc-lineage init``: a workflow profile with ``logger: [iscc]``, merged, never broken.

Merging is checked against the YAML text (parsed independently with yaml.safe_load) and,
end to end, by real snakemake runs that read the profile.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from iscc_lineage.cli import cli
from iscc_lineage.snakemake.profile import profile_file

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CONFIG = Path("profiles") / "default" / "config.yaml"
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
    shell: "rev {input} > {output}"
"""


def init(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli, ["init", *args])
    assert res.exit_code == code, res.output
    return res.output


def test_init_creates_profile(tmp_path: Path) -> None:
    out = init(str(tmp_path))
    assert yaml.safe_load((tmp_path / CONFIG).read_text()) == {"logger": ["iscc"]}
    assert out.startswith(f"Created {tmp_path / CONFIG}: logger: [iscc]")
    assert "--use-iscc" in out and "namespaced" in out  # says why there is no such flag
    assert "Note: no Snakefile" in out


def test_init_merges_keeps_keys_loggers_and_comments(tmp_path: Path) -> None:
    cfg = tmp_path / CONFIG
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        "# lab profile\ncores: 4  # four\nlogger:\n  - rich   # pretty\n\n"
        "# executor\nexecutor: local\nset-threads:\n  a: 2\n"
    )
    init(str(tmp_path), "--store", "/data/lab.db")
    text = cfg.read_text()
    assert yaml.safe_load(text) == {
        "cores": 4,
        "logger": ["rich", "iscc"],
        "executor": "local",
        "set-threads": {"a": 2},
        "logger-iscc-store": "/data/lab.db",
    }
    for comment in ("# lab profile", "# four", "# executor"):
        assert comment in text
    before = cfg.read_bytes()
    out = init(str(tmp_path))  # again: nothing to add, nothing duplicated
    assert cfg.read_bytes() == before
    assert out.startswith("Already set in")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("logger: rich\n", ["rich", "iscc"]),
        ("logger: [iscc, rich]\n", ["iscc", "rich"]),
        ("logger: []\n", ["iscc"]),
        ("logger:\n", ["iscc"]),
        ("cores: 2\n", ["iscc"]),
    ],
)
def test_init_logger_forms(tmp_path: Path, given: str, expected: list[str]) -> None:
    cfg = tmp_path / CONFIG
    cfg.parent.mkdir(parents=True)
    cfg.write_text(given)
    init(str(tmp_path))
    assert yaml.safe_load(cfg.read_text())["logger"] == expected


def test_init_unusual_layout_keeps_content_says_comments_lost(tmp_path: Path) -> None:
    cfg = tmp_path / CONFIG
    cfg.parent.mkdir(parents=True)
    cfg.write_text("# flow style\n{cores: 2, logger: [rich]}\n")
    res = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert res.exit_code == 0
    assert yaml.safe_load(cfg.read_text()) == {"cores": 2, "logger": ["rich", "iscc"]}
    assert "could not be kept" in res.stderr


@pytest.mark.parametrize("text", ["cores: [1\n", "- just\n- a list\n", "logger: {a: 1}\n"])
def test_init_refuses_broken_profile(tmp_path: Path, text: str) -> None:
    cfg = tmp_path / CONFIG
    cfg.parent.mkdir(parents=True)
    cfg.write_text(text)
    res = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert cfg.read_text() == text  # untouched


def test_profile_file_prefers_versioned_config(tmp_path: Path) -> None:
    folder = tmp_path / "profiles" / "default"
    folder.mkdir(parents=True)
    for name in ("config.yaml", "config.v8+.yaml", "config.v99+.yaml"):
        (folder / name).write_text("cores: 1\n")
    assert profile_file(tmp_path) == folder / "config.v8+.yaml"  # v99+ is not for Snakemake 9


@pytest.fixture
def workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "raw.txt").write_text("hello\n")
    return tmp_path


@pytest.mark.e2e
def test_snakemake_accepts_the_written_profile(workflow: Path) -> None:
    """Snakemake itself parses what init wrote (keys and values), in a dry run."""
    init(str(workflow), "--store", "lab.db")
    p = subprocess.run(
        [SNAKEMAKE, "-n", "-c1"],
        cwd=workflow,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert "workflow specific profile profiles/default" in p.stderr


@pytest.mark.e2e
def test_plain_snakemake_records_after_init(workflow: Path) -> None:
    """After init, a plain `snakemake -c1` records lineage (needs the live logger plugin)."""
    init(str(workflow))
    p = subprocess.run(
        [SNAKEMAKE, "-c1"], cwd=workflow, capture_output=True, text=True, timeout=300, check=False
    )
    assert p.returncode == 0, p.stderr
    store = workflow / ".iscc-lineage" / "lineage.db"
    assert store.is_file(), "the profile's logger wrote no store"
    with sqlite3.connect(store) as db:
        names = sorted(r[0] for r in db.execute("SELECT name FROM step"))
    assert names == ["a", "b"]
