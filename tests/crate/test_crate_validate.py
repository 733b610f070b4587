"""Exported crates through the real rocrate-validator (Provenance Run Crate 0.5, offline),
runcrate and ro-crate-py as readers, and the demo pipeline's crates checked file by file.
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner
from crate_helpers import (
    BIN,
    ISCC_IRI,
    Demo,
    Project,
    Validate,
    data_entities,
    failures,
    fingerprint_cli,
    flip,
    graph,
    has_tool,
    ids,
    invoke,
    record_failed_run,
    sha256,
)

from iscc_lineage.cli import cli

pytestmark = pytest.mark.e2e

DEPOSIT = (
    "--license",
    "CC-BY-4.0",
    "--author",
    "Jane Doe <0000-0002-1825-0097>",
    "--affiliation",
    "https://ror.org/04vnq7t77 University of Stuttgart",
    "--publisher",
    "https://ror.org/04vnq7t77 University of Stuttgart",
)
#: RECOMMENDED findings left on the demo crate: the demo's git checkout has no remote, so the
#: Snakefile has no web url and its rules no absolute ids (with a remote only the main
#: workflow's id is left: test_snakemake_shaped.py).
ACCEPTED = {"process-run-crate-0.5_3.2", "process-run-crate-0.5_5.1"}


def export(store: Path, out: Path, *args: str) -> Path:
    invoke("--store", str(store), "export", "crate", str(out), *DEPOSIT, *args)
    return out


def test_record_crate_is_valid(recorded: Project, tmp_path: Path, validate: Validate) -> None:
    out = export(recorded.store, tmp_path / "crate")
    report = validate(out)
    assert report["passed"], failures(report)
    record_failed_run(recorded)  # a second run, failed: both runs in one zip, data by reference
    zipped = export(
        recorded.store,
        tmp_path / "crate.zip",
        "--zip",
        "--data",
        "none",
        "--run",
        "r1",
        "--run",
        "r2",
    )
    report = validate(zipped)
    assert report["passed"], failures(report)


@pytest.fixture(scope="module")
def demo_crate(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(demo.store, tmp_path_factory.mktemp("demo-crate") / "crate")


def test_demo_crate_is_valid(demo_crate: Path, validate: Validate) -> None:
    report = validate(demo_crate)
    assert report["passed"], failures(report)


def test_demo_crate_describes_the_pipeline(demo: Demo, demo_crate: Path) -> None:
    g = graph(demo_crate)
    main = g[ids(g["./"]["mainEntity"])[0]]
    assert main["@id"] == "workflow/Snakefile" and main["name"] == "bioimage-demo"
    assert ids(main["programmingLanguage"]) == [
        "https://w3id.org/workflowhub/workflow-ro-crate#snakemake"
    ]
    rules = {g[i]["name"] for i in ids(main["hasPart"])}
    assert rules == {"acquire", "correct", "segment", "to_zarr", "measure", "summary", "panel"}
    segment = g["workflow/Snakefile#rule-segment"]
    assert ids(segment["mainEntity"]) == ["workflow/scripts/segment.py"]
    declared, python, *dists = ids(segment["softwareRequirements"])
    assert declared == "workflow/envs/demo.yaml"  # the env YAML, declared (conda was not used)
    # what ran: this interpreter and its distributions, with versions
    assert g[python]["softwareVersion"] == platform.python_version()
    # (Snakemake itself is the engine's entity, with its "version")
    ran = {g[i]["name"]: g[i].get("softwareVersion", g[i].get("version")) for i in dists}
    assert ran["numpy"] == version("numpy") and ran["scikit-image"] == version("scikit-image")
    assert f"https://pypi.org/project/numpy/{version('numpy')}/" in dists
    # every code file a step ran is shipped: the shell-called script, the imported helper
    acquire = g["workflow/Snakefile#rule-acquire"]
    assert set(ids(acquire["hasPart"])) == {
        "workflow/scripts/acquire.py",
        "workflow/scripts/bioimage_io.py",
    }
    assert ids(segment["hasPart"]) == ["workflow/scripts/bioimage_io.py"]
    jobs = [e for e in g.values() if e["@type"] == "CreateAction" and e["@id"].startswith("#job")]
    assert len(jobs) == 17
    controls = [e for e in g.values() if e["@type"] == "ControlAction"]
    assert sorted(len(ids(c["object"])) for c in controls) == [1, 1, 3, 3, 3, 3, 3]
    [engine] = [e for e in g.values() if e["@type"] == "OrganizeAction"]
    assert g[ids(engine["instrument"])[0]]["name"] == "Snakemake"
    # the temporary corrected images are gone: referenced, with their ISCC
    for s in ("s01", "s02", "s03"):
        ref = g[f"#work/corrected/{s}.tif"]
        assert ref["iscc"].startswith("ISCC:KUA") and "temporary" in ref["description"]
        assert ids(g[f"results/zarr/{s}.ome.zarr/"]["identifier"])[1].startswith("#datahash-")
    assert set(ids(g["results/figures/summary.png"]["isBasedOn"])) == {
        "raw/s01.tif",
        "raw/s02.tif",
        "raw/s03.tif",
    }


def test_demo_iscc_is_what_fingerprint_gives(demo: Demo, demo_crate: Path) -> None:
    """Every file entity, shipped or referenced, against an independent fingerprint run."""
    files = {k: e for k, e in data_entities(graph(demo_crate)).items() if "iscc" in e}
    where = {
        k: demo_crate / k.rstrip("/") if not k.startswith("#") else Path(e["alternateName"])
        for k, e in files.items()
    }
    reachable = {k: p for k, p in where.items() if p.exists()}
    assert len(reachable) == len(files) - 3  # all but the three deleted temp files
    got = fingerprint_cli(list(reachable.values()))
    assert {k: got[str(p)] for k, p in reachable.items()} == {
        k: files[k]["iscc"] for k in reachable
    }
    for k, p in reachable.items():
        pv = graph(demo_crate)[ids(files[k]["identifier"])[0]]
        assert (pv["propertyID"], pv["value"]) == (ISCC_IRI, files[k]["iscc"])
        if p.is_file() and not k.startswith("#"):
            assert files[k]["sha256"] == sha256(p)
    # the recorded raw image in the working directory is the one shipped
    assert files["raw/s01.tif"]["iscc"] == got[str(demo_crate / "raw/s01.tif")]
    assert sha256(demo.workdir / "raw/s01.tif") == sha256(demo_crate / "raw/s01.tif")


def test_demo_for_figure_is_valid_and_only_its_lineage(
    demo: Demo, tmp_path: Path, validate: Validate
) -> None:
    out = tmp_path / "summary.zip"
    invoke(
        "--store",
        str(demo.store),
        "export",
        "crate",
        str(out),
        "--zip",
        *DEPOSIT,
        "--for",
        str(demo.workdir / "results/figures/summary.png"),
    )
    report = validate(out)
    assert report["passed"], failures(report)
    res = CliRunner().invoke(cli, ["verify", "--crate", str(out), "--json"])
    assert res.exit_code == 0, res.output
    shipped = {c["id"] for c in json.loads(res.stdout) if c["where"] == "payload"}
    assert "results/figures/summary.png" in shipped
    assert "results/figures/panel.png" not in shipped
    assert not any(i.startswith("results/zarr/") for i in shipped)
    assert {"raw/s01.tif", "raw/s02.tif", "raw/s03.tif", "workflow/scripts/summary.py"} <= shipped


def test_demo_crate_verify_flags_a_changed_figure(demo_crate: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_crate, copy)
    assert CliRunner().invoke(cli, ["verify", "--crate", str(copy)]).exit_code == 0
    flip(copy / "results" / "figures" / "panel.png", at=100)
    res = CliRunner().invoke(cli, ["verify", "--crate", str(copy), "--json"])
    assert res.exit_code == 1
    assert [c["id"] for c in json.loads(res.stdout) if c["status"] == "changed"] == [
        "results/figures/panel.png"
    ]


def test_demo_recommended_findings_are_the_known_ones(demo_crate: Path, validate: Validate) -> None:
    report = validate(demo_crate, level="RECOMMENDED")
    found = {i["check"] for i in report["issues"]}
    assert found <= ACCEPTED, failures(report)
    workflow_ids = {
        i["entity"] for i in report["issues"] if i["check"] == "process-run-crate-0.5_3.2"
    }
    assert workflow_ids == {"./workflow/Snakefile"}  # every rule has its url


def test_ro_crate_py_reads_the_crate_back(demo_crate: Path) -> None:
    from rocrate.rocrate import ROCrate

    crate = ROCrate(demo_crate)
    assert crate.mainEntity.id == "workflow/Snakefile"
    fig = crate.get("results/figures/summary.png")
    assert fig["identifier"]["propertyID"] == ISCC_IRI
    assert fig["identifier"]["value"] == fig["iscc"]


@pytest.mark.skipif(not has_tool("runcrate"), reason="runcrate is not installed")
def test_runcrate_report_reads_the_crate(demo_crate: Path) -> None:
    res = subprocess.run(
        [str(BIN / "runcrate"), "report", str(demo_crate)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("action: #job-") == 17
    assert "step: workflow/Snakefile#step-segment" in res.stdout
