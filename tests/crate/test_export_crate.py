"""``export crate`` on a chain recorded with ``iscc-lineage record``: what the crate says about
each file is checked against the files themselves (hashlib, iscc-sum, the fingerprint CLI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from crate_helpers import (
    BIN,
    ISCC_IRI,
    Project,
    data_entities,
    fingerprint_cli,
    flip,
    graph,
    ids,
    invoke,
    record_failed_run,
    sha256,
    types,
)

from iscc_lineage.cli import cli
from iscc_lineage.export.crate.place import external_rel
from iscc_lineage.store import Store

PRONOM = "https://www.nationalarchives.gov.uk/PRONOM/"
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5",
    "https://w3id.org/ro/wfrun/workflow/0.5",
    "https://w3id.org/ro/wfrun/provenance/0.5",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0",
}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")  # notes §2
DEPOSIT = ("--license", "CC-BY-4.0", "--author", "Jane Doe <0000-0002-1825-0097>")


def test_record_crate_describes_every_file(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), *DEPOSIT)
    doc = json.loads((out / "ro-crate-metadata.json").read_text())
    assert doc["@context"][:2] == [
        "https://w3id.org/ro/crate/1.1/context",
        "https://w3id.org/ro/terms/workflow-run/context",
    ]
    assert doc["@context"][2] == {"iscc": ISCC_IRI}
    g = graph(out)
    root = g["./"]
    assert set(ids(root["conformsTo"])) == PROFILES
    assert ids(root["license"]) == ["https://spdx.org/licenses/CC-BY-4.0"]
    assert ids(root["author"]) == ["https://orcid.org/0000-0002-1825-0097"]
    assert g["https://orcid.org/0000-0002-1825-0097"]["name"] == "Jane Doe"
    with Store(str(recorded.store), create=False) as store:
        [run] = store.runs()
    assert root["datePublished"] == run.ended  # the run's end, not the export time

    # No Snakefile: the main entity is a generated description of the recorded commands.
    main = g[ids(root["mainEntity"])[0]]
    assert {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= types(main)
    script = (out / main["@id"]).read_text()
    assert "results/table.csv" in script and "# (no command recorded" in script
    assert "scripts/plot.py results/figure.png" in script

    files = data_entities(g)
    # outside the workflow folder: described by reference, its folder not named
    outside = "#" + external_rel((recorded.outside / "ref.csv").as_posix())
    assert {
        "raw/img.tif",
        "results/table.csv",
        "results/figure.png",
        "results/tiles/",
        "results/figure-annotated.png",
        "scripts/plot.py",
        outside,
        "README.md",
        main["@id"],
    } == set(files)
    assert set(ids(root["hasPart"])) == set(files)
    assert not (out / "external").exists()  # nothing from outside is copied by default
    for eid, ent in files.items():
        path = out / eid.lstrip("#").rstrip("/")
        assert path.exists() == (eid != outside), eid
        pv = g[ids(ent["identifier"])[0]]
        assert pv["@id"] == "#iscc-" + ent["iscc"].removeprefix("ISCC:")
        assert (pv["@type"], pv["propertyID"], pv["value"]) == (
            "PropertyValue",
            ISCC_IRI,
            ent["iscc"],
        )
        if path.is_file():
            assert ent["contentSize"] == str(path.stat().st_size)
            assert ent["sha256"] == sha256(path)
    assert "alternateName" not in g[outside] or "/" not in g[outside]["alternateName"][:1]
    assert ent_format(g, "results/figure.png") == ("image/png", PRONOM + "fmt/13")
    assert ent_format(g, "raw/img.tif") == ("image/tiff", PRONOM + "fmt/353")
    assert ent_format(g, "results/table.csv") == ("text/csv", PRONOM + "x-fmt/18")
    assert g[PRONOM + "fmt/13"]["@type"] == "WebSite"

    tiles = json.loads(invoke("fingerprint", "--json", "--no-cache", "results/tiles"))[0]
    manifest = [g[i] for i in ids(files["results/tiles/"]["identifier"])]
    assert [pv["value"] for pv in manifest] == [tiles["iscc"], tiles["datahash"]]
    assert files["results/tiles/"]["contentSize"] == str(tiles["size"])

    readme = g["README.md"]
    assert ids(readme["about"]) == ["./"] and readme["encodingFormat"] == "text/markdown"
    assert "results/figure-annotated.png" in (out / "README.md").read_text()


def ent_format(g: dict[str, dict[str, Any]], eid: str) -> tuple[str, str]:
    mime, site = g[eid]["encodingFormat"]
    return mime, site["@id"]


def test_every_step_is_an_action_with_its_tool(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), *DEPOSIT)
    g = graph(out)
    jobs = {
        e["name"]: e
        for e in g.values()
        if e["@type"] == "CreateAction" and e["@id"].startswith("#job-")
    }
    assert set(jobs) == {"measure", "plot", "tiles", "annotate in Fiji"}
    for job in jobs.values():
        tool = g[ids(job["instrument"])[0]]
        assert tool["@type"] == "SoftwareApplication" and tool["name"] == job["name"]
        assert job["actionStatus"] == "http://schema.org/CompletedActionStatus"
        assert TIME.match(job["startTime"]) and TIME.match(job["endTime"])
        assert ids(job["agent"]) == ["https://orcid.org/0000-0002-1825-0097"]
    measure = jobs["measure"]
    params = [g[i] for i in ids(measure["object"]) if g[i]["@type"] == "PropertyValue"]
    assert [(p["name"], p["value"]) for p in params] == [("sigma", "2")]
    assert g[ids(params[0]["exampleOfWork"])[0]]["@type"] == "FormalParameter"
    assert set(ids(measure["result"])) == {"results/table.csv"}
    assert ids(g[ids(jobs["plot"]["instrument"])[0]]["mainEntity"]) == ["scripts/plot.py"]
    assert jobs["annotate in Fiji"]["description"] == "no command recorded"
    # the run: raw inputs in, final outputs out; every action is mentioned from the root
    run = g["#run-r1"]
    assert set(ids(run["result"])) == {"results/figure-annotated.png", "results/tiles/"}
    mentioned = set(ids(g["./"]["mentions"]))
    actions = {k for k, e in g.items() if str(e["@type"]).endswith("Action")}
    assert actions == mentioned
    assert set(ids(g["results/figure-annotated.png"]["isBasedOn"])) == {
        "raw/img.tif",
        "#" + external_rel((recorded.outside / "ref.csv").as_posix()),
    }


def test_iscc_of_every_file_is_what_fingerprint_gives(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), *DEPOSIT)
    files = {
        eid: e for eid, e in data_entities(graph(out)).items() if not eid.startswith("#")
    }  # shipped files (outside ones are referenced)
    paths = [out / eid.rstrip("/") for eid in files]
    got = fingerprint_cli(paths)
    assert {eid: got[str(out / eid.rstrip("/"))] for eid in files} == {
        eid: e["iscc"] for eid, e in files.items()
    }
    # and an independent implementation agrees on the files: iscc-sum --narrow
    plain = [p for p in paths if p.is_file()]
    res = subprocess.run(
        [str(BIN / "iscc-sum"), "--narrow", *map(str, plain)],
        capture_output=True,
        text=True,
        check=True,
    )
    by_path = {line.split(" *", 1)[1]: line.split(" *", 1)[0] for line in res.stdout.splitlines()}
    for p in plain:
        assert by_path[str(p)] == files[str(p.relative_to(out))]["iscc"]


def test_two_exports_are_identical(recorded: Project, tmp_path: Path) -> None:
    for name in ("a", "b"):
        invoke("export", "crate", str(tmp_path / name), *DEPOSIT)
        invoke("export", "crate", str(tmp_path / f"{name}.zip"), "--zip", *DEPOSIT)
    for f in ("ro-crate-metadata.json", "README.md", "workflow/recorded-steps.sh"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_out_is_never_overwritten_without_force(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    runner = CliRunner()
    res = runner.invoke(cli, ["export", "crate", str(out)])
    assert res.exit_code == 2 and "not empty" in res.output
    res = runner.invoke(cli, ["export", "crate", str(out), "--force"])
    assert res.exit_code == 2 and "refusing" in res.output  # not a crate: never deleted
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    crate = tmp_path / "crate"
    invoke("export", "crate", str(crate))
    (crate / "stale.txt").write_text("left from before")
    assert runner.invoke(cli, ["export", "crate", str(crate)]).exit_code == 2
    invoke("export", "crate", str(crate), "--force")
    assert not (crate / "stale.txt").exists() and (crate / "ro-crate-metadata.json").exists()
    zipped = tmp_path / "c.zip"
    invoke("export", "crate", str(zipped), "--zip")
    assert runner.invoke(cli, ["export", "crate", str(zipped), "--zip"]).exit_code == 2
    invoke("export", "crate", str(zipped), "--zip", "--force")
    res = runner.invoke(cli, ["export", "crate", str(tmp_path / "no" / "such" / "crate")])
    assert res.exit_code == 2 and "no such folder" in res.output
    assert not (tmp_path / "no").exists()


def tree(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*")}


def test_paths_that_would_escape_stay_inside(recorded: Project, tmp_path: Path) -> None:
    """Locations outside the working directory, with ``..`` or relative, land under
    ``external/`` or in the project's tree, never outside OUT."""
    (tmp_path / "sneaky.txt").write_text("outside the project")
    (recorded.root / "rel.txt").write_text("relative in the store")
    with Store(str(recorded.store)) as store:
        from iscc_lineage.codes import fingerprint_file
        from iscc_lineage.model import Artifact, Step

        fp_out = fingerprint_file(tmp_path / "sneaky.txt")
        fp_rel = fingerprint_file(recorded.root / "rel.txt")
        run = store.runs()[0]
        weird = f"{recorded.root}/results/../../sneaky.txt"  # not normalised, leaves proj
        store.insert_step(
            Step("weird-step", run.id, "weird", ended="2030-01-01T00:00:00.000+00:00"),
            [Artifact(weird, fp_out), Artifact("../proj/rel.txt", fp_rel)],
            [Artifact("../../../../../../../tmp/x.txt", fp_rel)],
        )
    before = tree(tmp_path)
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), "--data", "all", "--include-outside")
    assert tree(tmp_path) - before == tree(out) | {str(out)}
    g = graph(out)
    assert all(".." not in k.split("/") for k in g)
    sneaky = external_rel((tmp_path / "sneaky.txt").as_posix())
    assert (out / sneaky).read_text() == "outside the project"
    assert (out / "rel.txt").read_text() == "relative in the store"


