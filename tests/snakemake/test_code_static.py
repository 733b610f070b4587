"""Static code finding: files a shell command runs, local modules a script imports.

Real files on disk in a temporary workflow folder; every expectation is the set of files
the command or script really names, written down by hand here.
"""

from __future__ import annotations

from pathlib import Path

from iscc_lineage.snakemake.code import (
    code_role,
    local_imports,
    plain_value,
    shell_files,
    shell_programs,
)


def tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_shell_files_python_r_bash_macro(tmp_path: Path) -> None:
    wf = tmp_path / "wf"
    tree(
        wf,
        {
            "scripts/seg.py": "",
            "scripts/stats.R": "",
            "scripts/run.sh": "",
            "macros/blur.ijm": "",
            "data/in.py": "",
            ".snakemake/x.py": "",
        },
    )
    cmd = (
        "python scripts/seg.py data/in.py out.tif && Rscript --vanilla scripts/stats.R | "
        "bash scripts/run.sh; ImageJ-linux64 --headless --console -macro macros/blur.ijm "
        "'a,b' ; python --script=scripts/seg.py missing.py .snakemake/x.py "
        "/usr/lib/python3/dist-packages/foo.py"
    )
    found = shell_files(cmd, [wf], wf, exclude={(wf / "data/in.py").as_posix()})
    assert found == [
        wf / "scripts/seg.py",
        wf / "scripts/stats.R",
        wf / "scripts/run.sh",
        wf / "macros/blur.ijm",
    ]


def test_shell_files_absolute_and_outside(tmp_path: Path) -> None:
    wf, other = tmp_path / "wf", tmp_path / "other"
    tree(wf, {"s.py": ""})
    tree(other, {"t.py": ""})
    cmd = f"/usr/bin/python3 '{wf / 's.py'}' {other / 't.py'}"
    assert shell_files(cmd, [wf], tmp_path) == [wf / "s.py"]
    assert shell_files("python 'unbalanced", [wf], wf) == []


def test_shell_programs() -> None:
    cmd = (
        "set -e; OMP=1 env time bwa mem ref.fa r.fq | samtools sort -o x.bam - && "
        "if true; then echo hi; fi; python -c 'print(1)'"
    )
    assert shell_programs(cmd) == ["bwa", "samtools", "python"]


def test_local_imports_transitive(tmp_path: Path) -> None:
    wf = tmp_path / "wf"
    tree(
        wf,
        {
            "scripts/panel.py": "import numpy\nimport bioimage_io\nfrom pkg import utils\n"
            "from pkg.sub.deep import f\nimport os, json\n",
            "scripts/bioimage_io.py": "from . import nothing\nimport helpers\n",
            "helpers.py": "import tifffile\n",
            "pkg/__init__.py": "",
            "pkg/utils.py": "from .consts import X\n",
            "pkg/consts.py": "X = 1\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": "def f(): ...\n",
            "unused.py": "",
        },
    )
    found = set(local_imports(wf / "scripts/panel.py", [wf]))
    assert found == {
        wf / "scripts/bioimage_io.py",
        wf / "helpers.py",
        wf / "pkg/__init__.py",
        wf / "pkg/utils.py",
        wf / "pkg/consts.py",
        wf / "pkg/sub/__init__.py",
        wf / "pkg/sub/deep.py",
    }


def test_local_imports_of_run_source_and_bad_syntax(tmp_path: Path) -> None:
    wf = tmp_path / "wf"
    tree(wf, {"lib.py": "", "broken.py": "def (\n"})
    src = "from lib import g\nimport broken\nshell('x')\n"
    assert set(local_imports(wf / "Snakefile", [wf], source=src)) == {
        wf / "lib.py",
        wf / "broken.py",
    }
    assert local_imports(wf / "broken.py", [wf]) == []


def test_plain_value_and_role() -> None:
    assert plain_value(Path("/a/b")) == "/a/b"
    assert plain_value((1, [2.5, "x"], {"k": None})) == [1, [2.5, "x"], {"k": None}]
    assert plain_value(lambda w: 1).startswith("<function")
    assert code_role("code: module") == "module"
    assert code_role("gone") is None and code_role(None) is None
