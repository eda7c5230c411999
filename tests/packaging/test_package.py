"""The package as a user gets it: the built wheel, installed into a fresh virtual environment.

Built from this checkout (`python -m build`: the sdist, then the wheel from the sdist, so a file
missing from the sdist fails here too) and installed the way the README says, outside the
repository: first without extras (the AWS commands), then with `[local,cdk]`. Everything runs with
the repository off `sys.path` and from a folder outside it, so only the installed copy can answer.

One virtual environment serves the whole run (built once, by whichever xdist worker comes first).
Timings measured on two shared cores: build 4 s, venv 4 s, installs 3 s + 15 s (`--no-compile`),
local run 4 s, synth 6 s.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest

import powertuning
from stacks.lambda_asset import asset_sources, staged_content
from stacks.tuner_functions import ASSET_HANDLERS
from stacks.workflow_tuner import WORKFLOW_FUNCTION_NAMES

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("package")]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where each repository folder is installed: the one top-level name is `powertuning`.
INSTALLED_AS = {
    "powertuning": "powertuning",
    "stacks": "powertuning/cdk",
    "lambdas": "powertuning/lambdas",
    "statemachine": "powertuning/statemachine",
}
AWS_COMMANDS = ("run", "report", "compare", "clean")
FUNCTION_NAMES = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")

HANDLER = '''\
def handler(event, context):
    """A CPU-bound function: faster with more memory."""
    return {"sum": sum(i * i for i in range(20_000))}
'''

# A user's own CDK app: the tuner added to their stack, checked by cdk-nag as the repository's app is.
USER_APP = """\
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from powertuning.cdk import PowerTuner, TunerOptions

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(app, "MyService")
tuner = PowerTuner(stack, "Tuner", options=TunerOptions(power_values=(128, 512, 1024)))
cdk.CfnOutput(stack, "TunerArn", value=tuner.state_machine.state_machine_arn)
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
"""
# The repository's whole stack from the package: the tuner, the fleet and the workflow tuner.
STACK_APP = """\
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from powertuning.cdk import PowerTuningStack

app = cdk.App(outdir="cdk.out.stack")
PowerTuningStack(app, "PowerTuning")
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
"""


@dataclass(frozen=True)
class Installed:
    """The built wheel, a fresh venv with it installed, and what the install without extras said."""

    wheel: Path
    venv: Path
    user_dir: Path
    base_help: str
    base_local: subprocess.CompletedProcess[str]
    base_importable: list[str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(self.venv, self.user_dir, *args, check=check)

    @property
    def site_packages(self) -> Path:
        return Path(
            self.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
        )


def _user_env() -> dict[str, str]:
    """The environment without the repository: no PYTHONPATH, no outer virtual environment."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return env


