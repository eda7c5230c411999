"""The one code asset: lambdas/ and the core modules they import, nothing else, and self-sufficient."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stacks.lambda_asset import asset_files, asset_sources, staged_content
from tests.functional.test_analyzer import CURVE, state_after_the_map
from tests.infrastructure.synthesis import FUNCTION_NAMES, REPO_ROOT, Synthesized

# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = {"boto3", "botocore"}
# 131.3 KB zipped (the fleet's, the architectures' and the workflow tuner's reader and model included;
# about 188 KB before comments and docstrings were stripped): a limit with a little room, that catches
# a dependency or data file slipping into the asset, or the stripping lost.
MAX_ZIPPED_BYTES = 136_000


@pytest.fixture(scope="module")
def asset_dir(default_stack: Synthesized) -> Path:
    (directory,) = {path for path in default_stack.outdir.glob("asset.*") if (path / "lambdas").is_dir()}
    return directory


def _files(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())


def test_asset_holds_handlers_and_only_core_modules(asset_dir: Path) -> None:
    files = _files(asset_dir)
    assert [f"lambdas/{name}.py" for name in FUNCTION_NAMES if f"lambdas/{name}.py" not in files] == []
    assert files == sorted(str(path) for path in asset_files())
    for path in files:
        assert path.startswith(("lambdas/", "powertuning/")), path
        assert not path.startswith(("powertuning/cli/", "powertuning/local/")), path
        assert path.endswith((".py", ".json")), path
    # AND each holds what staging makes of its source (Python stripped of comments and docstrings)
    for relative, source in asset_sources().items():
        assert (asset_dir / relative).read_bytes() == staged_content(source), relative


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under `if TYPE_CHECKING:`: imports for mypy (the boto3 stubs), never run."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }


def test_asset_imports_only_the_runtime_and_itself(asset_dir: Path) -> None:
    shipped = {"lambdas", "powertuning"}
    for path in asset_dir.rglob("*.py"):
        tree = ast.parse(path.read_text())
        typing_only = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in typing_only:
                if isinstance(node, ast.ImportFrom):
                    top = str(node.module).split(".")[0]
                    assert top in shipped or top.startswith("mypy_boto3_"), (path, node.module)
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names | RUNTIME_PACKAGES | shipped, (path, name)


def test_handlers_import_from_the_asset_alone(asset_dir: Path) -> None:
    # GIVEN a fresh interpreter whose first path entry is the asset, like /var/task in Lambda
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(asset_dir)!r})\n"
        f"for name in {list(FUNCTION_NAMES)!r}:\n"
        "    module = importlib.import_module('lambdas.' + name)\n"
        "    assert callable(module.handler)\n"
        "for name, module in list(sys.modules.items()):\n"
        "    if name.split('.')[0] in ('lambdas', 'powertuning'):\n"
        f"        assert module.__file__.startswith({str(asset_dir)!r}), (name, module.__file__)\n"
    )
    # THEN every handler imports, and only from the asset's copy of the code
    # -B: -I ignores PYTHONDONTWRITEBYTECODE, and bytecode left in the asset would be counted as its size.
    subprocess.run([sys.executable, "-I", "-B", "-c", script], check=True, cwd=asset_dir)


# Runs the Analyzer on a state read from stdin; prints its output or the frames of its traceback.
RUN_ANALYZER = """
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
from lambdas import analyzer
try:
    print(json.dumps(analyzer.handler(json.load(sys.stdin), None), sort_keys=True))
except Exception as error:
    frames = traceback.extract_tb(error.__traceback__)
    print(json.dumps([[f.filename[len(sys.argv[1]):], f.lineno, f.line] for f in frames]))
"""


def _run_analyzer(code_root: Path, state: object) -> object:
    # Like test_handlers_import_from_the_asset_alone: -I so only `code_root` provides the code.
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", RUN_ANALYZER, str(code_root)],
        input=json.dumps(state),
        capture_output=True,
        text=True,
        check=True,
        cwd=code_root,
    )
    return json.loads(done.stdout)


def test_the_stripped_analyzer_answers_and_fails_as_the_repositorys(asset_dir: Path) -> None:
    # GIVEN the state after the Map WHEN the asset's (stripped) Analyzer and the repository's run it
    state = state_after_the_map(CURVE)
    # THEN both give the same output
    assert _run_analyzer(asset_dir, state) == _run_analyzer(REPO_ROOT, state)
    # AND on a bad state both fail through the same lines of the same files (the deployed code's
    # traceback names the repository's lines; only the comments and docstrings are gone)
    broken = {**state, "results": "not a list"}
    asset_frames, repository_frames = _run_analyzer(asset_dir, broken), _run_analyzer(REPO_ROOT, broken)
    assert isinstance(asset_frames, list)
    assert len(asset_frames) > 1
    assert [frame[:2] for frame in asset_frames] == [frame[:2] for frame in repository_frames]


def test_asset_is_small(asset_dir: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(asset_dir):
            archive.write(asset_dir / path, path)
    print(f"asset: {len(buffer.getvalue())} B zipped")
    assert len(buffer.getvalue()) < MAX_ZIPPED_BYTES


def test_asset_files_reject_the_cli_and_local_engine(tmp_path: Path) -> None:
    # GIVEN a handler that imports the local engine WHEN the asset is assembled THEN it refuses
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "powertuning" / "local").mkdir(parents=True)
    (tmp_path / "powertuning" / "local" / "__init__.py").write_text("")
    (tmp_path / "lambdas" / "bad.py").write_text("from powertuning.local import engine\n")
    with pytest.raises(ValueError, match=r"powertuning\.local"):
        asset_files(tmp_path)


def test_asset_files_follow_imports_transitively() -> None:
    files = {str(path) for path in asset_files(REPO_ROOT)}
    # The Executor reaches powertuning.measure, which imports powertuning.lifecycle.publish.
    assert {
        "powertuning/measure.py",
        "powertuning/lifecycle/publish.py",
        "powertuning/lambda_api.py",
    } <= files


def test_cli_only_libraries_stay_out_of_the_asset() -> None:
    # rich (the CLI's progress bar) and matplotlib (the PNG) must never ship to Lambda: no asset file
    # may import them, nor the CLI or report packages that do.
    for path in asset_files(REPO_ROOT):
        if path.suffix != ".py":
            continue
        assert not str(path).startswith(("powertuning/cli/", "powertuning/report/")), path
        tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & {"rich", "matplotlib"}, (path, names)
