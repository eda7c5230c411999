"""The workflow tuner: one memory size per Lambda function of a user's Step Functions state machine,
chosen jointly so the workflow's end-to-end duration statistic stays within a target at least cost.

- `request.py`: the execution input (`WorkflowRequest`), validated before anything is read.
- `graph.py`: the workflow as a tree of steps (what the model composes); `plan.py`: what the reader
  found (the graph, each function, its payloads) and the child tuning inputs.
- `definition.py` / `history.py`: the ASL definition and the executions' histories read into a graph;
  `reader.py`: the AWS calls that fetch them (through lambda_api).
- `simulate.py`, `solver.py`, `recommend.py`: the Monte Carlo model, the joint choice, the output.

Pure except `reader.py`, which calls AWS only through `powertuning.lambda_api` with clients passed in.
"""
