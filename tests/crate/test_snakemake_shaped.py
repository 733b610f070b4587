"""A Snakemake-shaped store written through the Recorder API (the capture contract: Snakefile,
include: rule files, config files, conda env, container, git, named params), exported: the
workflow code travels with the crate, and a Snakefile edited after the run says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crate_helpers import Validate, data_entities, failures, graph, ids, invoke, sha256

from iscc_lineage.recorder import Recorder
from iscc_lineage.store import Store

COMMIT = "0123456789abcdef0123456789abcdef01234567"
PERMALINK = f"https://github.com/org/wf/blob/{COMMIT}/Snakefile"


@pytest.fixture
def snakemake_store(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A run of ``wf/Snakefile`` (outside the working directory ``proj``), one job of rule
    ``segment``; returns (store, workdir, workflow folder)."""
    wf, proj = tmp_path / "wf", tmp_path / "proj"
    for d in (wf / ".git", wf / "rules", wf / "scripts", wf / "envs", proj / "raw"):
        d.mkdir(parents=True)  # wf/ is a git checkout (its root: no git objects are read)
    (wf / "Snakefile").write_text('configfile: "config.yaml"\ninclude: "rules/segment.smk"\n')
    (wf / "rules" / "segment.smk").write_text('rule segment:\n    script: "../scripts/seg.py"\n')
    (wf / "scripts" / "seg.py").write_text("print('segmenting')\n")
    (wf / "envs" / "env.yaml").write_text("dependencies:\n  - scikit-image\n")
    (wf / "config.yaml").write_text("sigma: 2.0\n")
    (proj / "raw" / "a.tif").write_bytes(bytes(range(256)) * 40)
    (proj / "mask.tif").write_bytes(bytes(range(255, -1, -1)) * 40)
    store_path = tmp_path / "lineage.db"
    with Store(str(store_path)) as store:
        rec = Recorder(store)
        snakefile, config = rec.fingerprint(wf / "Snakefile"), rec.fingerprint(wf / "config.yaml")
        run = rec.begin_run(
            workdir=proj,
            workflow=(wf / "Snakefile").as_posix(),
            command="snakemake -c1",
            run_id="f" * 32,
            info={
                "engine": "snakemake",
                "snakemake_version": "9.27.1",
                "snakefile_datahash": snakefile.datahash,
                "configfiles": [
                    {"path": (wf / "config.yaml").as_posix(), "datahash": config.datahash}
                ],
                "git": {"commit": COMMIT, "dirty": False, "remote": "git@github.com:org/wf.git"},
            },
        )
        rec.record_step(
            run,
            "segment",
            process="segment",
            inputs=[proj / "raw" / "a.tif"],
            outputs=[proj / "mask.tif"],
            code=wf / "scripts" / "seg.py",
            params={"sigma": 2.0, "method": "otsu", "iterations": 3},
            environment={
                "conda_env_file": (wf / "envs" / "env.yaml").as_posix(),
                "conda_env_datahash": rec.fingerprint(wf / "envs/env.yaml").datahash,
                "container_img_url": "docker://quay.io/biocontainers/skimage:0.22",
            },
            info={"jobid": 1, "kind": "script", "wildcards": {"sample": "a"}},
            step_id="1" * 32,
        )
        rec.finish_run(run)
    return store_path, proj, wf


