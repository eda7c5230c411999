"""The code assets: each holds exactly its handlers' import closure, imports nothing else, is small."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stacks import lambda_asset
from stacks.lambda_asset import asset_files, asset_sources, staged_content
from tests.functional.test_analyzer import CURVE, state_after_the_map
from tests.infrastructure.synthesis import (
    ASSETS,
    FLEET_FUNCTION_NAMES,
    FUNCTION_NAMES,
    REPO_ROOT,
    WORKFLOW_FUNCTION_NAMES,
    Synthesized,
    build_app,
)

# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = {"boto3", "botocore"}
# Limits with a little room over what was measured (test_asset_is_small prints it), that catch a
# dependency or data file slipping into an asset, a module crossing from one asset to the other, or
# the stripping lost. Measured zipped: the tuner's 92,947 B (58 files: its six functions and the
# fleet's two, the architectures' modules included), the workflow tuner's 79,878 B (41 files: its
# reader and model, and the core modules both use). Both in one asset, as before: 131,325 B.
MAX_ZIPPED_BYTES = {"tuner": 96_000, "workflow": 83_000}


@pytest.fixture(scope="module")
def asset_dirs(default_stack: Synthesized) -> dict[str, Path]:
    """Each asset's folder in the cloud assembly, found from the functions that run it."""
    functions = default_stack.functions(FUNCTION_NAMES + FLEET_FUNCTION_NAMES + WORKFLOW_FUNCTION_NAMES)
    dirs = {}
    for asset, handlers in ASSETS.items():
        (key,) = {props["Code"]["S3Key"] for name, (_, props) in functions.items() if name in handlers}
        dirs[asset] = default_stack.outdir / f"asset.{key.removesuffix('.zip')}"
    return dirs


def _files(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file())


def test_each_function_runs_the_asset_of_its_construct(default_stack: Synthesized) -> None:
    # THEN the constructs declare the tuner's asset for its functions and the fleet's, and the
    # workflow tuner's for its own two
    assert ASSETS == {"tuner": FUNCTION_NAMES + FLEET_FUNCTION_NAMES, "workflow": WORKFLOW_FUNCTION_NAMES}
    # AND the template's functions run two assets, one per group, each staged in the cloud assembly
    functions = default_stack.functions(FUNCTION_NAMES + FLEET_FUNCTION_NAMES + WORKFLOW_FUNCTION_NAMES)
    assert len(functions) == 10
    keys = {asset: {functions[name][1]["Code"]["S3Key"] for name in ASSETS[asset]} for asset in ASSETS}
    assert all(len(key) == 1 for key in keys.values()), keys
    assert len(set.union(*keys.values())) == 2
    staged = {path for path in default_stack.outdir.glob("asset.*") if (path / "lambdas").is_dir()}
    assert staged == {default_stack.outdir / f"asset.{key.removesuffix('.zip')}" for (key,) in keys.values()}


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_each_asset_holds_its_handlers_and_only_their_core_modules(
    asset: str, asset_dirs: dict[str, Path]
) -> None:
    directory = asset_dirs[asset]
    files = _files(directory)
    assert [f"lambdas/{name}.py" for name in ASSETS[asset] if f"lambdas/{name}.py" not in files] == []
    assert files == sorted(str(path) for path in asset_files(ASSETS[asset]))
    for path in files:
        assert path.startswith(("lambdas/", "powertuning/")), path
        assert not path.startswith(("powertuning/cli/", "powertuning/local/")), path
        assert path.endswith((".py", ".json")), path
    # AND each holds what staging makes of its source (Python stripped of comments and docstrings)
    for relative, source in asset_sources(ASSETS[asset]).items():
        assert (directory / relative).read_bytes() == staged_content(source), relative