def test_data_none_references_everything_with_its_iscc(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), "--data", "none")
    g = graph(out)
    img = g["#raw/img.tif"]
    assert img["alternateName"] == "raw/img.tif"  # relative to the workflow folder
    assert img["sha256"] == sha256(recorded.root / "raw" / "img.tif")  # small: still summed
    assert (
        img["iscc"]
        == fingerprint_cli([recorded.root / "raw/img.tif"])[str(recorded.root / "raw/img.tif")]
    )
    assert not (out / "raw").exists()
    assert "scripts/plot.py" in g and (out / "scripts" / "plot.py").exists()  # code ships
    assert "#raw/img.tif" in ids(g["./"]["hasPart"])
    web = tmp_path / "web"
    invoke("export", "crate", str(web), "--data", "none", "--data-url", "https://example.org/d/")
    gw = graph(web)
    assert "https://example.org/d/raw/img.tif" in gw
    assert "https://example.org/d/results/tiles/" in gw
    assert gw["https://example.org/d/raw/img.tif"]["iscc"] == img["iscc"]
    assert "https://example.org/d/raw/img.tif" in ids(gw["./"]["hasPart"])


def test_max_size_keeps_large_files_out(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), "--max-size", "1kB", "--no-sha256")
    g = graph(out)
    size = (recorded.root / "raw" / "img.tif").stat().st_size
    assert size > 1000 and "#raw/img.tif" in g and not (out / "raw" / "img.tif").exists()
    assert "--max-size" in g["#raw/img.tif"]["description"]
    assert "results/table.csv" in g and "sha256" not in g["results/table.csv"]


