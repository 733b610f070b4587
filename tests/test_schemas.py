"""Every ``--json`` output validates against its published JSON Schema (draft 2020-12).

The documents come from a real recorded chain (raw -> a -> b -> figure, raw reused by a
second run, a directory output, a failed step, a content-less pipe edge), so every optional
form the schemas allow is exercised at least once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import (  # type: ignore[import-untyped,unused-ignore]
    Draft202012Validator,
    ValidationError,
)

from iscc_lineage import Artifact, Recorder, open_store
from iscc_lineage.cli import cli

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
COMMANDS = ("fingerprint", "trace", "impact", "verify", "runs", "show")
#: schemas whose outputs are validated in tests/crate/test_export_checksums.py
ELSEWHERE = (
    "export-crate",
    "export-checksums",
    "verify-crate",
    # tests/signing/: test_sign_cli.py, test_declare.py, test_store_chain.py
    "keys",
    "sign",
    "iscc-note",
    "verify-signatures",
    "verify-store",
    # tests/test_same_pixels.py
    "reindex",
    "export-omero",
    "store-copy",  # tests/test_store_copy.py
    # real snakemake runs: tests/snakemake/test_code_e2e.py
    "reproduce",
    "diff",
)


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("chain")
    with pytest.MonkeyPatch.context() as mp:  # module scope: no monkeypatch fixture
        mp.setenv("ISCC_LINEAGE_STORE", str(work / "lineage.db"))
        mp.chdir(work)
        yield _record(work)


def _record(work: Path) -> Path:
    """The chain, a directory output, a failed step and a pipe edge, in four runs."""
    (work / "raw.tif").write_bytes(bytes(range(256)) * 40)
    steps = [
        ("r1", "raw.tif", "a.tif"),
        ("r1", "a.tif", "b.csv"),
        ("r1", "b.csv", "figure.png"),
        ("r2", "raw.tif", "other.txt"),
    ]
    for run, src, dst in steps:
        res = CliRunner().invoke(
            cli,
            [
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
                f"(cat {src}; echo {dst}) > {dst}",
            ],
        )
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        cli,
        [
            "record",
            "--run",
            "r2",
            "-i",
            "b.csv",
            "-o",
            "tiles",
            "-p",
            "n=2",
            "--",
            "sh",
            "-c",
            "mkdir -p tiles && split -n 2 b.csv tiles/t_",
        ],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        cli,
        [
            "record",
            "--run",
            "r3",
            "-i",
            "a.tif",
            "-o",
            "bad.csv",
            "--",
            "sh",
            "-c",
            "echo half > bad.csv; exit 1",
        ],
    )
    assert res.exit_code == 1
    with open_store(work / "lineage.db") as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=work, info={"engine": "test"})
        rec.record_step(
            run,
            "streamed",
            inputs=[Artifact(str(work / "fifo"), None, "pipe"), work / "figure.png"],
            outputs=[],
            info={"kind": "shell"},
        )
    return work


def run_json(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output
    return json.loads(res.stdout)


def documents(chain: Path) -> dict[str, list[Any]]:
    """Real outputs of every command with --json, each form at least once."""
    (chain / "unrecorded.txt").write_text("never recorded\n")
    r1 = run_json("show", "--json", "r1")
    return {
        "fingerprint": [run_json("fingerprint", "--json", "raw.tif", "tiles")],
        "trace": [
            run_json("trace", "--json", "figure.png"),
            run_json("trace", "--json", "tiles"),
            run_json("trace", "--json", "unrecorded.txt", code=1),
            run_json("trace", "--json", "--similar", "--threshold", "64", "unrecorded.txt"),
        ],
        "impact": [
            run_json("impact", "--json", "raw.tif"),
            run_json("impact", "--json", "unrecorded.txt", code=1),
        ],
        "verify": [run_json("verify", "--json")],
        "runs": [run_json("runs", "--json"), run_json("runs", "--json", "--limit", "1")],
        "show": [
            r1,
            run_json("show", "--json", r1["steps"][0]["id"]),
            run_json("show", "--json", "r3"),
        ],
    }


def test_every_json_command_has_a_schema() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(
        f"{c}.schema.json" for c in COMMANDS + ELSEWHERE
    )
    for name in COMMANDS:
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_outputs_validate(chain: Path) -> None:
    docs = documents(chain)
    for name, found in docs.items():
        v = validator(name)
        for doc in found:
            errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
            assert not errors, f"{name}: {errors[0].message} at {list(errors[0].path)}"
    # the forms the schemas allow were really produced
    trace_docs = docs["trace"]
    assert trace_docs[0]["sources"] and "match" in trace_docs[3]
    assert trace_docs[2]["known"] is False
    assert any(f["kind"] == "tree" and f["members"] for f in docs["fingerprint"][0])
    assert docs["show"][2]["steps"][0]["info"]["partial_outputs"]
    assert len(docs["runs"][1]) == 1


def _drop(doc: Any, *path: str | int) -> Any:
    out = copy.deepcopy(doc)
    here = out
    for key in path[:-1]:
        here = here[key]
    del here[path[-1]]
    return out


def _set(doc: Any, value: Any, *path: str | int) -> Any:
    out = copy.deepcopy(doc)
    here = out
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = value
    return out


def test_schemas_reject_broken_documents(chain: Path) -> None:
    docs = documents(chain)
    trace, impact = docs["trace"][0], docs["impact"][0]
    broken = {
        "trace": [
            _drop(trace, "sources"),
            _drop(trace, "steps", 0, "outputs"),
            _drop(trace, "target", "datahash"),
            _set(trace, "impact", "direction"),
            _set(trace, "abc", "target", "datahash"),
            _set(trace, 1, "extra"),
        ],
        "impact": [_drop(impact, "derived"), _set(impact, [trace["target"]], "derived")],
        "fingerprint": [
            _drop(docs["fingerprint"][0], 0, "iscc"),
            _drop(docs["fingerprint"][0], 1, "members"),
        ],
        "verify": [_set(docs["verify"][0], "vanished", 0, "status")],
        "runs": [_drop(docs["runs"][0], 0, "status"), _set(docs["runs"][0], "paused", 0, "status")],
        "show": [_drop(docs["show"][0], "steps"), _drop(docs["show"][1], "step", "run")],
    }
    for name, docs_ in broken.items():
        v = validator(name)
        for doc in docs_:
            with pytest.raises(ValidationError):
                v.validate(doc)
