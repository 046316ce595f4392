"""Golden snapshots: the baked output of a few representative answer sets, committed under
`tests/snapshots/`, so that every change to what the template generates shows up in review.

`make snapshots` (this file run as a script) bakes them anew; `test_snapshots.py` fails with a
readable diff when a bake no longer matches. `serverless-vs-classic.diff` shows what the compute
option changes for otherwise equal answers.
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
from pathlib import Path

from baking import TEMPLATE_ROOT, bake
from work_folder import work_folder

SNAPSHOT_DIR = TEMPLATE_ROOT / "tests" / "snapshots"

# Name -> answers on top of the defaults. The names say the options that differ.
SNAPSHOTS = {
    "deploy_code-serverless-github_actions": {},
    "deploy_model-classic-azure_devops": {
        "deployment_pattern": "deploy_model",
        "compute": "classic",
        "cicd_platform": "azure_devops",
        "cloud": "aws",
    },
    "hybrid-serverless-gitlab-classification": {
        "problem_type": "classification",
        "deployment_pattern": "hybrid",
        "cicd_platform": "gitlab",
        "cloud": "gcp",
        "prod_service_principal": "00000000-0000-4000-8000-000000000001",
    },
    "deploy_code-classic-none-no_monitoring": {
        "compute": "classic",
        "cicd_platform": "none",
        "include_monitoring": False,
    },
    "hybrid-classic-github_actions-serving": {
        "deployment_pattern": "hybrid",
        "compute": "classic",
        "include_serving": True,
    },
}
# The compute option's effect at a glance: the first snapshot against its classic twin.
COMPUTE_DIFF = SNAPSHOT_DIR / "serverless-vs-classic.diff"
COMPUTE_DIFF_BASE = "deploy_code-serverless-github_actions"


def baked_files(answers: dict) -> dict[str, str]:
    """Relative path -> text of every file a bake with these answers writes."""
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(output_dir=Path(scratch), **answers)
        return {path: project.read(path) for path in sorted(project.relative_files())}


def snapshot_files(name: str) -> dict[str, str]:
    root = SNAPSHOT_DIR / name
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def files_diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> str:
    """One unified diff over two file trees; an added or removed file diffs against nothing."""
    chunks = []
    for path in sorted(old.keys() | new.keys()):
        chunks += difflib.unified_diff(
            old.get(path, "").splitlines(keepends=True),
            new.get(path, "").splitlines(keepends=True),
            fromfile=f"{old_label}/{path}" if path in old else "/dev/null",
            tofile=f"{new_label}/{path}" if path in new else "/dev/null",
        )
    return "".join(chunks)


def compute_diff() -> str:
    answers = SNAPSHOTS[COMPUTE_DIFF_BASE]
    return files_diff(
        baked_files(answers | {"compute": "serverless"}),
        baked_files(answers | {"compute": "classic"}),
        "serverless",
        "classic",
    )


def write_snapshots() -> None:
    for name, answers in SNAPSHOTS.items():
        root = SNAPSHOT_DIR / name
        shutil.rmtree(root, ignore_errors=True)
        for relative, text in baked_files(answers).items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
    COMPUTE_DIFF.write_text(compute_diff(), encoding="utf-8")


def main() -> int:
    # Each bake leaves cookiecutter's hook copies in the temporary folder: use one that goes.
    with work_folder(prefix="snapshots-"):
        write_snapshots()
    files = [p for p in SNAPSHOT_DIR.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {len(SNAPSHOTS)} snapshots and {COMPUTE_DIFF.name}: {len(files)} files, "
          f"{size / 1024:.0f} KiB under {SNAPSHOT_DIR.relative_to(TEMPLATE_ROOT)}; "
          "review with `git diff tests/snapshots`")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