def test_for_file_exports_only_its_lineage(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), "--for", "results/figure-annotated.png")
    g = graph(out)
    names = {
        e["name"]
        for e in g.values()
        if e["@type"] == "CreateAction" and e["@id"].startswith("#job-")
    }
    assert names == {"measure", "plot", "annotate in Fiji"}
    assert "results/tiles/" not in g and "results/figure-annotated.png" in g
    assert g["./"]["name"] == "Provenance of figure-annotated.png"
    res = CliRunner().invoke(cli, ["export", "crate", str(tmp_path / "x"), "--for", "raw/img.tif"])
    assert res.exit_code == 2 and "no recorded step generated" in res.output
    res = CliRunner().invoke(
        cli, ["export", "crate", str(tmp_path / "x"), "--for", "raw/img.tif", "--run", "r1"]
    )  # both: that run's part
    assert res.exit_code == 2 and "no recorded step of the given runs" in res.output
    with Store(str(recorded.store)) as store:
        from iscc_lineage.recorder import Recorder

        Recorder(store).begin_run(workdir=recorded.root, run_id="empty")
    res = CliRunner().invoke(cli, ["export", "crate", str(tmp_path / "x")])  # newest: empty
    assert res.exit_code == 2 and "no recorded steps" in res.output
    assert not (tmp_path / "x").exists()