def _run(
    venv: Path, cwd: Path, program: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(venv / "bin" / program), *args],
        check=False,
        cwd=cwd,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{program} {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return result


def _importable(venv: Path, cwd: Path, *modules: str) -> list[str]:
    """Those of `modules` that the environment's Python finds."""
    probe = f"import importlib.util as u; print(json.dumps([m for m in {modules!r} if u.find_spec(m)]))"
    result = _run(venv, cwd, "python", "-c", f"import json; {probe}")
    return list(json.loads(result.stdout))


def _build_and_install(work: Path) -> Installed:
    dist = work / "dist"
    # GIVEN the sdist and the wheel built from this checkout, as `make dist` builds them
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO_ROOT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("powertuning-*.whl")
    # AND a fresh virtual environment (its own pip, nothing of this one's), and a folder outside the
    # repository holding a handler
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    user_dir = work / "my-service"
    user_dir.mkdir()
    (user_dir / "handler.py").write_text(HANDLER)
    # WHEN the package is installed without extras (--no-compile: bytecode for aws-cdk-lib alone takes 40 s)
    _run(venv, user_dir, "pip", "install", "--quiet", "--no-compile", str(wheel))
    base_help = _run(venv, user_dir, "powertune", "--help").stdout
    base_local = _run(venv, user_dir, "powertune", "local", "--handler", "handler.py:handler", check=False)
    base_importable = _importable(venv, user_dir, "rich", "moto", "aws_cdk", "matplotlib")
    # AND then with the local mode and the CDK constructs
    _run(venv, user_dir, "pip", "install", "--quiet", "--no-compile", f"{wheel}[local,cdk]")
    return Installed(wheel, venv, user_dir, base_help, base_local, base_importable)


def _save(installed: Installed, path: Path) -> None:
    local = installed.base_local
    path.write_text(
        json.dumps(
            {
                "wheel": str(installed.wheel),
                "venv": str(installed.venv),
                "user_dir": str(installed.user_dir),
                "base_help": installed.base_help,
                "base_local": [local.args, local.returncode, local.stdout, local.stderr],
                "base_importable": installed.base_importable,
            }
        )
    )


def _load(path: Path) -> Installed:
    saved = json.loads(path.read_text())
    local = subprocess.CompletedProcess(*saved["base_local"])
    return Installed(
        Path(saved["wheel"]),
        Path(saved["venv"]),
        Path(saved["user_dir"]),
        saved["base_help"],
        local,
        saved["base_importable"],
    )


# One environment for the whole run, whichever worker gets there first: a session fixture is set up
# once per xdist worker, and `--dist loadgroup` cannot keep these tests on one (pytest-xdist 3.8
# renames `item._nodeid`, which pytest 9 no longer reads). Two builds at once would also collide:
# setuptools writes the sdist's tree and the egg-info into the source folder. So the first worker
# builds under a lock in the run's shared temporary folder, and the others read what it recorded.
@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if "PYTEST_XDIST_WORKER" not in os.environ:  # no xdist: this process is the only one
        return _build_and_install(tmp_path_factory.mktemp("package"))
    shared = tmp_path_factory.getbasetemp().parent
    record = shared / "package.json"
    with (shared / "package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.is_file():
            return _load(record)
        installed = _build_and_install(Path(tempfile.mkdtemp(prefix="package", dir=shared)))
        _save(installed, record)
        return installed


def _repo_files() -> set[str]:
    """The files of the four installed folders, by the path each gets in the wheel."""
    found = set()
    for folder, target in INSTALLED_AS.items():
        for path in (REPO_ROOT / folder).rglob("*"):
            if (
                path.is_file()
                and "__pycache__" not in path.parts
                and path.suffix in {".py", ".json", ".typed"}
            ):
                found.add(f"{target}/{path.relative_to(REPO_ROOT / folder)}")
    return found


def test_the_wheel_installs_powertuning_alone_with_every_module(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = archive.namelist()
        (dist_info,) = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
        record = archive.read(f"{dist_info}/RECORD").decode().splitlines()
        top_level = archive.read(f"{dist_info}/top_level.txt").decode().split()
    # THEN the wheel's RECORD holds powertuning/ and its metadata, nothing else at the top level
    assert top_level == ["powertuning"]
    assert {line.split(",")[0].split("/")[0] for line in record} == {"powertuning", dist_info}
    # AND every module and data file of powertuning/, stacks/, lambdas/ and statemachine/, under powertuning/
    shipped = {name for name in names if not name.startswith(dist_info)}
    assert shipped == _repo_files()
    # AND in the environment too: the installed files are those of the wheel, and no `lambdas`,
    # `stacks` or `statemachine` can be imported (the names of most CDK projects' own folders)
    listed = installed.run(
        "python",
        "-c",
        "import importlib.metadata as m; print('\\n'.join(str(f) for f in m.files('powertuning')))",
    ).stdout.split()
    assert {name.split("/")[0] for name in listed} == {"powertuning", dist_info, ".."}
    assert {name for name in listed if name.startswith("..")} == {"../../../bin/powertune"}
    assert _importable(installed.venv, installed.user_dir, "lambdas", "stacks", "statemachine") == []


def test_the_version_comes_from_the_package_metadata(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        version = Parser().parsestr(archive.read(metadata).decode())["Version"]
    # THEN the wheel's version is the source's one version, and `powertune --version` says it
    assert version == powertuning.__version__
    assert installed.run("powertune", "--version").stdout.strip() == f"powertune {version}"


def test_without_extras_the_aws_commands_run_and_local_names_its_extra(installed: Installed) -> None:
    # THEN the install without extras brought none of the optional libraries
    assert installed.base_importable == []
    # AND its CLI offers run, report, compare and clean (none marked unavailable)
    lines = {line.split()[0]: line for line in installed.base_help.splitlines() if line.startswith("    ")}
    for command in AWS_COMMANDS:
        assert command in lines, installed.base_help
        assert "unavailable" not in lines[command], lines[command]
    # AND `powertune local` says what to install instead of a traceback
    assert installed.base_local.returncode == 2
    assert "pip install 'powertuning[local]'" in installed.base_local.stderr
    assert "Traceback" not in installed.base_local.stderr


def test_powertune_local_tunes_a_handler_outside_the_repository(installed: Installed) -> None:
    # GIVEN a handler in the user's own folder, WHEN it is tuned locally with the installed package
    result = installed.run(
        "powertune", "local", "--handler", "handler.py:handler", "--power-values", "128,512",
        "--num", "5", "--output", "json",
    )  # fmt: skip
    # THEN the output is the tuning result over the two sizes
    output = json.loads(result.stdout)
    assert output["power"] in {128, 512}
    assert [item["value"] for item in output["stats"]] == [128, 512]
    assert all(item["invocations"] == 5 and item["errors"] == 0 for item in output["stats"])
    # AND the tuner's handlers ran from the installed package, not from a checkout
    where = installed.run(
        "python",
        "-c",
        "import powertuning.lambdas.executor as m, powertuning.cdk as c; print(m.__file__, c.__file__)",
    ).stdout.split()
    assert all(path.startswith(str(installed.site_packages)) for path in where), where


def test_a_users_cdk_app_synthesizes_the_tuner_with_the_repositorys_asset(installed: Installed) -> None:
    # GIVEN a user's own CDK app, outside the repository, adding the construct from the package
    (installed.user_dir / "app.py").write_text(USER_APP)
    # WHEN it is synthesized (cdk-nag makes synth fail on any finding)
    installed.run("python", "app.py")
    outdir = installed.user_dir / "cdk.out"
    # THEN cdk-nag passed with no violation
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [plugin["conclusion"] for plugin in report["pluginReports"]] == ["success"]
    assert all(plugin["violations"] == [] for plugin in report["pluginReports"])
    # AND the functions' one asset is the repository's, file for file (so the same size and the same hash)
    (asset,) = [path for path in outdir.glob("asset.*") if (path / "lambdas").is_dir()]
    assert _asset_files(asset) == _repository_asset(ASSET_HANDLERS)
    # AND the handler strings are the asset's paths, as from the repository's app
    template = json.loads((outdir / "MyService.template.json").read_text())
    handlers = {
        resource["Properties"]["Handler"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert handlers == {f"lambdas.{name}.handler" for name in FUNCTION_NAMES}


def _asset_files(asset: Path) -> dict[str, bytes]:
    return {str(path.relative_to(asset)): path.read_bytes() for path in asset.rglob("*") if path.is_file()}


def _repository_asset(handlers: tuple[str, ...]) -> dict[str, bytes]:
    """What the repository's asset of these handlers holds."""
    return {str(relative): staged_content(source) for relative, source in asset_sources(handlers).items()}


def test_the_installed_stack_builds_each_asset_as_the_repository(installed: Installed) -> None:
    # GIVEN the whole stack from the installed package, with the workflow tuner (the default)
    (installed.user_dir / "stack_app.py").write_text(STACK_APP)
    # WHEN it is synthesized
    installed.run("python", "stack_app.py")
    outdir = installed.user_dir / "cdk.out.stack"
    template = json.loads((outdir / "PowerTuning.template.json").read_text())
    key_of = {
        resource["Properties"]["Handler"].split(".")[1]: resource["Properties"]["Code"]["S3Key"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    # THEN the tuner's and the fleet's functions run one asset, the workflow tuner's another, each
    # the repository's file for file
    staged = {path for path in outdir.glob("asset.*") if (path / "lambdas").is_dir()}
    assert len(staged) == 2
    for handlers in (ASSET_HANDLERS, WORKFLOW_FUNCTION_NAMES):
        (key,) = {key_of[name] for name in handlers}
        asset = outdir / f"asset.{key.removesuffix('.zip')}"
        assert asset in staged
        assert _asset_files(asset) == _repository_asset(handlers)
