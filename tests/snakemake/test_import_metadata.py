"""Reading Snakemake's metadata records (``iscc_lineage.snakemake.metadata``) from real runs.

The fixtures are real ``.snakemake/`` directories (``tests/vectors/snakemake-*``, recorded by
``tests/vectors/build_snakemake_fixtures.py``); expected values come from the workflow's own
rules, from Snakemake's JSON files read directly, and from the other backend of the same run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

from import_vectors import LONG, OUTPUTS, RAW, Workdir

from iscc_lineage.snakemake.metadata import MetadataRecord, iter_records, key_path, read_record

Vector = Callable[[str], Workdir]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def comparable(r: MetadataRecord) -> tuple[object, ...]:
    """What two runs of the same workflow share (not times, job hashes or the code text)."""
    return (
        r.output,
        r.rule,
        r.input,
        r.log,
        r.shellcmd,
        r.params,
        r.container_img_url,
        r.incomplete,
        tuple(sorted(r.input_checksums.items())),
    )


def test_file_backend_reads_every_record_of_the_run(vector: Vector) -> None:
    wd = vector("plain")
    recs = {r.output: r for r in iter_records(wd.path)}
    assert set(recs) == OUTPUTS  # the temp outputs' records outlive the files
    for out, r in recs.items():
        raw = wd.raw_record(out)
        assert (r.rule, r.starttime, r.endtime, r.job_hash) == (
            raw["rule"],
            raw["starttime"],
            raw["endtime"],
            raw["job_hash"],
        )
        assert not r.incomplete
    assert recs["work/a.scaled"].input_checksums == {"raw/a.txt": sha(RAW["raw/a.txt"])}
    assert recs["work/a.scaled"].params == ("3",)
    assert recs["work/a.scaled"].log == ("logs/scale_a.log",)
    assert recs["results/summary.txt"].input == ("results/a.sum", "results/b.sum")
    assert recs["results/a.sum"].container_img_url == "docker://busybox:1.36"
    assert recs["results/a.sum"].software_stack_hash == hashlib.md5(b"").hexdigest()


def test_db_backend_holds_the_same_records_as_the_file_backend(vector: Vector) -> None:
    files, db = vector("plain"), vector("db")
    assert not (db / ".snakemake/metadata").exists()
    assert (db / ".snakemake/metadata.db").is_file()
    from_db = sorted(map(comparable, iter_records(db.path)))
    assert from_db == sorted(map(comparable, iter_records(files.path)))
    assert len(from_db) == len(OUTPUTS)
    for out in (LONG, "results/summary.txt", "work/b.scaled"):
        r = read_record(db.path, out)
        assert (
            r is not None
            and r.output == out
            and comparable(r) == comparable(MetadataRecord.from_json(out, files.raw_record(out)))
        )
    assert read_record(db.path, "results/nothing.txt") is None


def test_read_record_finds_each_output_and_only_those(vector: Vector) -> None:
    wd = vector("plain")
    for out in OUTPUTS:
        r = read_record(wd.path, out)
        assert r is not None, out
        assert (r.output, r.rule, r.endtime) == (
            out,
            wd.raw_record(out)["rule"],
            wd.raw_record(out)["endtime"],
        )
    assert read_record(wd.path, "raw/a.txt") is None  # an input: no record


def test_long_record_name_is_split_like_snakemake_does(vector: Vector) -> None:
    # base64 of the 208-character output is 280 characters: more than NAME_MAX (255).
    wd = vector("plain")
    meta = wd / ".snakemake/metadata"
    (written,) = [p for p in meta.rglob("*") if p.is_file() and len(p.relative_to(meta).parts) > 1]
    assert key_path(meta, LONG) == written
    r = read_record(wd.path, LONG)
    assert r is not None and r.rule == "long"
    short = key_path(meta, "results/a.sum")
    assert short == meta / base64.urlsafe_b64encode(b"results/a.sum").decode()
    assert short.is_file()


def test_unreadable_records_are_skipped_not_fatal(vector: Vector) -> None:
    wd = vector("plain")
    meta = wd / ".snakemake/metadata"
    key_path(meta, "results/a.sum").write_text('{"rule": "stats", "inp')  # cut short
    (meta / "not base64 !").write_text("{}")
    recs = {r.output for r in iter_records(wd.path)}
    assert recs == OUTPUTS - {"results/a.sum"}
    assert read_record(wd.path, "results/a.sum") is None


def test_broken_database_yields_no_records(vector: Vector) -> None:
    wd = vector("db")
    (wd / ".snakemake/metadata.db").write_bytes(b"not a database" * 100)
    assert list(iter_records(wd.path)) == []
    assert read_record(wd.path, "results/a.sum") is None


def test_conda_environment_is_decoded_from_base64() -> None:
    yaml = "channels: [conda-forge]\ndependencies: [python=3.11]\n"
    rec = MetadataRecord.from_json(
        "o", {"rule": "r", "conda_env": base64.b64encode(yaml.encode()).decode()}
    )
    assert rec.conda_env == yaml
    for bad in ("a", base64.b64encode(b"\xff\xfe").decode()):  # bad padding, not UTF-8
        assert MetadataRecord.from_json("o", {"rule": "r", "conda_env": bad}).conda_env is None


def test_records_outside_a_workdir(tmp_path: Path) -> None:
    assert list(iter_records(tmp_path)) == []
    assert read_record(tmp_path, "x") is None
