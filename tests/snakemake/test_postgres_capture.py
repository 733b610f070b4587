"""Live capture into one lab-wide PostgreSQL store: four Snakemake runs at once, and readers.

Four users' runs (here: four working directories) record into the same database while two
readers list runs and walk impact; no record may be lost, no run left ``running``, no reader
may fail. Expected values come from the workflow (8 recorded jobs per run) and from iscc-core.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from services import PostgresServer

from iscc_lineage import impact, open_store

pytestmark = pytest.mark.e2e

FAN = Path(__file__).parents[1] / "workflows" / "fan"
RAW = {"a": "1\n2\n", "b": "3\n", "c": "4\n5\n6\n"}


def test_four_snakemake_runs_and_readers_share_one_postgres_store(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = postgres_server.new_database("lab")
    url = postgres_server.url(db, password=None)  # the password comes from PGPASSWORD
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    env["PGPASSWORD"] = postgres_server.password
    works = []
    for k in range(4):
        work = tmp_path / f"user{k}"
        (work / "raw").mkdir(parents=True)
        for s, text in RAW.items():
            (work / "raw" / f"{s}.txt").write_text(text)
        works.append(work)
    raw_a = str(ic.gen_instance_code_v0(io.BytesIO(RAW["a"].encode()), bits=256)["datahash"])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--logger",
                "iscc",
                "--logger-iscc-store",
                url,
                "-s",
                str(FAN / "Snakefile"),
                "-c1",
                "--directory",
                str(w),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for w in works
    ]
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()
    reader_url = postgres_server.url(db)

    def reader() -> None:
        try:
            with open_store(reader_url) as st:
                while not stop.is_set():
                    st.runs()
                    if st.content(raw_a) is not None:
                        seen.append(len(impact(st, raw_a).steps))
                    stop.wait(0.05)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        outs = [p.communicate(timeout=400)[0] for p in procs]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert [p.returncode for p in procs] == [0] * 4, [o[-2000:] for o in outs]
    assert not any("lineage capture failed" in o for o in outs), outs
    assert not errors, errors
    # (the plugin may spool and write late: readers need not see steps during the runs)
    with open_store(reader_url, create=False) as st:
        runs = st.runs()
        assert sorted(r.workdir for r in runs) == sorted(w.as_posix() for w in works)
        assert {r.status for r in runs} == {"finished"}
        assert [r.steps for r in runs] == [8] * 4
        # every run's figure recorded with its content, the same in all four
        figures = {p: h for p, h in st.observations() if p.endswith("/figure.txt")}
        assert sorted(figures) == sorted((w / "figure.txt").as_posix() for w in works)
        assert set(figures.values()) == {
            str(
                ic.gen_instance_code_v0(
                    io.BytesIO((works[0] / "figure.txt").read_bytes()), bits=256
                )["datahash"]
            )
        }
        # raw/a.txt (the same content in all four working directories) feeds scale and
        # measure and figure and tree of every run: 4 x 4 recorded steps downstream (impact
        # itself folds the identical re-runs into one step each)
        assert len(st.walk(raw_a, "impact")) == 16
        assert {s.name for s in impact(st, raw_a).steps} == {"figure", "measure", "scale", "tree"}