def test_verify_crate_flags_a_one_byte_change(recorded: Project, tmp_path: Path) -> None:
    out = tmp_path / "crate"
    invoke("export", "crate", str(out))
    runner = CliRunner()
    assert runner.invoke(cli, ["verify", "--crate", str(out)]).exit_code == 0
    flip(out / "results" / "table.csv")
    res = runner.invoke(cli, ["verify", "--crate", str(out), "--json"])
    assert res.exit_code == 1
    bad = [c for c in json.loads(res.stdout) if c["status"] not in ("ok", "unreachable")]
    assert [(c["id"], c["status"]) for c in bad] == [("results/table.csv", "changed")]
    assert "ISCC differs" in bad[0]["detail"] and "SHA-256 differs" in bad[0]["detail"]
    (out / "results" / "figure.png").unlink()
    res = runner.invoke(cli, ["verify", "--crate", str(out), "--json"])
    assert {c["id"]: c["status"] for c in json.loads(res.stdout)}["results/figure.png"] == "missing"
    flip(out / "results" / "table.csv")  # back as it was; a renamed tile breaks the folder
    (out / "results" / "figure.png").write_bytes(
        (recorded.root / "results/figure.png").read_bytes()
    )
    os.rename(out / "results/tiles/t1.bin", out / "results/tiles/t9.bin")
    res = runner.invoke(cli, ["verify", "--crate", str(out), "--json"])
    assert res.exit_code == 1
    [bad] = [c for c in json.loads(res.stdout) if c["status"] not in ("ok", "unreachable")]
    assert bad["id"] == "results/tiles/" and "manifest" in bad["detail"]