def test_no_workflow_module_ships_in_the_tuners_asset(asset_dirs: dict[str, Path]) -> None:
    tuner = _files(asset_dirs["tuner"])
    assert [path for path in tuner if path.startswith(("powertuning/workflow/", "lambdas/workflow_"))] == []
    # AND no tuner or fleet handler in the workflow tuner's (the core modules both use are in both)
    workflow = _files(asset_dirs["workflow"])
    assert [path for path in workflow if path.startswith("lambdas/")] == sorted(
        ["lambdas/__init__.py", *(f"lambdas/{name}.py" for name in WORKFLOW_FUNCTION_NAMES)]
    )


def test_every_handler_file_ships_in_an_asset() -> None:
    # A handler file that no construct's asset reaches would be a function nobody deploys.
    shipped = {str(path) for handlers in ASSETS.values() for path in asset_files(handlers)}
    handlers = {f"lambdas/{path.name}" for path in (REPO_ROOT / "lambdas").glob("*.py")}
    assert handlers - shipped == set()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under `if TYPE_CHECKING:`: imports for mypy (the boto3 stubs), never run."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for statement in node.body
        for inner in ast.walk(statement)
    }


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_asset_imports_only_the_runtime_and_itself(asset: str, asset_dirs: dict[str, Path]) -> None:
    shipped = {"lambdas", "powertuning"}
    for path in asset_dirs[asset].rglob("*.py"):
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


# Imports handlers (argv[2], comma-separated) with the asset (argv[1]) as the first path entry, like
# /var/task in Lambda; prints the files of the repository's modules that this loaded.
IMPORT_HANDLERS = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2].split(","):
    assert callable(importlib.import_module("lambdas." + name).handler), name
