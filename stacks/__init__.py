"""The CDK app's stack and constructs; `PowerTuner` is the reusable construct."""

from stacks.options import TunerOptions
from stacks.power_tuner import PowerTuner
from stacks.power_tuning_stack import PowerTuningStack

__all__ = ["PowerTuner", "PowerTuningStack", "TunerOptions"]
