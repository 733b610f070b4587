"""Code, params and software capture on real ``snakemake --logger iscc`` runs.

tests/workflows/code/ runs code every way a rule can: a ``run:`` block importing a workflow
package, a shell-called Python script, an R script, a bash script, an ImageJ macro file, a
``script:`` importing a local module, and a matplotlib SVG (which carries its creation date).
Expected contents are computed here with iscc-core from the files themselves; expected params
are the Snakefile's; distributions come from importlib.metadata of this interpreter.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from iscc_lineage.model import Run, Step
from iscc_lineage.store import Store

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("Rscript") is None,
        reason="Rscript not installed (apt-get install r-base-core; .ci/run does)",
    ),
]

WORKFLOW = Path(__file__).parents[1] / "workflows" / "code"
SCHEMAS = Path(__file__).parents[2] / "schemas"


def valid(name: str, doc: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(doc))
    assert not errors, errors[0].message


def datahash(path: Path) -> str:
    return str(ic.gen_instance_code_v0(io.BytesIO(path.read_bytes()), bits=256)["datahash"])


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    e["PATH"] = os.path.dirname(sys.executable) + os.pathsep + e.get("PATH", "")
    return e


def snakemake(work: Path, *args: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--logger", "iscc", "-c2", *args],
        cwd=work,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iscc_lineage", *args],
        cwd=work,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("code") / "wf"
    shutil.copytree(WORKFLOW, work)
    snakemake(work)
    return work


def recorded(work: Path) -> tuple[Run, dict[str, Step]]:
    with Store(str(work / ".iscc-lineage" / "lineage.db"), create=False) as store:
        run = store.runs()[-1]
        return run, {s.name: s for s in store.steps_of_run(run.id)}


def code_of(step: Step) -> dict[str, tuple[str | None, str | None]]:
    """Recorded code files of a step: path -> (role note, datahash)."""
    return {e.path: (e.note, e.datahash) for e in step.code_files}


def test_shell_called_scripts_and_macro_recorded_by_content(work: Path) -> None:
    _, steps = recorded(work)
    for rule, files in {
        "double": ["scripts/double.py"],
        "count_r": ["scripts/count.R"],
        "words_bash": ["scripts/words.sh"],
        "macro": ["scripts/imagej_headless.sh", "macros/threshold.ijm"],
    }.items():
        got = code_of(steps[rule])
        for rel in files:
            p = (work / rel).as_posix()
            assert got.get(p) == ("code: shell", datahash(work / rel)), (rule, got)
    # data the command names is not code
    assert (work / "raw/numbers.txt").as_posix() not in code_of(steps["double"])


def test_script_imports_local_module_and_workflow_package(work: Path) -> None:
    _, steps = recorded(work)
    got = code_of(steps["summary"])
    want = {
        "scripts/summary.py": "code: script",
        "scripts/helpers.py": "code: module",
        "pkg/utils.py": "code: module",
        "pkg/__init__.py": "code: module",
    }
    assert {p: n for p, (n, _) in got.items()} == {
        (work / r).as_posix(): n for r, n in want.items()
    }
    for rel in want:
        assert got[(work / rel).as_posix()][1] == datahash(work / rel)
    assert steps["summary"].code == (work / "scripts/summary.py").as_posix()


def test_run_block_source_and_its_imports(work: Path) -> None:
    _, steps = recorded(work)
    make = steps["make"]
    assert make.info["kind"] == "run"
    src = make.info["run_source"]
    assert "from pkg.utils import numbers" in src and "numbers(params.n)" in src
    assert src.count("with open(output[0]") == 1  # faithful, not Snakemake's repeated lines
    got = code_of(make)
    assert got[(work / "Snakefile").as_posix()][0] == "code: run"
    assert got[(work / "pkg/utils.py").as_posix()] == (
        "code: module",
        datahash(work / "pkg/utils.py"),
    )


def test_named_params_nothing_dropped(work: Path) -> None:
    _, steps = recorded(work)
    assert steps["double"].params == {"factor": 2, "label": "doubled", "positional_too": "x"}
    assert steps["make"].params == {"n": 400}
    assert steps["summary"].params == {"title": "code capture"}
    assert steps["double"].info["params_named"] is True


def test_distributions_once_per_environment(work: Path) -> None:
    run, steps = recorded(work)
    software = run.info["software"]
    pythons = {rid: r for rid, r in software.items() if r["kind"] == "python"}
    [(pid, py)] = pythons.items()  # one interpreter ran the scripts and the shell's python
    dists = {d["name"]: d["version"] for d in py["distributions"]}
    assert dists["snakemake"] == version("snakemake")
    assert dists["matplotlib"] == version("matplotlib")
    assert py["executable"] == sys.executable
    for rule in ("summary", "plot", "make", "double"):
        assert pid in steps[rule].environment["software"], rule
    [rscript] = [r for r in software.values() if r.get("name") == "Rscript"]
    assert rscript["binary_datahash"] == datahash(Path(os.path.realpath(shutil.which("Rscript"))))
    assert "R" in rscript["version"]
    assert rscript.get("path") and os.path.samefile(rscript["path"], shutil.which("Rscript"))
    ids = steps["count_r"].environment["software"]
    assert [software[i]["kind"] for i in ids] == ["executable"]


def test_impact_of_a_workflow_module(work: Path) -> None:
    res = cli(work, "impact", "--json", "pkg/utils.py")
    assert res.returncode == 0, res.stderr
    names = {s["name"] for s in json.loads(res.stdout)["steps"]}
    # make imports it in its run: block, summary through helpers.py; all downstream follow
    assert {"make", "summary", "double", "count_r", "words_bash", "macro", "plot"} <= names


def test_verify_notices_a_helper_edit(tmp_path: Path) -> None:
    work = tmp_path / "wf"
    shutil.copytree(WORKFLOW, work)
    snakemake(work)
    assert cli(work, "verify").returncode == 0
    helper = work / "scripts" / "helpers.py"
    helper.write_text(helper.read_text() + "# edited\n")
    res = cli(work, "verify", "--json")
    assert res.returncode == 1
    changed = [c["path"] for c in json.loads(res.stdout) if c["status"] != "ok"]
    assert changed == [helper.as_posix()]


def test_reproduce_identical_except_the_dated_svg(work: Path) -> None:
    run, _steps = recorded(work)
    res = cli(work, "reproduce", "--json", run.id)
    doc = json.loads(res.stdout)
    valid("reproduce", doc)
    assert res.returncode == 1, res.stderr  # the SVG is only near-identical
    status = {o["path"]: o for o in doc["outputs"]}
    assert status["out/plot.svg"]["status"] == "near-identical"
    assert 0 <= status["out/plot.svg"]["data_distance"] <= 4
    assert status["out/plot.svg"]["recorded"] != status["out/plot.svg"]["actual"]
    others = {p: o["status"] for p, o in status.items() if p != "out/plot.svg"}
    assert others and set(others.values()) == {"identical"}, others
    assert set(others) >= {"raw/numbers.txt", "out/doubled.txt", "out/summary.txt"}
    assert doc["first_diverging_step"] == "plot"
    ok = cli(work, "reproduce", "--accept-near-identical", run.id)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "NEAR-IDENTICAL" in ok.stdout and "out/plot.svg" in ok.stdout


def test_diff_names_the_changed_param_and_the_changed_outputs(tmp_path: Path) -> None:
    work = tmp_path / "wf"
    shutil.copytree(WORKFLOW, work)
    snakemake(work)
    cfg = work / "config" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("factor: 2", "factor: 3"))
    before = {p.relative_to(work).as_posix(): datahash(p) for p in (work / "out").iterdir()}
    snakemake(work)
    after = {p.relative_to(work).as_posix(): datahash(p) for p in (work / "out").iterdir()}
    with Store(str(work / ".iscc-lineage" / "lineage.db"), create=False) as store:
        first, second = sorted(store.runs(), key=lambda r: r.started)
    res = cli(work, "diff", "--json", first.id, second.id)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    valid("diff", doc)
    double = next(s for s in doc["steps"] if s["key"] == "double")
    assert double["causes"] == [{"kind": "params", "name": "factor", "before": 2, "after": 3}]
    assert doc["first_diverging"] == "double"
    # downstream steps changed because their inputs did; none is blamed on non-determinism
    verdicts = {s["key"]: s["verdict"] for s in doc["steps"]}
    assert "non-deterministic" not in {v for k, v in verdicts.items() if k != "plot"}
    for s in doc["steps"]:
        if s["key"] in ("summary", "count_r", "words_bash", "macro"):
            assert {c["kind"] for c in s["causes"]} == {"inputs"}, s
    changed = {p for p in before if before[p] != after[p]}
    assert set(doc["changed_outputs"]) == changed
    text = cli(work, "diff", first.id, second.id).stdout
    assert "param factor: 2 -> 3" in text


def test_import_after_the_fact_finds_the_code_statically(tmp_path: Path) -> None:
    """A run made without the plugin, imported: the same files, read from the commands."""
    work = tmp_path / "wf"
    shutil.copytree(WORKFLOW, work)
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-c2"],
        cwd=work,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    imp = cli(work, "import", str(work))
    assert imp.returncode == 0, imp.stderr
    _, steps = recorded(work)
    assert code_of(steps["double"])[(work / "scripts/double.py").as_posix()] == (
        "code: shell",
        datahash(work / "scripts/double.py"),
    )
    assert (work / "macros/threshold.ijm").as_posix() in code_of(steps["macro"])
    summary = code_of(steps["summary"])
    assert summary[(work / "scripts/helpers.py").as_posix()][0] == "code: module"
    assert summary[(work / "pkg/utils.py").as_posix()][0] == "code: module"
