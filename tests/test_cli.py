"""The command line: help everywhere, exit codes 0/1/2, show, runs, and record's contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3  # type: ignore[import-not-found,unused-ignore]
import click
import pytest
from click.testing import CliRunner, Result

from iscc_lineage import Recorder, open_store
from iscc_lineage.cli import cli


def command_paths(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command below ``group``, as (path of names, command), groups included."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the root group loads its commands on demand
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from command_paths(cmd, (*prefix, name))


ALL = [((), cli), *command_paths(cli)]


@pytest.mark.parametrize("path,cmd", ALL, ids=[" ".join(p) or "iscc-lineage" for p, _ in ALL])
def test_every_command_has_help(path: tuple[str, ...], cmd: click.Command) -> None:
    assert cmd.help and cmd.help.strip(), f"{' '.join(path)} has no help text"
    assert cmd.get_short_help_str().strip()
    for flag in ("--help", "-h"):
        res = CliRunner().invoke(cli, [*path, flag])
        assert res.exit_code == 0, res.output
        assert res.stdout.startswith("Usage: ")


def test_group_documents_exit_codes() -> None:
    res = CliRunner().invoke(cli, ["--help"])
    assert "0 success; 1 a negative answer" in res.stdout and "2" in res.stdout


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run r1: raw -> a -> b -> figure; run r2: raw -> other (raw reused across runs)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    (tmp_path / "raw.tif").write_bytes(bytes(range(256)) * 64)
    for run, src, dst, name in (
        ("r1", "raw.tif", "a.tif", "a"),
        ("r1", "a.tif", "b.csv", "b"),
        ("r1", "b.csv", "figure.png", "figure"),
        ("r2", "raw.tif", "other.txt", "other"),
    ):
        res = invoke(
            "record",
            "--run",
            run,
            "-n",
            name,
            "-i",
            src,
            "-o",
            dst,
            "--",
            "sh",
            "-c",
            f"(cat {src}; echo {name}) > {dst}",
        )
        assert res.exit_code == 0, res.output
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def as_json(*args: str) -> Any:
    res = invoke(*args)
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


# -- exit codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,code",
    [
        (["trace", "figure.png"], 0),
        (["trace", "unrecorded.txt"], 1),
        (["trace", "missing.png"], 2),
        (["impact", "raw.tif"], 0),
        (["impact", "unrecorded.txt"], 1),
        (["impact", "missing.tif"], 2),
        (["verify"], 0),
        (["verify", "figure.png"], 0),
        (["verify", "unrecorded.txt"], 2),
        (["runs"], 0),
        (["show", "r1"], 0),
        (["show", "nothing-like-it"], 2),
        (["fingerprint", "raw.tif"], 0),
        (["fingerprint", "missing.tif"], 2),
        (["trace", "--depth", "0", "figure.png"], 2),
    ],
)
def test_exit_codes(chain: Path, args: list[str], code: int) -> None:
    (chain / "unrecorded.txt").write_text("never recorded\n")
    res = invoke(*args)
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_verify_exits_1_after_a_change(chain: Path) -> None:
    with open(chain / "b.csv", "ab") as f:
        f.write(b"one more line\n")
    res = invoke("verify", "b.csv")
    assert res.exit_code == 1 and "CHANGED" in res.stdout


def test_runs_without_a_store_exits_2(chain: Path) -> None:
    res = invoke("--store", str(chain / "nowhere.db"), "runs")
    assert res.exit_code == 2 and "no lineage store here" in res.stderr


# -- runs and show ---------------------------------------------------------------------------


def test_runs_limit_gives_the_newest(chain: Path) -> None:
    assert invoke("record", "--run", "r3", "-i", "other.txt", "-n", "look").exit_code == 0
    assert [r["id"] for r in as_json("runs", "--json")] == ["r3", "r2", "r1"]
    assert [r["id"] for r in as_json("runs", "--json", "--limit", "2")] == ["r3", "r2"]
    text = invoke("runs", "-n", "1").stdout
    assert "r3" in text and "r2" not in text
    assert invoke("runs", "--limit", "0").exit_code == 2


def test_show_run_and_step(chain: Path) -> None:
    doc = as_json("show", "--json", "r1")
    assert doc["run"]["id"] == "r1" and doc["run"]["steps"] == 3
    assert [s["name"] for s in doc["steps"]] == ["a", "b", "figure"]
    step_id = doc["steps"][1]["id"]
    for ref in (step_id, step_id[:8]):
        shown = as_json("show", "--json", ref)
        assert shown["step"]["id"] == step_id
        assert shown["step"]["name"] == "b" and shown["step"]["run"] == "r1"
    text = invoke("show", step_id[:8])
    assert text.exit_code == 0 and f"step {step_id}" in text.stdout
    text = invoke("show", "r2")
    assert text.exit_code == 0 and "run r2" in text.stdout and "other" in text.stdout


def test_show_ambiguous_and_unknown(chain: Path) -> None:
    res = invoke("show", "r")
    assert res.exit_code == 2 and "'r' matches several runs" in res.stderr
    with open_store(chain / "lineage.db") as st:
        rec = Recorder(st)
        rec.record_step("r2", "x", step_id="5ca1ab1e-1")
        rec.record_step("r2", "y", step_id="5ca1ab1e-2")
        rec.record_step("r2", "z", step_id="beef-step")
        rec.begin_run(run_id="beef-run")
    res = invoke("show", "5ca1ab1e-")
    assert res.exit_code == 2 and "'5ca1ab1e-' matches several steps" in res.stderr
    res = invoke("show", "5ca1ab1e-1")
    assert res.exit_code == 0 and "step 5ca1ab1e-1" in res.stdout
    res = invoke("show", "beef-")
    assert res.exit_code == 2 and "'beef-' matches a run and a step" in res.stderr
    res = invoke("show", "beef-r")
    assert res.exit_code == 0 and "run beef-run" in res.stdout
    (chain / "lineage.db").unlink()
    res = invoke("show", "zzz")
    assert res.exit_code == 2 and "no lineage store" in res.stderr


def test_show_unknown_id(chain: Path) -> None:
    res = invoke("show", "zzz")
    assert res.exit_code == 2
    assert res.stderr == "Error: no run or step matches 'zzz'\n"


# -- record ----------------------------------------------------------------------------------


def test_record_passes_on_the_exit_status_and_keeps_outputs_partial(chain: Path) -> None:
    res = invoke(
        "record",
        "--run",
        "bad",
        "-n",
        "crashes",
        "-i",
        "b.csv",
        "-o",
        "half.csv",
        "--",
        "sh",
        "-c",
        "echo partial > half.csv; exit 3",
    )
    assert res.exit_code == 3
    doc = as_json("show", "--json", "bad")
    assert doc["run"]["status"] == "failed"
    [step] = doc["steps"]
    assert (step["status"], step["exit_status"], step["outputs"]) == ("failed", 3, [])
    assert step["info"]["partial_outputs"] == [str(chain / "half.csv")]
    lin = as_json("trace", "--json", "half.csv")
    # A failed step's output is not a raw source: trace names the failed step that wrote
    # it, as partial (never a result), and walks on to what that step used.
    crashed = lin["steps"][0]
    assert (crashed["name"], crashed["status"], crashed["outputs"]) == ("crashes", "failed", [])
    assert [e["path"] for e in crashed["partial"]] == [str(chain / "half.csv")]
    assert str(chain / "half.csv") not in [p for c in lin["sources"] for p in c["paths"]]
    assert [c["paths"] for c in lin["sources"]] == [[str(chain / "raw.tif")]]
    res = invoke("trace", "half.csv")
    assert "partial output of a failed step" in res.stdout and "crashes" in res.stdout


def test_record_exit_status_zero(chain: Path) -> None:
    cmd = ["dd", "if=b.csv", "of=c.csv", "bs=100", "count=1", "status=none"]
    res = invoke("record", "-i", "b.csv", "-o", "c.csv", "--", *cmd)
    assert res.exit_code == 0, res.output
    lin = as_json("trace", "--json", "c.csv")
    assert lin["steps"][0]["command"] == " ".join(cmd)
    assert lin["steps"][0]["name"] == "dd" and lin["steps"][0]["exit_status"] == 0
    assert [s["name"] for s in lin["steps"]] == ["dd", "b", "a"]


def test_record_without_a_command_is_a_manual_step(chain: Path) -> None:
    (chain / "panel.png").write_bytes((chain / "figure.png").read_bytes() + b"edited in Fiji")
    res = invoke("record", "-i", "figure.png", "-o", "panel.png", "-n", "Fiji export")
    assert res.exit_code == 0, res.output
    lin = as_json("trace", "--json", "panel.png")
    assert [s["name"] for s in lin["steps"]] == ["Fiji export", "figure", "b", "a"]
    manual = lin["steps"][0]
    assert (manual["command"], manual["exit_status"], manual["status"]) == (None, None, "finished")
    (chain / "notes.txt").write_text("looked at it\n")
    assert invoke("record", "-i", "panel.png", "-o", "notes.txt").exit_code == 0
    assert as_json("trace", "--json", "notes.txt")["steps"][0]["name"] == ("manual step")


def test_record_params_and_code(chain: Path) -> None:
    (chain / "segment.py").write_text("print('segment')\n")
    res = invoke(
        "record",
        "-i",
        "raw.tif",
        "-o",
        "mask.tif",
        "--code",
        "segment.py",
        "-p",
        "sigma=2.0",
        "-p",
        "expr=a=b",
        "-p",
        "empty=",
        "--",
        "sh",
        "-c",
        "cp raw.tif mask.tif; echo mask >> mask.tif",
    )
    assert res.exit_code == 0, res.output
    step = as_json("trace", "--json", "mask.tif")["steps"][0]
    assert step["params"] == {"sigma": "2.0", "expr": "a=b", "empty": ""}
    assert step["code"] == str(chain / "segment.py")
    digest = blake3.blake3((chain / "segment.py").read_bytes()).hexdigest()
    assert step["code_datahash"] == "1e20" + digest


@pytest.mark.parametrize("param", ["novalue", "=x", ""])
def test_record_param_errors_write_nothing(chain: Path, param: str) -> None:
    before = (chain / "lineage.db").read_bytes()
    res = invoke("record", "-p", param, "-i", "raw.tif", "--", "touch", "ran.txt")
    assert res.exit_code == 2
    assert f"{param!r} is not KEY=VALUE" in res.stderr
    assert "Traceback" not in res.output
    assert not (chain / "ran.txt").exists()
    assert (chain / "lineage.db").read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["trace"],  # a missing argument
        ["trace", "x.png", "--no-such-option"],  # an unknown option
        ["runs", "--limit", "zero"],  # a bad value
        ["no-such-command"],
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    """The console script, as a user runs it: one `Error:` line naming where help is."""
    exe = Path(sys.executable).parent / "iscc-lineage"
    res = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "--help" in lines[0] and res.stdout == ""


def test_lazy_command_table_names_every_command_and_its_module() -> None:
    from iscc_lineage.cli.group import COMMANDS, load_commands

    load_commands()
    registered = {n: c.callback.__module__ for n, c in cli.commands.items() if c.callback}
    assert registered == {n: f"iscc_lineage.cli.{m}" for n, m in COMMANDS.items()}


def test_fingerprint_imports_only_its_own_command_module(tmp_path: Path) -> None:
    # startup time of `iscc-lineage fingerprint BIG` (issue 14): the other commands' code
    # (export, reproduce, signing, ...) is not imported
    f = tmp_path / "f.txt"
    f.write_text("x\n")
    code = (
        "import sys\n"
        "from iscc_lineage.cli import cli\n"
        "try:\n"
        f"    cli(['fingerprint', '--no-cache', {str(f)!r}], prog_name='iscc-lineage')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('iscc_lineage.cli.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.splitlines()
    assert out[0].startswith("ISCC:")
    assert out[-1] == "['iscc_lineage.cli.group', 'iscc_lineage.cli.record']"
