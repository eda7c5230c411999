"""Lambda power tuning core: models, pricing, logs, statistics, analysis and the Lambda API layer."""

__version__ = "0.1.0"