def test_workflow_code_travels_with_the_crate(
    snakemake_store: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    store, proj, wf = snakemake_store
    out = tmp_path / "crate"
    invoke("--store", str(store), "export", "crate", str(out))
    g = graph(out)
    shipped = {
        "workflow/Snakefile": wf / "Snakefile",
        "workflow/rules/segment.smk": wf / "rules/segment.smk",
        "workflow/scripts/seg.py": wf / "scripts/seg.py",
        "workflow/envs/env.yaml": wf / "envs/env.yaml",
        "workflow/config.yaml": wf / "config.yaml",
        "raw/a.tif": proj / "raw/a.tif",
        "mask.tif": proj / "mask.tif",
    }
    for eid, src in shipped.items():
        assert (out / eid).read_bytes() == src.read_bytes(), eid
        assert g[eid]["sha256"] == sha256(src)
    main = g["workflow/Snakefile"]
    assert main["version"] == COMMIT[:12] and "description" not in main
    run = g["#run-" + "f" * 32]
    assert ids(run["object"]) == ["raw/a.tif", "workflow/config.yaml"]
    assert ids(run["result"]) == ["mask.tif"]
    assert main["url"] == f"{PERMALINK}"
    tool = g[f"{PERMALINK}#rule-segment"]  # an absolute id: the rule at the commit that ran
    assert tool["url"] == PERMALINK
    assert ids(tool["mainEntity"]) == ["workflow/scripts/seg.py"]
    assert ids(tool["softwareRequirements"]) == ["workflow/envs/env.yaml"]
    kinds = {g[i]["name"]: g[i]["additionalType"] for i in ids(tool["input"])}
    assert kinds == {"sigma": "Float", "method": "Text", "iterations": "Integer"}
    job = g["#job-" + "1" * 32]
    assert job["name"] == "segment (sample=a)"
    values = {
        g[i]["name"]: g[i]["value"] for i in ids(job["object"]) if g[i]["@type"] == "PropertyValue"
    }
    assert values == {"sigma": 2.0, "method": "otsu", "iterations": 3}
    image = g[ids(job["containerImage"])[0]]
    assert (image["@type"], image["registry"], image["name"], image["tag"]) == (
        "ContainerImage",
        "quay.io",
        "biocontainers/skimage",
        "0.22",
    )
    engine = next(e for e in g.values() if e["@type"] == "OrganizeAction")
    assert ids(engine["instrument"]) == ["https://pypi.org/project/snakemake/9.27.1/"]


def test_a_snakefile_edited_after_the_run_says_so(
    snakemake_store: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    store, _, wf = snakemake_store
    (wf / "Snakefile").write_text((wf / "Snakefile").read_text() + "# edited later\n")
    out = tmp_path / "crate"
    invoke("--store", str(store), "export", "crate", str(out))
    main = graph(out)["workflow/Snakefile"]
    assert "changed after the run" in main["description"]
    assert "url" not in main  # the permalink would show other code than what ran
    assert (out / "workflow" / "Snakefile").read_text().endswith("# edited later\n")
    (wf / "Snakefile").unlink()  # gone altogether: the recorded steps describe the run
    invoke("--store", str(store), "export", "crate", str(out), "--force")
    g = graph(out)
    assert ids(g["./"]["mainEntity"]) == ["workflow/recorded-steps.sh"]
    assert "workflow/Snakefile" not in data_entities(g)


@pytest.mark.e2e
def test_snakemake_shaped_crate_is_valid(
    snakemake_store: tuple[Path, Path, Path], tmp_path: Path, validate: Validate
) -> None:
    store, _, _ = snakemake_store
    out = tmp_path / "crate"
    invoke(
        "--store",
        str(store),
        "export",
        "crate",
        str(out),
        "--license",
        "CC0-1.0",
        "--author",
        "0000-0002-1825-0097",
        "--affiliation",
        "https://ror.org/04vnq7t77",
        "--publisher",
        "https://ror.org/04vnq7t77",
    )
    report = validate(out)
    assert report["passed"], failures(report)
    # with a git remote, ORCID, affiliation and publisher: only the finding notes §1.2 calls
    # unavoidable is left (the main workflow's id is its path in the crate)
    report = validate(out, level="RECOMMENDED")
    assert {i["check"] for i in report["issues"]} == {"process-run-crate-0.5_5.1"}, failures(report)
    assert {i["entity"] for i in report["issues"]} == {
        "http://schema.org/SoftwareSourceCode",
        "https://bioschemas.org/ComputationalWorkflow",
    }
