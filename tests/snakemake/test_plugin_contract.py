"""The logger plugin's contract with Snakemake, without running a workflow.

The interface's own ``TestLogHandlerBase`` checks the handler contract; the rest checks what
that base class cannot: import cost, ``close()`` twice, containment of failures, event
parsing of real record shapes, and the settings Snakemake builds from our dataclass.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from snakemake_interface_common.exceptions import ApiError
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase
from snakemake_interface_logger_plugins.tests import MockOutputSettings, TestLogHandlerBase

from iscc_lineage.size import parse_size
from iscc_lineage.snakemake.events import JobInfo, Plain, parse, split_display
from iscc_lineage.snakemake.runinfo import is_touch
from iscc_lineage.snakemake.settings import CaptureSettings, exclude_from_argv
from iscc_lineage.store import Store
from snakemake_logger_plugin_iscc import LogHandler, LogHandlerSettings


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers built by the interface's tests must not write a store into the repository."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)


class TestIsccLogHandler(TestLogHandlerBase):
    """The interface's contract tests, plus a run of synthetic events through a real store."""

    __test__ = True

    def get_log_handler_cls(self) -> type[LogHandlerBase]:
        return LogHandler

    def get_log_handler_settings(self) -> LogHandlerSettingsBase:
        return LogHandlerSettings(store="contract.db")

    def test_synthetic_events_make_a_run(self) -> None:
        handler = self._create_handler()
        Path("in.txt").write_text("in\n")
        Path("out.txt").write_text("out\n")
        wid = uuid.uuid4()
        handler.emit(
            self._create_event_record(
                LogEvent.WORKFLOW_STARTED,
                workflow_id=wid,
                snakefile_main=str(Path("Snakefile")),
                cmd="snakemake --logger iscc",
                configfiles=[],
                host="h",
                user="u",
            )
        )
        handler.emit(
            self._create_event_record(
                LogEvent.JOB_INFO,
                jobid=1,
                rule_name="r",
                input=["in.txt"],
                output=["out.txt"],
                log=[],
                benchmark=None,
                wildcards={"s": "A"},
                threads=1,
                resources={},
                shellcmd="cp in.txt out.txt",
                is_checkpoint=False,
            )
        )
        handler.emit(self._create_event_record(LogEvent.JOB_FINISHED, job_id=1))
        handler.close()
        handler.close()  # Snakemake and logging.shutdown() both close handlers
        with Store("contract.db", create=False) as store:
            run = store.run(wid.hex)
            assert run.status == "finished"
            [step] = store.steps_of_run(wid.hex)
        assert (step.name, step.command, step.info["wildcards"]) == (
            "r",
            "cp in.txt out.txt",
            {"s": "A"},
        )
        assert [Path(e.path).name for e in step.inputs] == ["in.txt"]
        assert [Path(e.path).name for e in step.outputs] == ["out.txt"]


