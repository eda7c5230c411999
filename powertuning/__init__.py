"""Lambda power tuning core: the input, the run state, pricing, logs, statistics, analysis, the AWS seam."""

__version__ = "0.1.0"
