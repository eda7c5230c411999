"""The state machine: the ASL file inline, its placeholders bound to the six functions, observability on."""

from __future__ import annotations

import json
from typing import Any

from powertuning.deployment import ARCHITECTURES_ENV, ARCHITECTURES_TAG
from statemachine import PLACEHOLDERS, TASK_TIMEOUT_MARGIN_S, definition_text, render
from tests.infrastructure.synthesis import Synthesized


def _with_task_timeouts(definition: dict[str, Any], seconds: int) -> dict[str, Any]:
    for state in definition["States"].values():
        if state["Type"] == "Task":
            state["TimeoutSeconds"] = seconds
        if "ItemProcessor" in state:
            _with_task_timeouts(state["ItemProcessor"], seconds)
    return definition


def _substituted(machine: dict[str, Any], handler_of: dict[str, str]) -> dict[str, Any]:
    """The deployed definition: DefinitionString with each substitution's function named by handler."""
    text = machine["DefinitionString"]
    for placeholder, value in machine["DefinitionSubstitutions"].items():
        text = text.replace("${" + placeholder + "}", handler_of[value["Fn::GetAtt"][0]])
    return dict(json.loads(text))


def _handlers(stack: Synthesized) -> dict[str, str]:
    return {logical_id: props["Handler"] for logical_id, props in stack.functions().values()}


def test_definition_is_the_asl_file_after_substitution(default_stack: Synthesized) -> None:
    # GIVEN the ASL file rendered with each placeholder replaced by the handler it must call
    expected = json.loads(
        render({name: f"lambdas.{name[: -len('FunctionArn')].lower()}.handler" for name in PLACEHOLDERS})
    )
    # WHEN the template's definition gets its DefinitionSubstitutions applied
    deployed = _substituted(default_stack.state_machine(), _handlers(default_stack))
    # THEN they are the same state machine, with every Task timeout set past the functions' own
    # (totalExecutionTimeout), so Lambda stops a function before its state times out
    assert deployed == _with_task_timeouts(expected, 300 + TASK_TIMEOUT_MARGIN_S)


def test_definition_is_inline_with_one_substitution_per_placeholder(default_stack: Synthesized) -> None:
    machine = default_stack.state_machine()
    assert isinstance(machine["DefinitionString"], str)
    assert "DefinitionS3Location" not in machine
    assert set(machine["DefinitionSubstitutions"]) == set(PLACEHOLDERS)
    for placeholder in PLACEHOLDERS:
        assert "${" + placeholder + "}" in definition_text()


def test_tracing_and_logging_of_errors_without_execution_data(default_stack: Synthesized) -> None:
    machine = default_stack.state_machine()
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    # Execution data carries payloads: off unless the deployer asks (logExecutionData)
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = default_stack.resources[log_group]["Properties"]
    assert group["RetentionInDays"] == 30
    assert group["LogGroupName"].startswith("/aws/vendedlogs/states/")


def test_name_is_prefix_and_stack_id_suffix(default_stack: Synthesized) -> None:
    name = default_stack.state_machine()["StateMachineName"]
    delimiter, (prefix, suffix) = name["Fn::Join"]
    assert (delimiter, prefix) == ("-", "powerTuningStateMachine")
    assert "AWS::StackId" in json.dumps(suffix)


def test_outputs_arn_and_console_link(default_stack: Synthesized) -> None:
    outputs = default_stack.json["Outputs"]
    # `powertune run --stack-name` finds the one output whose key contains "StateMachineArn".
    assert [key for key in outputs if "StateMachineArn" in key] == ["StateMachineArn"]
    (machine_id,) = [
        key
        for key, resource in default_stack.of_type("AWS::StepFunctions::StateMachine").items()
        if "InitializerFunctionArn" in resource["Properties"]["DefinitionSubstitutions"]
    ]
    assert outputs["StateMachineArn"]["Value"] == {"Ref": machine_id}
    url = outputs["StateMachineConsoleUrl"]["Value"]["Fn::Join"][1]
    assert url[0] == "https://"
    assert url[1]["Fn::FindInMap"][1] == {"Ref": "AWS::Partition"}
    assert url[2:] == [
        "/states/home?region=",
        {"Ref": "AWS::Region"},
        "#/statemachines/view/",
        {"Ref": machine_id},
    ]
    hosts = default_stack.json["Mappings"]["ConsoleHosts"]
    assert hosts["aws"]["host"] == "console.aws.amazon.com"
    assert set(hosts) == {"aws", "aws-cn", "aws-us-gov"}


def test_the_state_machine_says_whether_its_deploy_allows_code_changes(
    default_stack: Synthesized, architectures_stack: Synthesized
) -> None:
    # `powertune run --architectures` reads this tag before it starts anything
    for stack, expected in ((default_stack, "false"), (architectures_stack, "true")):
        tags = {t["Key"]: t["Value"] for t in stack.state_machine().get("Tags", [])}
        assert tags[ARCHITECTURES_TAG] == expected
        (_, initializer) = stack.functions()["initializer"]
        assert initializer["Environment"]["Variables"][ARCHITECTURES_ENV] == expected