def test_import_loads_no_heavy_module() -> None:
    """Every snakemake process imports the shim: it must not pull in hashing, rich, rocrate."""
    code = (
        "import sys, snakemake_logger_plugin_iscc; "
        "print([m for m in ('iscc_lib', 'iscc_lineage', 'rich', 'rocrate', 'iscc_sum',"
        " 'iscc_core') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dry_run_opens_no_store(tmp_path: Path) -> None:
    settings = MockOutputSettings()
    settings.dryrun = True
    handler = LogHandler(common_settings=settings, settings=LogHandlerSettings(store="s.db"))
    handler.close()
    assert not (tmp_path / "s.db").exists()


def test_unusable_store_stops_the_run_before_any_job(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ApiError, match=r"junk\.db"):
        LogHandler(
            common_settings=MockOutputSettings(), settings=LogHandlerSettings(store="junk.db")
        )
    (tmp_path / "file").write_text("x")
    with pytest.raises(ApiError, match="not a directory"):
        LogHandler(
            common_settings=MockOutputSettings(),
            settings=LogHandlerSettings(store="file/lineage.db"),
        )


def test_emit_contains_failures_in_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    handler = LogHandler(
        common_settings=MockOutputSettings(), settings=LogHandlerSettings(store="s.db")
    )
    rec = logging.LogRecord("snakemake.logging", logging.INFO, "x", 1, "m", (), None)
    rec.event = LogEvent.JOB_INFO  # type: ignore[attr-defined]  # no jobid: a malformed record
    ws = logging.LogRecord("snakemake.logging", logging.INFO, "x", 1, "m", (), None)
    ws.event = LogEvent.WORKFLOW_STARTED  # type: ignore[attr-defined]
    ws.workflow_id = uuid.uuid4()  # type: ignore[attr-defined]
    handler.emit(ws)
    handler.emit(rec)
    handler.emit(rec)
    handler.close()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("iscc-lineage: lineage capture failed")


@pytest.mark.parametrize(
    ("text", "path", "label", "storage"),
    [
        ("a.txt", "a.txt", None, None),
        ("x (pipe)", "x", "pipe", None),
        ("s3://b/k (retrieve from storage)", "s3://b/k", None, "retrieve from storage"),
        ("f (pipe, send to storage)", "f", "pipe", "send to storage"),
        ("sample (1).txt", "sample (1).txt", None, None),
        ("y (access: sequential)", "y", "access: sequential", None),
    ],
)
def test_display_suffixes(text: str, path: str, label: str | None, storage: str | None) -> None:
    ref = split_display(text)
    assert (ref.path, ref.label, ref.storage) == (path, label, storage)


def test_job_info_record_becomes_plain_values() -> None:
    rec = logging.LogRecord("snakemake.logging", logging.INFO, "x", 1, "m", (), None)
    live = {"s": "A"}
    for k, v in {
        "event": LogEvent.JOB_INFO,
        "jobid": 7,
        "rule_name": "r",
        "input": ["in (pipe)"],
        "output": ["o"],
        "log": [],
        "benchmark": "b.tsv",
        "wildcards": live,
        "threads": 2,
        "shellcmd": None,
        "is_checkpoint": True,
    }.items():
        setattr(rec, k, v)
    ev = parse(rec)
    assert isinstance(ev, JobInfo)
    live["s"] = "changed later"
    assert ev.wildcards == {"s": "A"}
    assert ev.input[0].is_stream and ev.benchmark is not None and ev.benchmark.path == "b.tsv"
    plain = logging.LogRecord(
        "snakemake.logging", logging.INFO, "x", 1, "Removing temporary output work/x.tif.", (), None
    )
    assert parse(plain) == Plain(plain.created, "work/x.tif")
    for text, submitted in (
        (
            "Job 5 has been submitted with SLURM jobid 812 (log: /w/.snakemake/slurm_logs/"
            "rule_a/812.log).",
            (5, "812", "slurm"),
        ),
        ("Submitted job 3 with external jobid 'pbs.4711'.", (3, "pbs.4711", "cluster-generic")),
    ):
        rec = logging.LogRecord("snakemake.logging", logging.INFO, "x", 1, text, (), None)
        assert parse(rec) == Plain(rec.created, submitted=submitted)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10G", 10 * 1024**3),
        ("500M", 500 * 1024**2),
        ("2TB", 2 * 1000**4),
        ("1.5K", 1536),
        ("123", 123),
        ("4GiB", 4 * 1024**3),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_bad_max_size_is_a_setup_error() -> None:
    with pytest.raises(ApiError, match="max-size"):
        LogHandler(
            common_settings=MockOutputSettings(),
            settings=LogHandlerSettings(store="s.db", max_size="lots"),
        )


@pytest.mark.parametrize(
    ("cmd", "touch"),
    [
        ("snakemake -c1 --touch", True),
        ("snakemake -pt -c1", True),
        ("snakemake -t", True),
        ("snakemake -c1 --target t.txt", False),
        ("snakemake -s touch.smk", False),
        (None, False),
    ],
)
def test_touch_detection(cmd: str | None, touch: bool) -> None:
    assert is_touch(cmd) is touch


def test_repeated_exclude_flags_all_count(tmp_path: Path) -> None:
    argv = [
        "snakemake",
        "--logger-iscc-exclude",
        "*.bam",
        "tmp/*",
        "-c1",
        "--logger-iscc-exclude=*.log",
        "--logger-iscc-exclude",
        "x",
    ]
    assert exclude_from_argv(argv) == ["*.bam", "tmp/*", "*.log", "x"]
    s = CaptureSettings.from_plugin(
        LogHandlerSettings(exclude=["x"], no_hash_inputs=True), tmp_path, argv
    )
    assert s.exclude == ("x", "*.bam", "tmp/*", "*.log") and s.hash_inputs is False
    assert s.store is None


def test_snakemake_help_lists_the_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--logger-iscc-store",
        "--logger-iscc-exclude",
        "--logger-iscc-max-size",
        "--logger-iscc-hash-inputs",
        "--logger-iscc-no-hash-inputs",
    ):
        assert flag in out
    assert "{" in out and "iscc" in out.split("--logger")[1]


