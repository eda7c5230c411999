"""Where the handlers (lambdas/) and the ASL (statemachine/) are: beside this package, or inside it.

In the repository they sit beside `powertuning/` (its top level is the CDK app's: app.py, stacks/,
lambdas/, statemachine/); the wheel installs them inside it, as `powertuning.lambdas` and
`powertuning.statemachine`, with `stacks/` as `powertuning.cdk`, so that nothing but `powertuning`
is installed at the top level (pyproject.toml's package-dir). The folder tree says which layout
runs, decided here once: the ASL, the Lambda asset and the local engine ask this module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent
# Installed, the handlers are a subpackage of powertuning; a checkout has no powertuning/lambdas/.
INSTALLED: Final = (PACKAGE_DIR / "lambdas" / "__init__.py").is_file()
# The folder holding lambdas/ and statemachine/: site-packages/powertuning, or the repository.
SOURCE_ROOT: Final = PACKAGE_DIR if INSTALLED else PACKAGE_DIR.parent
HANDLERS_DIR: Final = SOURCE_ROOT / "lambdas"
ASL_DIR: Final = SOURCE_ROOT / "statemachine"


def handlers_package() -> str:
    """The name this process imports the handlers by (the local engine runs them in-process).

    Installed: `powertuning.lambdas`. A checkout: `lambdas` when the repository is on `sys.path`
    (pytest, PYTHONPATH, `python app.py`); else `powertuning.lambdas`, which an editable install maps
    to the same folder (`powertune local` run as a console script, as `make demo` does). In Lambda it
    is always `lambdas`: the asset has lambdas/ at its root in both layouts, so the functions'
    handler strings never change.
    """
    if not INSTALLED:
        spec = importlib.util.find_spec("lambdas")
        if (
            spec is not None
            and spec.origin is not None
            and Path(spec.origin).resolve() == HANDLERS_DIR / "__init__.py"
        ):
            return "lambdas"
    return "powertuning.lambdas"


def install_command(extra: str) -> str:
    """How to add an optional extra here: from the registry when installed, editable from a checkout
    (`pip install 'powertuning[X]'` would fetch another copy instead of extending the clone's)."""
    if INSTALLED:
        return f"pip install 'powertuning[{extra}]'"
    return f"pip install -e '.[{extra}]' (in the repository's folder)"
