"""The lifecycle of what a run creates on the target function, one module a phase.

Ownership is proved, never assumed from the state: every version a run publishes is described
`powertuning <runId> RAM<size>` (set on $LATEST before publishing, which also guarantees Lambda
publishes a new version rather than returning an existing one). Cleanup deletes only versions that
carry the run's marker and only aliases named like the run's (`RAM<size>[-<i>]`) that point to such
a version; it restores $LATEST only while the run's marker is on it. A forged, stale or foreign list
can therefore never remove anything the run did not create.

Each run is registered in the run table (one item per function) before it changes anything, with
the function's original configuration: a second run on the function is refused, and the recovery
rule and `powertune clean` read the original from there, never from a marked $LATEST.

- `start`: the Initializer's checks and the run's registration (`initialize`);
- `publish`: one version and `RAM<size>` alias per size and architecture (`publish_next`);
- `apply`: the Optimizer's `optimize` (autoOptimize), then the run's end;
- `cleanup`: what a run created deleted, `$LATEST` restored (`cleanup`, `restore_latest`);
- `recovery`: runs that ended without their own cleanup (the recovery rule's `ensure_ended` and
  `recover`; `powertune clean`'s `plan_clean` and `apply_clean`);
- `registration`: the run table's side shared by every phase (`still_owned`, `finish`).

Each phase imports only the phases listed below it here, never one above.
"""