def test_verify_crate_zip_and_reachable_references(recorded: Project, tmp_path: Path) -> None:
    import zipfile

    zipped = tmp_path / "crate.zip"
    invoke("export", "crate", str(zipped), "--zip", "--data", "none")
    runner = CliRunner()
    res = runner.invoke(cli, ["verify", "--crate", str(zipped), "--json"])
    assert res.exit_code == 0, res.output
    checks = {c["id"]: c for c in json.loads(res.stdout)}
    assert checks["#raw/img.tif"]["status"] == "unreachable"  # never read outside the crate
    local = ["--local-root", str(recorded.root)]  # unless asked to, under the workflow folder
    res = runner.invoke(cli, ["verify", "--crate", str(zipped), "--json", *local])
    assert res.exit_code == 0, res.output
    checks = {c["id"]: c for c in json.loads(res.stdout)}
    assert checks["#raw/img.tif"]["where"] == "local" and checks["#raw/img.tif"]["status"] == "ok"
    flip(recorded.root / "raw" / "img.tif", at=4000)
    res = runner.invoke(cli, ["verify", "--crate", str(zipped), "--json", *local])
    assert res.exit_code == 1
    assert {c["id"] for c in json.loads(res.stdout) if c["status"] == "changed"} == {"#raw/img.tif"}
    flip(recorded.root / "raw" / "img.tif", at=4000)
    altered = tmp_path / "altered.zip"  # the same crate with one byte of the script changed
    with zipfile.ZipFile(zipped) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = bytearray(src.read(info))
            if info.filename == "scripts/plot.py":
                data[0] ^= 0x01
            dst.writestr(info, bytes(data))
    res = runner.invoke(cli, ["verify", "--crate", str(altered), "--json"])
    assert res.exit_code == 1
    assert [c["id"] for c in json.loads(res.stdout) if c["status"] == "changed"] == [
        "scripts/plot.py"
    ]


def test_verify_crate_rejects_what_is_not_a_crate(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(cli, ["verify", "--crate", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "not a readable RO-Crate" in res.output
    res = CliRunner().invoke(cli, ["verify", "--crate", str(tmp_path), "--run", "x"])
    assert res.exit_code == 2


def test_two_runs_and_a_failed_step(recorded: Project, tmp_path: Path) -> None:
    record_failed_run(recorded)
    out = tmp_path / "crate"
    invoke("export", "crate", str(out), "--run", "r1", "--run", "r2")
    g = graph(out)
    assert g["#run-r1"]["actionStatus"] == "http://schema.org/CompletedActionStatus"
    assert g["#run-r2"]["actionStatus"] == "http://schema.org/FailedActionStatus"
    [crash] = [e for e in g.values() if e.get("name") == "crash" and e["@type"] == "CreateAction"]
    assert crash["actionStatus"] == "http://schema.org/FailedActionStatus"
    assert crash["error"] == "exit status 1"
    assert "result" not in crash  # a failed step's output is partial: never a result
    assert ids(crash["object"]) == ["raw/img.tif"]  # one entity for the content both runs used
    # the newest run's workflow is the main entity: one generated description covers both
    assert ids(g["./"]["mainEntity"]) == ["workflow/recorded-steps.sh"]
    assert ids(g["#run-r2"]["instrument"]) == ["workflow/recorded-steps.sh"]


def test_empty_folder_and_names_that_need_escaping(recorded: Project, tmp_path: Path) -> None:
    import sys

    invoke(
        "record",
        "--run",
        "r1",
        "-n",
        "prepare",
        "-o",
        "results/empty",
        "-o",
        "results/a b#1.csv",
        "--",
        sys.executable,
        "-c",
        "import os; os.mkdir('results/empty'); open('results/a b#1.csv', 'w').write('x')",
    )
    for out, args in ((tmp_path / "c", ()), (tmp_path / "c.zip", ("--zip",))):
        invoke("export", "crate", str(out), *args)
        res = CliRunner().invoke(cli, ["verify", "--crate", str(out), "--json"])
        assert res.exit_code == 0, res.output
        checks = {c["id"]: c["status"] for c in json.loads(res.stdout)}
        assert checks["results/empty/"] == "ok"
        assert checks["results/a%20b%231.csv"] == "ok"  # an IRI path: percent-encoded
    assert (tmp_path / "c" / "results" / "empty").is_dir()
    assert (tmp_path / "c" / "results" / "a b#1.csv").read_text() == "x"
