"""What each tuner function may do: tables of actions by function name, which PowerTuner grants on
the resources it scopes, and the actions it denies every tuner role on any tuner's own functions.

The grants are the calls each function's code makes, error and undo paths included
(tests/infrastructure check them against the handlers' code).
"""

from __future__ import annotations

from typing import Final

# The Lambda API actions each function's code can call on the functions being tuned, error paths
# included (tests/infrastructure check this table against the handlers' code). lambda_api waits for
# updates with boto3's `function_updated` waiter, which polls GetFunctionConfiguration.
TARGET_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    # Reads versions and aliases to refuse a function with another run's leftovers, and the tags of
    # every function an input names, to refuse any tuner's own (powertuning:tuner).
    # With coldStartRate, the provisioned concurrency of the function's aliases and versions (its INIT
    # is then billed when environments are readied, not per invocation).
    "initializer": (
        "GetFunctionConfiguration",
        "ListAliases",
        "ListProvisionedConcurrencyConfigs",
        "ListTags",
        "ListVersionsByFunction",
    ),
    "publisher": (
        "CreateAlias",
        # Rolls back a half-published size (found by its marker) before failing.
        "DeleteAlias",
        "DeleteFunction",
        "GetAlias",
        "GetFunctionConfiguration",
        "ListAliases",
        "ListVersionsByFunction",
        "PublishVersion",
        "UpdateAlias",
        "UpdateFunctionConfiguration",
    ),
    # Invokes the aliases under test and the optional pre-/post-processor functions.
    "executor": ("GetFunctionConfiguration", "InvokeFunction"),
    "cleaner": (
        # Points a user's autoOptimizeAlias back when a failed Optimizer had moved it.
        "CreateAlias",
        "DeleteAlias",
        # Always with a version number as Qualifier: deletes one published version, never the function.
        "DeleteFunction",
        "GetAlias",
        "GetFunctionConfiguration",
        "ListAliases",
        "ListVersionsByFunction",
        "UpdateAlias",
        "UpdateFunctionConfiguration",
    ),
    "analyzer": (),
    "optimizer": (
        "CreateAlias",
        # Undoes its own work (by the run's marker) if the execution stopped while it applied.
        "DeleteAlias",
        "DeleteFunction",
        "GetAlias",
        "GetFunctionConfiguration",
        "ListAliases",
        "ListVersionsByFunction",
        "PublishVersion",
        "UpdateAlias",
        "UpdateFunctionConfiguration",
    ),
}
# Only with the deploy option `architectures` (input `architectures`, `imageUris`): what changes a
# function's code, on the same resources as TARGET_ACTIONS. Without it no role holds any of these.
CODE_CHANGE_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    # Downloads the code to stage it (Code.Location), or reads the image it runs (Code.ImageUri).
    "initializer": ("GetFunction",),
    # The same code on the other architecture, then the original back.
    "publisher": ("UpdateFunctionCode",),
    # Restores the original architecture and code of a run that measured another one.
    "cleaner": ("UpdateFunctionCode",),
    # Its undo path is the cleanup, which restores code a run switched (never, in practice:
    # autoOptimize is refused with another architecture, but the path exists).
    "optimizer": ("UpdateFunctionCode",),
}
# With the option: the Initializer reads the layers the function uses (CompatibleArchitectures), of
# this account only (another account's layer is not checked: architectures.py).
LAYER_ACTIONS: Final[dict[str, tuple[str, ...]]] = {"initializer": ("lambda:GetLayerVersion",)}
# The staging bucket (deploy option `architectures`): the Initializer stores the copy (and deletes
# it if the run is refused); whoever calls UpdateFunctionCode from it needs s3:GetObject (Lambda
# reads the object with the caller's permissions); cleanup deletes it once the original is verified
# back (the Publisher's and Optimizer's undo paths are that cleanup).
STAGING_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "initializer": ("s3:PutObject", "s3:DeleteObject"),
    "publisher": ("s3:GetObject", "s3:DeleteObject"),
    "cleaner": ("s3:GetObject", "s3:DeleteObject"),
    "optimizer": ("s3:GetObject", "s3:DeleteObject"),
}
# The run table: who registers a run, who reads it, who ends it.
RUN_TABLE_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "initializer": ("dynamodb:GetItem", "dynamodb:PutItem"),
    # Checks that its run is still on before and after publishing.
    "publisher": ("dynamodb:GetItem",),
    "cleaner": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"),
    "optimizer": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"),
}
# What no tuner role may do to the tuner's own functions: change, publish, delete or invoke them.
SELF_DENIED_ACTIONS: Final = (
    "lambda:CreateAlias",
    "lambda:DeleteAlias",
    "lambda:DeleteFunction",
    "lambda:InvokeFunction",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
)