def test_settings_round_trip_through_snakemake_parser() -> None:
    """Snakemake's own registry turns our dataclass into flags and back (lists survive)."""
    code = (
        "import argparse, json\n"
        "from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry\n"
        "reg = LoggerPluginRegistry(); p = argparse.ArgumentParser()\n"
        "plugin = reg.get_plugin('iscc'); plugin.register_cli_args(p, 'logger')\n"
        "a = p.parse_args(['--logger-iscc-exclude', '*.bam', 'x/*', '--logger-iscc-max-size',"
        " '10G', '--logger-iscc-no-hash-inputs'])\n"
        "s = plugin.get_settings(a)\n"
        "print(json.dumps([s.exclude, s.max_size, s.no_hash_inputs, s.hash_inputs, s.store]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [["*.bam", "x/*"], "10G", True, False, None]


def test_storage_files_use_the_local_copy_or_say_why_not(tmp_path: Path) -> None:
    """A storage query is the location; its content comes from Snakemake's local copy."""
    local = tmp_path / ".snakemake" / "storage" / "s3" / "bucket" / "key.txt"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"remote bytes\n")
    Path("out.txt").write_text("out\n")
    handler = LogHandler(
        common_settings=MockOutputSettings(), settings=LogHandlerSettings(store="s.db")
    )
    base = TestIsccLogHandler()
    wid = uuid.uuid4()
    handler.emit(
        base._create_event_record(
            LogEvent.WORKFLOW_STARTED, workflow_id=wid, snakefile_main="Snakefile", configfiles=[]
        )
    )
    handler.emit(
        base._create_event_record(
            LogEvent.JOB_INFO,
            jobid=3,
            rule_name="fetch",
            output=["out.txt"],
            log=[],
            input=[
                "s3://bucket/key.txt (retrieve from storage)",
                "s3://bucket/gone.txt (retrieve from storage)",
            ],
            shellcmd="cat in > out",
            wildcards={},
            threads=1,
        )
    )
    handler.emit(base._create_event_record(LogEvent.JOB_FINISHED, job_id=3))
    handler.close()
    with Store("s.db", create=False) as store:
        [step] = store.steps_of_run(wid.hex)
    assert [e.path for e in step.inputs] == ["s3://bucket/key.txt", "s3://bucket/gone.txt"]
    reference = ic.gen_instance_code_v0(io.BytesIO(b"remote bytes\n"), bits=256)["datahash"]
    assert step.inputs[0].datahash == reference
    assert step.inputs[0].note == f"fingerprinted from the local copy {local}"
    assert (step.inputs[1].datahash, step.inputs[1].note) == (
        None,
        "storage (retrieve from storage): no local copy to fingerprint",
    )


def test_temp_input_gone_before_fingerprinting_keeps_snakemakes_sha256(tmp_path: Path) -> None:
    """A temp input deleted before it was read: no content, but an honest note."""
    import base64

    meta = tmp_path / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    sha = "sha256:" + "ab" * 32
    (meta / base64.urlsafe_b64encode(b"out.txt").decode()).write_text(
        json.dumps(
            {
                "rule": "use",
                "input": ["tmp.txt"],
                "input_checksums": {"tmp.txt": sha},
                "shellcmd": "cat tmp.txt > out.txt",
                "params": [],
            }
        )
    )
    Path("out.txt").write_text("out\n")
    handler = LogHandler(
        common_settings=MockOutputSettings(), settings=LogHandlerSettings(store="s.db")
    )
    base = TestIsccLogHandler()
    wid = uuid.uuid4()
    handler.emit(
        base._create_event_record(
            LogEvent.WORKFLOW_STARTED, workflow_id=wid, snakefile_main="Snakefile", configfiles=[]
        )
    )
    plain = logging.LogRecord(
        "snakemake.logging", logging.INFO, "x", 1, "Removing temporary output tmp.txt.", (), None
    )
    handler.emit(plain)
    handler.emit(
        base._create_event_record(
            LogEvent.JOB_INFO,
            jobid=4,
            rule_name="use",
            input=["tmp.txt"],
            output=["out.txt"],
            log=[],
            shellcmd="cat tmp.txt > out.txt",
            wildcards={},
            threads=1,
        )
    )
    handler.emit(base._create_event_record(LogEvent.JOB_FINISHED, job_id=4))
    handler.close()
    with Store("s.db", create=False) as store:
        [step] = store.steps_of_run(wid.hex)
    [gone] = step.inputs
    assert (gone.datahash, gone.note) == (
        None,
        f"gone before fingerprinting (temp); Snakemake recorded {sha}",
    )


def test_git_state_of_the_workflow_without_credentials(tmp_path: Path) -> None:
    from iscc_lineage.snakemake.runinfo import git_state

    def git(*args: str) -> str:
        return subprocess.run(
            [
                "git",
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.org",
                "-C",
                str(tmp_path),
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert git_state(tmp_path) is None  # not a work tree yet
    git("init", "-q")
    (tmp_path / "Snakefile").write_text("rule all:\n    output: 'x'\n")
    git("add", "Snakefile")
    git("commit", "-q", "-m", "wf")
    git("remote", "add", "origin", "https://someone:s3cret@git.example.org/lab/wf.git")
    state = git_state(tmp_path)
    assert state == {
        "commit": git("rev-parse", "HEAD"),
        "dirty": False,
        "remote": "https://git.example.org/lab/wf.git",
    }
    (tmp_path / "Snakefile").write_text("rule all:\n    output: 'y'\n")
    assert git_state(tmp_path)["dirty"] is True  # type: ignore[index]
