"""The CDK app's stack and constructs; `PowerTuner` is the reusable construct.

Installed from the wheel this package is `powertuning.cdk` (pyproject.toml's package-dir), so its
modules import each other relatively and the core by its absolute name.
"""

from .options import TunerOptions
from .power_tuner import PowerTuner
from .power_tuning_stack import PowerTuningStack

__all__ = ["PowerTuner", "PowerTuningStack", "TunerOptions"]
