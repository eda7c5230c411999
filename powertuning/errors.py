"""Every failure the tuner can report. The class name is the errorType Step Functions sees.

Catch/Retry clauses in statemachine/power_tuning.asl.json and users' own alarms match these names,
so keep them stable.
"""

from __future__ import annotations


class PowerTuningError(Exception):
    """Base class of every error raised by the tuner."""


class InvalidInputError(PowerTuningError):
    """An execution input key has a wrong type, a value out of range or an unknown name."""


class InvalidOptionError(PowerTuningError):
    """A deploy-time option of the CDK app or the CLI is invalid."""


class CodeMismatchError(PowerTuningError):
    """The qualified ARN to tune runs code that differs from the function's $LATEST."""


class AliasConflictError(PowerTuningError):
    """An alias this run would create already exists on the function."""


class FunctionNotFoundError(PowerTuningError):
    """The function to tune does not exist or cannot be read."""


class VersionNotActiveError(PowerTuningError):
    """A version the run published never became Active (a SnapStart snapshot failed or took too long)."""


class PayloadError(PowerTuningError):
    """The payload, or the object named by payloadS3, cannot be read or used."""


class ProcessorError(PowerTuningError):
    """The pre-processor or post-processor function failed."""


class TargetFunctionError(PowerTuningError):
    """The function being tuned returned an error while it was measured."""


class LogParseError(PowerTuningError):
    """No REPORT record could be read from an invocation's log tail."""


class ThrottledError(PowerTuningError):
    """The Lambda API kept throttling after every retry."""


class CleanupError(PowerTuningError):
    """Cleanup could not delete what the run created or restore $LATEST."""


class SelfTargetError(PowerTuningError):
    """An input ARN names one of the tuner's own functions, which it never acts on."""


class RunInProgressError(PowerTuningError):
    """Another run is registered on the function; one run per function at a time."""


class RunEndedError(PowerTuningError):
    """The run ended (stopped, timed out, recovered) while one of its steps was still running."""


class LeftoversError(PowerTuningError):
    """The function carries aliases, versions or a marker left by an earlier run."""


class StateLimitError(PowerTuningError):
    """The input could make a state exceed Step Functions' 256 KB limit."""


class StepFunctionsError(PowerTuningError):
    """Step Functions itself ended a step (a timeout, a runtime error); the cause names it."""


class StateMachineNotFoundError(PowerTuningError):
    """No state machine ARN (or other stack output) could be found from the stack given."""


class FleetInputError(InvalidInputError):
    """A fleet input is invalid or selects nothing that can be tuned; nothing was started."""


class FleetToleranceError(PowerTuningError):
    """More of a fleet's functions failed than its toleratedFailurePercentage allows."""


class ArchitectureError(PowerTuningError):
    """The function cannot be measured on an architecture the input's `architectures` asks for."""


class CodeRestoreError(PowerTuningError):
    """The function's original code and architecture could not be put back and verified."""


class ResultFormatError(PowerTuningError):
    """A document is not an execution output (nor a DescribeExecution answer holding one)."""


class RecommendationError(PowerTuningError):
    """The Optimizer got no valid recommended size (`$.analysis.power`) for a run that is not a dry run."""


class CodeChangeDisabledError(PowerTuningError):
    """The input would change the function's code, which this deployment does not allow."""


class ImageNotAllowedError(PowerTuningError):
    """An `imageUris` image is not from a repository this deployment allows, or not by digest."""


class ForeignCodeError(PowerTuningError):
    """$LATEST runs code neither original nor the run's own (a deploy made during the run): kept as it is."""


class StagedCodeError(PowerTuningError):
    """The staged copy of the function's code is not the code recorded at the start; it is never deployed."""


class ExecutionRunningError(PowerTuningError):
    """Recovery was asked for an execution that is still running; nothing was changed."""


class ColdStartRateError(PowerTuningError):
    """coldStartRate "production" could not be read from the function's log group."""


class WorkflowInputError(InvalidInputError):
    """A workflow tuner input is invalid, or its state machine or executions cannot be used."""


class WorkflowModelError(PowerTuningError):
    """The workflow's definition or history holds something the model cannot read."""


class WorkflowTuningError(PowerTuningError):
    """A function of the workflow could not be tuned and onError is "fail"."""


class NoProductionRateError(ColdStartRateError):
    """The function's logs hold no rate to read (no log group, no REPORT record, a custom log group)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        # In a few words, for "production-if-available", whose run goes on without a rate.
        self.reason = reason