ours = [module for name, module in sys.modules.items() if name.split(".")[0] in ("lambdas", "powertuning")]
print(json.dumps(sorted(module.__file__ for module in ours)))
"""


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_the_handlers_load_every_file_of_their_asset_and_nothing_else(
    asset: str, asset_dirs: dict[str, Path]
) -> None:
    # GIVEN a fresh interpreter whose first path entry is the asset
    # -B: -I ignores PYTHONDONTWRITEBYTECODE, and bytecode left in the asset would be counted as its size.
    directory = asset_dirs[asset]
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", IMPORT_HANDLERS, str(directory), ",".join(ASSETS[asset])],
        check=True,
        capture_output=True,
        text=True,
        cwd=directory,
    )
    # WHEN its handlers are imported THEN each imports, only from the asset's copy of the code, and
    # loads every Python file the asset holds: the closure is the modules the handlers run, exactly
    loaded = json.loads(done.stdout)
    assert loaded == sorted(str(directory / path) for path in _files(directory) if path.endswith(".py"))


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


def test_the_stripped_analyzer_answers_and_fails_as_the_repositorys(asset_dirs: dict[str, Path]) -> None:
    asset_dir = asset_dirs["tuner"]
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


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_asset_is_small(asset: str, asset_dirs: dict[str, Path]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(asset_dirs[asset]):
            archive.write(asset_dirs[asset] / path, path)
    print(f"{asset} asset: {len(buffer.getvalue())} B zipped, {len(_files(asset_dirs[asset]))} files")
    assert len(buffer.getvalue()) < MAX_ZIPPED_BYTES[asset]


def test_asset_files_reject_the_cli_and_local_engine(tmp_path: Path) -> None:
    # GIVEN a handler that imports the local engine WHEN the asset is assembled THEN it refuses
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "powertuning" / "local").mkdir(parents=True)
    (tmp_path / "powertuning" / "local" / "__init__.py").write_text("")
    (tmp_path / "lambdas" / "bad.py").write_text("from powertuning.local import engine\n")
    with pytest.raises(ValueError, match=r"powertuning\.local"):
        asset_files(("bad",), tmp_path)


def test_asset_files_follow_imports_transitively() -> None:
    files = {str(path) for path in asset_files(ASSETS["tuner"], REPO_ROOT)}
    # The Executor reaches powertuning.measure, which imports powertuning.lifecycle.publish.
    assert {
        "powertuning/measure.py",
        "powertuning/lifecycle/publish.py",
        "powertuning/lambda_api.py",
    } <= files


def test_cli_only_libraries_stay_out_of_the_asset() -> None:
    # rich (the CLI's progress bar) and matplotlib (the PNG) must never ship to Lambda: no asset file
    # may import them, nor the CLI or report packages that do.
    for path in {path for handlers in ASSETS.values() for path in asset_files(handlers, REPO_ROOT)}:
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


@pytest.mark.parametrize(
    ("handlers", "present", "absent"),
    [
        # A handler's relative import (`from . import adaptive_decision`) is followed too.
        (
            ("analyzer",),
            {"lambdas/adaptive_decision.py", "powertuning/adaptive/step.py"},
            {"lambdas/executor.py"},
        ),
        (("workflow_solver",), {"powertuning/workflow/solver.py"}, {"lambdas/workflow_reader.py"}),
        (
            ("fleet_resolver",),
            {"powertuning/fleet_steps.py"},
            {"powertuning/measure.py", "lambdas/analyzer.py"},
        ),
    ],
)
def test_an_asset_is_the_closure_of_its_handlers_only(
    handlers: tuple[str, ...], present: set[str], absent: set[str]
) -> None:
    files = {str(path) for path in asset_files(handlers, REPO_ROOT)}
    assert {"lambdas/__init__.py", "powertuning/__init__.py", *(f"lambdas/{h}.py" for h in handlers)} <= files
    assert present <= files
    assert absent & files == set()


@pytest.mark.parametrize(
    ("handlers", "error", "match"),
    [
        ((), ValueError, "at least one handler"),
        (("no_such_handler",), FileNotFoundError, r"no handler no_such_handler\.py"),
        (("../stacks/app",), FileNotFoundError, r"no handler \.\./stacks/app\.py"),
        (("analyzer", "nope"), FileNotFoundError, r"no handler nope\.py in"),
    ],
)
def test_an_asset_refuses_handlers_that_are_not_there(
    handlers: tuple[str, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        asset_files(handlers, REPO_ROOT)


def test_installed_the_handlers_keep_their_asset_paths(tmp_path: Path) -> None:
    # GIVEN the installed layout: the handlers are powertuning/lambdas/, a subpackage of the core
    package = tmp_path / "powertuning"
    (package / "lambdas").mkdir(parents=True)
    (package / "workflow").mkdir()
    for path, text in {
        "__init__.py": "",
        "core.py": "",
        "workflow/__init__.py": "",
        "lambdas/__init__.py": "",
        "lambdas/first.py": "from . import second\n",
        "lambdas/second.py": "from powertuning import core\n",
        "lambdas/other.py": "from powertuning import workflow\n",
    }.items():
        (package / path).write_text(text)
    # WHEN the asset of one handler is assembled from there
    sources = asset_sources(("first",), package / "lambdas", package)
    # THEN its handlers are at lambdas/ (not powertuning/lambdas/), and only what it imports is there
    assert {str(path): source for path, source in sources.items()} == {
        "lambdas/__init__.py": package / "lambdas" / "__init__.py",
        "lambdas/first.py": package / "lambdas" / "first.py",
        "lambdas/second.py": package / "lambdas" / "second.py",
        "powertuning/__init__.py": package / "__init__.py",
        "powertuning/core.py": package / "core.py",
    }


@pytest.mark.parametrize(
    ("context", "staged"),
    [
        ({"workflow": "false"}, ["tuner"]),
        ({"fleet": "false", "workflow": "false"}, ["tuner"]),
        ({}, ["tuner", "workflow"]),
    ],
)
def test_an_asset_is_staged_only_for_a_construct_deployed(
    context: dict[str, str], staged: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN staging recorded as it happens
    calls: list[tuple[str, ...]] = []
    stage = lambda_asset.stage_asset

    def recording(handler_names: tuple[str, ...]) -> Path:
        calls.append(tuple(handler_names))
        return stage(handler_names)

    monkeypatch.setattr(lambda_asset, "stage_asset", recording)
    # WHEN the app is built with the options
    build_app(context)
    # THEN only the deployed constructs' assets were staged: without the workflow tuner, never its own
    assert calls == [ASSETS[asset] for asset in staged]
