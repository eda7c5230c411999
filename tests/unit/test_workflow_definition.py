"""read_definition: every state type, in JSONPath and JSONata forms, from small definitions."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from powertuning.errors import WorkflowModelError
from powertuning.workflow import graph
from powertuning.workflow.definition import INLINE_MAP_CONCURRENCY, read_definition
from powertuning.workflow.history import Observations, StateStats

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:wf"
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


def _obs(runs: list[dict[str, StateStats]] | None = None, **states: StateStats) -> Observations:
    return Observations(states, (100.0,), (5,), tuple(runs or [states]))


def _stats(visits: int = 1, ms: float = 10.0, **extra: Any) -> StateStats:
    stats = StateStats(visits=visits, times_ms=[ms] * visits)
    for key, value in extra.items():
        setattr(stats, key, value)
    return stats


def _one(state: dict[str, Any], language: str = "JSONPath", **stats: StateStats) -> graph.Node:
    definition = {"QueryLanguage": language, "StartAt": "S", "States": {"S": {**state, "End": True}}}
    node = read_definition(json.dumps(definition), _obs(**stats), state_machine_arn=MACHINE)
    assert isinstance(node, graph.Sequence)
    assert len(node.steps) == 1
    return node.steps[0]


LAMBDA_TASKS = [
    ("JSONPath", {"Resource": FN + "a"}, FN + "a"),
    ("JSONata", {"Resource": FN + "a", "Arguments": "{% $states.input %}"}, FN + "a"),
    (
        "JSONPath",
        {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "a"}},
        FN + "a",
    ),
    (
        "JSONPath",
        {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "a:prod"}},
        FN + "a:prod",
    ),
    (
        "JSONPath",
        {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "123456789012:function:a"},
        },
        FN + "a",
    ),
    (
        "JSONata",
        {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": FN + "b", "Payload": "{% $x %}"},
        },
        FN + "b",
    ),
]


@pytest.mark.parametrize(("language", "state", "function"), LAMBDA_TASKS)
def test_lambda_tasks(language: str, state: dict[str, Any], function: str) -> None:
    # GIVEN 2 visits of 50 ms with 3 calls (a retry) of 20 ms each
    stats = _stats(2, 50.0, calls=3, call_ms=[20.0, 20.0, 20.0])
    node = _one({"Type": "Task", **state}, language, S=stats)
    assert node == graph.Task("S", function, calls=1.5, overhead_ms=50.0 - 30.0)


FIXED_TASKS = [
    (
        "JSONPath",
        {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}},
        "run time",
    ),
    (
        "JSONata",
        {"Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": "{% $f %}"}},
        "run time",
    ),
    (
        "JSONata",
        {"Resource": "arn:aws:states:::lambda:invoke", "Arguments": "{% $states.input %}"},
        "run time",
    ),
    ("JSONPath", {"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"}, "task token"),
    ("JSONPath", {"Resource": "arn:aws:states:us-east-1:123456789012:activity:review"}, "an activity"),
    (
        "JSONata",
        {"Resource": "arn:aws:states:::dynamodb:putItem", "Arguments": {}},
        "dynamodb:putItem integration",
    ),
    (
        "JSONPath",
        {"Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken"},
        "sqs:sendMessage.waitForTaskToken",
    ),
    (
        "JSONPath",
        {"Resource": "arn:aws:states:::states:startExecution", "Parameters": {}},
        "startExecution integration",
    ),
]


@pytest.mark.parametrize(("language", "state", "reason"), FIXED_TASKS)
def test_tasks_held_fixed_keep_their_times_and_say_why(
    language: str, state: dict[str, Any], reason: str
) -> None:
    node = _one({"Type": "Task", **state}, language, S=_stats(2, 70.0))
    assert isinstance(node, graph.Fixed)
    assert node.samples_ms == (70.0, 70.0)
    assert reason in node.reason


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
@pytest.mark.parametrize("kind", ["Wait", "Pass"])
def test_wait_and_pass(language: str, kind: str) -> None:
    state = {"Type": kind, **({"Seconds": 2} if kind == "Wait" else {})}
    node = _one(state, language, S=_stats(3, 2000.0))
    assert node == graph.Fixed("S", (2000.0,) * 3, f"a {kind} state: its time from the history")


def test_succeed_and_fail_take_no_time() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": FN + "a", "Next": "Ok"}, "Ok": {"Type": "Succeed"}},
    }
    node = read_definition(definition, _obs(A=_stats(), Ok=_stats()), state_machine_arn=MACHINE)
    assert [type(s).__name__ for s in node.steps] == ["Task"]


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_parallel(language: str) -> None:
    def branch(name: str) -> dict[str, Any]:
        return {"StartAt": name, "States": {name: {"Type": "Task", "Resource": FN + name, "End": True}}}

    node = _one(
        {"Type": "Parallel", "Branches": [branch("a"), branch("b")]}, language, a=_stats(), b=_stats()
    )
    assert isinstance(node, graph.Parallel)
    assert [b.steps[0].function for b in node.branches] == [FN + "a", FN + "b"]


MAPS = [
    # (language, map fields, stats extra, expected max_concurrency, distributed)
    ("JSONPath", {"Iterator": "legacy", "MaxConcurrency": 3}, {}, 3, False),
    ("JSONPath", {"ItemProcessor": "inline", "MaxConcurrency": 0}, {}, INLINE_MAP_CONCURRENCY, False),
    ("JSONPath", {"ItemProcessor": "inline", "MaxConcurrency": 100}, {}, INLINE_MAP_CONCURRENCY, False),
    ("JSONPath", {"ItemProcessor": "inline", "MaxConcurrencyPath": "$.limit"}, {"concurrency": 4}, 4, False),
    (
        "JSONata",
        {"ItemProcessor": "inline", "MaxConcurrency": "{% $limit %}", "Items": "{% $x %}"},
        {"concurrency": 5},
        5,
        False,
    ),
    ("JSONata", {"ItemProcessor": "inline", "MaxConcurrency": 2}, {}, 2, False),
    ("JSONPath", {"ItemProcessor": "distributed", "MaxConcurrency": 1000}, {}, 1000, True),
    ("JSONata", {"ItemProcessor": "distributed"}, {}, 0, True),
]


@pytest.mark.parametrize(("language", "fields", "extra", "concurrency", "distributed"), MAPS)
def test_maps(
    language: str, fields: dict[str, Any], extra: dict[str, Any], concurrency: int, distributed: bool
) -> None:
    body = {"StartAt": "Item", "States": {"Item": {"Type": "Task", "Resource": FN + "item", "End": True}}}
    fields = dict(fields)
    for key in ("Iterator", "ItemProcessor"):
        if key in fields:
            mode = fields.pop(key)
            processor = dict(body)
            if mode != "legacy":
                processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED" if mode == "distributed" else "INLINE"}
            fields[key] = processor
    stats = _stats(2, 500.0, items=Counter({10: 1, 4: 1}), **extra)
    node = _one({"Type": "Map", **fields}, language, S=stats, Item=_stats(14, 30.0, calls=14))
    assert isinstance(node, graph.Map)
    assert node.items == ((4, 1.0), (10, 1.0))
    assert node.max_concurrency == concurrency
    assert node.distributed is distributed
    assert node.body.steps[0] == graph.Task("Item", FN + "item", 1.0, 30.0)


CHOICES = [
    ("JSONPath", [{"Variable": "$.x", "NumericGreaterThan": 1, "Next": "Big"}]),
    ("JSONata", [{"Condition": "{% $states.input.x > 1 %}", "Next": "Big"}]),
]


@pytest.mark.parametrize(("language", "rules"), CHOICES)
def test_choice_by_frequency_joined_where_branches_meet(language: str, rules: list[dict[str, Any]]) -> None:
    definition = {
        "QueryLanguage": language,
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": rules, "Default": "Small"},
            "Big": {"Type": "Task", "Resource": FN + "big", "Next": "Join"},
            "Small": {"Type": "Pass", "Next": "Join"},
            "Join": {"Type": "Task", "Resource": FN + "join", "End": True},
        },
    }
    observed = _obs(
        C=_stats(4, 1.0, next=Counter({"Big": 3, "Small": 1})), Big=_stats(3), Small=_stats(1), Join=_stats(4)
    )
    node = read_definition(definition, observed, state_machine_arn=MACHINE)
    choice, join = node.steps
    assert isinstance(choice, graph.Choice)
    assert [p for p, _ in choice.options] == [0.75, 0.25]
    assert [[s.name for s in o.steps] for _, o in choice.options] == [["Big"], ["Small"]]
    assert join.name == "Join"


def test_a_choice_option_never_taken_is_left_out() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Rare"}],
                "Default": "End",
            },
            "Rare": {"Type": "Task", "Resource": FN + "rare", "Next": "End"},
            "End": {"Type": "Succeed"},
        },
    }
    node = read_definition(
        definition, _obs(C=_stats(2, next=Counter({"End": 2})), End=_stats(2)), state_machine_arn=MACHINE
    )
    assert graph.functions(node) == ()


def test_per_state_query_language_overrides_the_top_level() -> None:
    definition = {
        "QueryLanguage": "JSONPath",
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::lambda:invoke",
                # In JSONata the arguments are `Arguments`; a `Parameters` key would be JSONPath's.
                "Arguments": {"FunctionName": "a"},
                "End": True,
            }
        },
    }
    node = read_definition(definition, _obs(S=_stats()), state_machine_arn=MACHINE)
    assert node.steps[0].function == FN + "a"


def test_a_caught_error_taken_is_a_branch() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": FN + "t",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
                "Next": "After",
            },
            "Fallback": {"Type": "Task", "Resource": FN + "fallback", "Next": "After"},
            "After": {"Type": "Pass", "End": True},
        },
    }
    observed = _obs(
        T=_stats(5, next=Counter({"After": 4, "Fallback": 1})), Fallback=_stats(1), After=_stats(5)
    )
    node = read_definition(definition, observed, state_machine_arn=MACHINE)
    task, choice, after = node.steps
    assert task.function == FN + "t"
    assert [(p, [s.name for s in o.steps]) for p, o in choice.options] == [(0.8, []), (0.2, ["Fallback"])]
    assert after.name == "After"


def test_a_catch_never_taken_costs_nothing() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": FN + "t",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
                "End": True,
            },
            "Fallback": {"Type": "Task", "Resource": FN + "fallback", "End": True},
        },
    }
    node = read_definition(definition, _obs(T=_stats(3)), state_machine_arn=MACHINE)
    assert graph.functions(node) == (FN + "t",)


def _poll_loop() -> dict[str, Any]:
    return {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Task", "Resource": FN + "start", "Next": "Poll"},
            "Poll": {"Type": "Task", "Resource": FN + "poll", "Next": "Ready?"},
            "Ready?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ready", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Poll"},
            "Done": {"Type": "Task", "Resource": FN + "done", "End": True},
        },
    }


def test_a_loop_is_unrolled_by_the_iterations_the_history_showed() -> None:
    # GIVEN two executions: Poll ran 3 times in one, once in the other
    def run(polls: int) -> dict[str, StateStats]:
        return {
            "Start": _stats(1, next=Counter({"Poll": 1})),
            "Poll": _stats(
                polls, prev=Counter({"Start": 1, "Wait": polls - 1}), next=Counter({"Ready?": polls})
            ),
            "Ready?": _stats(polls, 0.0, next=Counter({"Wait": polls - 1, "Done": 1})),
            "Wait": _stats(polls - 1, 1000.0, next=Counter({"Poll": polls - 1})),
            "Done": _stats(1),
        }

    first, second = run(3), run(1)
    total = {name: StateStats() for name in first}
    for one in (first, second):
        for name, stats in one.items():
            total[name].merge(stats)
    observed = Observations(total, (1.0, 1.0), (1, 1), (first, second))
    node = read_definition(_poll_loop(), observed, state_machine_arn=MACHINE)
    start, loop, done = node.steps
    assert (start.name, done.name) == ("Start", "Done")
    assert isinstance(loop, graph.Choice)
    assert [p for p, _ in loop.options] == [0.5, 0.5]
    once, thrice = (o for _, o in loop.options)
    assert [s.name for s in once.steps] == ["Poll", "Ready?"]
    assert [s.name for s in thrice.steps] == ["Poll", "Ready?"] * 3
    # each iteration: Wait with the frequency it had (2 of 4 visits of Ready? went back)
    choice = once.steps[1]
    assert [(p, [s.name for s in o.steps]) for p, o in choice.options] == [(0.5, []), (0.5, ["Wait"])]


def test_a_loop_with_two_entries_is_refused_not_walked_forever() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "A"}],
                "Default": "B",
            },
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.b", "IsPresent": True, "Next": "A"}],
                "Default": "End",
            },
            "End": {"Type": "Succeed"},
        },
    }
    observed = _obs(
        C=_stats(2, next=Counter({"A": 1, "B": 1})),
        A=_stats(3, next=Counter({"B": 3})),
        B=_stats(4, next=Counter({"A": 2, "End": 2})),
        End=_stats(2),
    )
    with pytest.raises(WorkflowModelError, match="the loop through states A, B has 2 entries"):
        read_definition(definition, observed, state_machine_arn=MACHINE)


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
@pytest.mark.parametrize("resource", ["states:startExecution.sync", "states:startExecution.sync:2"])
def test_nested_workflows_through_the_callback(language: str, resource: str) -> None:
    child = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    key = "Arguments" if language == "JSONata" else "Parameters"
    executions = [child.replace("stateMachine", "execution") + ":run-1"]
    asked: list[tuple[str, str, tuple[str, ...]]] = []

    def nested(state: str, machine: str, children: Any) -> graph.Node:
        asked.append((state, machine, tuple(children)))
        return graph.Sequence((graph.Task("Inner", FN + "inner"),))

    definition = {
        "QueryLanguage": language,
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::{resource}",
                key: {"StateMachineArn": child},
                "End": True,
            }
        },
    }
    node = read_definition(
        definition, _obs(S=_stats(children=executions)), state_machine_arn=MACHINE, nested=nested
    )
    assert node.steps[0] == graph.Nested("S", child, graph.Sequence((graph.Task("Inner", FN + "inner"),)))
    assert asked == [("S", child, tuple(executions))]


def test_a_nested_workflow_named_at_run_time_is_found_from_its_execution() -> None:
    execution = "arn:aws:states:us-east-1:123456789012:execution:child:run-1"
    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn.$": "$.m"},
                "End": True,
            }
        },
    }
    node = read_definition(
        definition,
        _obs(S=_stats(children=[execution])),
        state_machine_arn=MACHINE,
        nested=lambda *_: graph.Sequence(()),
    )
    assert node.steps[0].state_machine == "arn:aws:states:us-east-1:123456789012:stateMachine:child"


def test_without_a_callback_a_nested_workflow_is_fixed() -> None:
    node = _one(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": MACHINE},
        },
        S=_stats(),
    )
    assert isinstance(node, graph.Fixed)


BAD_DEFINITIONS = [
    ("not json", "not JSON"),
    ("[]", "not a JSON object"),
    ({"StartAt": "A"}, "has no States"),
    (
        {"StartAt": "B", "States": {"A": {"Type": "Pass", "End": True}}},
        "StartAt 'B' is not one of its states",
    ),
    ({"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": True}}}, "unknown Type 'Sleep'"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Z"}}}, "goes to 'Z'"),
    ({"StartAt": "A", "States": {"A": {"Type": "Parallel", "End": True}}}, "has no Branches"),
    ({"StartAt": "A", "States": {"A": {"Type": "Map", "End": True}}}, "item processor of 'A' has no States"),
    (
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "not a name"},
                    "End": True,
                }
            },
        },
        "not a Lambda function",
    ),
]


@pytest.mark.parametrize(("definition", "message"), BAD_DEFINITIONS)
def test_bad_definitions(definition: Any, message: str) -> None:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    with pytest.raises(WorkflowModelError, match=message):
        read_definition(text, _obs(A=_stats()), state_machine_arn=MACHINE)
