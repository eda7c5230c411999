"""Adaptive sampling (`sampling: "adaptive"`): measure memory sizes in rounds, stop once one is the best.

Pure decision code: no boto3, no clock, no randomness. Nothing below it imports it (the Executor,
the Publisher and the Initializer do not); the Analyzer's dispatcher and `powertuning.analyzer` do.

- `state`     the race's wire state (`$.adaptive`) and its `RaceSettings`
- `estimates` each size's objective: trimmed mean, Yuen's standard error, the pooled spread
- `model`     one model of duration against memory over every size measured (Lambda's CPU share)
- `race`      rounds, elimination, admitting new sizes
- `auto`      the `powerValues: "auto"` search
- `outcome`   what a finished race reports: per-size results and how sure the pick is
- `step`      the state machine's decision step, and the one driver of the loop for simulations
"""
