"""The recovery rule's Cleaner: it may read the status of this stack's tuner executions, nothing more."""

from __future__ import annotations

import pytest

from tests.infrastructure.synthesis import Synthesized, as_list, flatten


@pytest.mark.parametrize("stack_name", ["default_stack", "variant_stack"])
def test_the_cleaner_reads_the_status_of_this_stacks_tuner_executions_only(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    statements = stack.statements_of_role(stack.role_of_function("cleaner"))
    states = [s for s in statements if any(str(a).startswith("states:") for a in as_list(s["Action"]))]
    # GIVEN the Cleaner's one Step Functions statement THEN it is DescribeExecution on the executions
    # named after this stack's tuner state machine (its name is derived from the stack id), not a prefix
    (statement,) = states
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["states:DescribeExecution"]
    (resource,) = as_list(statement["Resource"])
    text = flatten(resource)
    assert ":execution:" in text
    assert "AWS::StackId" in text
    assert text.endswith(":*")
    assert "-*:" not in text
