"""Where the handlers (lambdas/) and the ASL (statemachine/) are: beside this package, or inside it.

In the repository they sit beside `powertuning/` (its top level is the CDK app's: app.py, stacks/,
lambdas/, statemachine/); the wheel installs them inside it, as `powertuning.lambdas` and
`powertuning.statemachine`, with `stacks/` as `powertuning.cdk`, so that nothing but `powertuning`
is installed at the top level (pyproject.toml's package-dir). The folder tree says which layout
runs, decided here once: the stack, the Lambda asset and the local engine ask this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent
# Installed, the handlers are a subpackage of powertuning; a checkout has no powertuning/lambdas/.
INSTALLED: Final = (PACKAGE_DIR / "lambdas" / "__init__.py").is_file()
# The folder holding lambdas/ and statemachine/: site-packages/powertuning, or the repository.
SOURCE_ROOT: Final = PACKAGE_DIR if INSTALLED else PACKAGE_DIR.parent
HANDLERS_DIR: Final = SOURCE_ROOT / "lambdas"
ASL_DIR: Final = SOURCE_ROOT / "statemachine"
# The handlers' package as this process imports it. In Lambda it is always `lambdas` (the asset
# puts lambdas/ at its root in both layouts, so the functions' handler strings never change).
HANDLERS_PACKAGE: Final = "powertuning.lambdas" if INSTALLED else "lambdas"
