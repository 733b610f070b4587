"""What a job ran (``jobs.py``: code, params, environment) from real metadata records.

The records come from the fixtures' real Snakemake runs; the code text of directives the
fixture workflow does not use (wrapper, notebook, path expressions) is written the way Snakemake
stores it (the rule's source after the directive keyword, see ``jobs.code_of``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from import_vectors import Workdir

from iscc_lineage.snakemake.jobs import (
    CodeRef,
    EnvFinder,
    code_of,
    environment_of,
    params_of,
    rule_dirs,
)
from iscc_lineage.snakemake.metadata import MetadataRecord, read_record

Vector = Callable[[str], Workdir]


def record(wd: Workdir, output: str) -> MetadataRecord:
    r = read_record(wd.path, output)
    assert r is not None, output
    return r


def test_code_of_each_kind_of_rule(vector: Vector) -> None:
    wd = vector("plain")
    search = rule_dirs(wd / "Snakefile")
    assert search == [wd.path]
    script = CodeRef("script", wd / "scripts/scale.py")
    assert code_of(record(wd, "work/a.scaled"), None, search) == script
    assert code_of(record(wd, "results/a.sum"), None, search) == CodeRef("shell")
    assert code_of(record(wd, "results/parts"), None, search) == CodeRef("shell")
    assert code_of(record(wd, "results/summary.txt"), None, search) == CodeRef("run")
    # Not found where the rule's Snakefile could be: named, not resolved.
    assert code_of(record(wd, "work/a.scaled"), None, [wd / "logs"]) == CodeRef(
        "script", None, "scripts/scale.py"
    )
    assert code_of(None, "echo hi", search) == CodeRef("shell")
    assert code_of(None, None, search) == CodeRef("unknown")


def test_params_are_the_records_repr_strings_by_position(vector: Vector) -> None:
    wd = vector("failed")
    assert params_of(record(wd, "work/a.scaled")) == {"0": "3"}
    assert params_of(record(wd, "results/summary.txt")) == {"0": "1"}  # the failed re-run's
    assert params_of(record(wd, "results/a.sum")) == {}
    assert params_of(None) == {}


def test_environment_keeps_only_what_the_record_knows(vector: Vector) -> None:
    wd = vector("plain")
    stats = record(wd, "results/a.sum")
    assert environment_of(stats, None) == {"container_img_url": "docker://busybox:1.36"}
    assert environment_of(record(wd, "work/a.scaled"), None) == {}  # empty software stack
    assert environment_of(None, None) == {}


def test_conda_environment_file_is_found_by_content(tmp_path: Path) -> None:
    yaml = "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "tools.yaml").write_text(yaml)
    (tmp_path / "envs" / "other.yml").write_text(yaml + "  - numpy\n")
    rec = MetadataRecord.from_json(
        "o",
        {
            "rule": "r",
            "conda_env": base64.b64encode(yaml.encode()).decode(),
            "software_stack_hash": "0123abcd",
        },
    )
    finder = EnvFinder(tmp_path)
    found = finder.find(rec.conda_env or "")
    assert found == tmp_path / "envs" / "tools.yaml"
    assert finder.find("dependencies: []\n") is None
    assert environment_of(rec, found) == {
        "conda_env_yaml": yaml,
        "conda_env_file": found.as_posix(),
        "software_stack_hash": "0123abcd",
    }


def test_rule_dirs_include_directories_of_included_rule_files(tmp_path: Path) -> None:
    (tmp_path / "rules" / "scripts").mkdir(parents=True)
    (tmp_path / "rules" / "a.smk").write_text("")
    (tmp_path / ".snakemake" / "x").mkdir(parents=True)
    (tmp_path / ".snakemake" / "x" / "b.smk").write_text("")
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "rules" / "scripts" / "s.py").write_text("")
    search = rule_dirs(tmp_path / "Snakefile")
    assert search == [tmp_path, tmp_path / "rules"]
    rec = MetadataRecord.from_json("o", {"rule": "r", "code": '    script: "scripts/s.py"\n'})
    assert code_of(rec, None, search) == CodeRef("script", tmp_path / "rules/scripts/s.py")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('"scripts/x.py"\n', CodeRef("script", None, "scripts/x.py")),  # argument on its own line
        ('    notebook: "nb/x.ipynb"\n', CodeRef("notebook", None, "nb/x.ipynb")),
        ('"nb/x.ipynb"\n', CodeRef("notebook", None, "nb/x.ipynb")),
        (
            '    wrapper: "v3.0.0/bio/samtools/sort"\n',
            CodeRef("wrapper", None, "v3.0.0/bio/samtools/sort"),
        ),
        ('"v3.0.0/bio/fastqc"\n', CodeRef("wrapper", None, "v3.0.0/bio/fastqc")),
        (
            '    script: "https://example.org/x.py"\n',
            CodeRef("script", None, "https://example.org/x.py"),
        ),
        (
            '    script: str(BASE / "scripts/x.py")\n',
            CodeRef("script", None, 'str(BASE / "scripts/x.py")'),
        ),
        ('    script: config["script"]\n', CodeRef("script", None, 'config["script"]')),
        ('shell("cat x.py")\n', CodeRef("run")),  # a one-line run: block, not a path
        ("    x = 1\n    print(x)\n", CodeRef("run")),
    ],
)
def test_code_of_directive_forms(tmp_path: Path, code: str, expected: CodeRef) -> None:
    rec = MetadataRecord.from_json("o", {"rule": "r", "code": code})
    assert code_of(rec, None, [tmp_path]) == expected


def test_local_wrapper_resolves_to_its_wrapper_file(tmp_path: Path) -> None:
    (tmp_path / "wrappers" / "mine").mkdir(parents=True)
    (tmp_path / "wrappers" / "mine" / "wrapper.py").write_text("")
    for arg in ("file:wrappers/mine", "wrappers/mine"):
        rec = MetadataRecord.from_json("o", {"rule": "r", "code": f'    wrapper: "{arg}"\n'})
        assert code_of(rec, None, [tmp_path]) == CodeRef(
            "wrapper", tmp_path / "wrappers/mine/wrapper.py"
        )
