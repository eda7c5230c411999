"""The workflow report: the drawing's structure (what is inside what, side by side, highlighted,
fixed), from the result's steps and from the graph, the summary, and that nothing the user's workflow
names can inject markup, read back with an HTML parser rather than by string matching."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from powertuning.report.workflow import render_workflow_html, write_workflow_html
from powertuning.workflow.graph import Choice, Fixed, Map, Nested, Parallel, Sequence, Task
from tests.unit.test_cli_workflow import MACHINE, RESIZE, VALIDATE, result

EVIL = '</div><script>alert(1)</script><img src=x onerror="alert(2)">'
NOTIFY = "arn:aws:lambda:us-east-1:123456789012:function:notify"


@dataclass
class State:
    """A drawn state as the parser read it."""

    name: str = ""
    kind: str = ""
    classes: set[str] = field(default_factory=set)
    parent: str | None = None
    lane: str | None = None
    text: list[str] = field(default_factory=list)


class Drawing(HTMLParser):
    """Reads the drawing: every state box, the state box and lane it is in, its text."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[State] = []
        self.stack: list[tuple[str, Any]] = []  # ("state", State) / ("lane", [label]) / ("div", None)
        self.capture: tuple[State, str] | None = None
        self.lane_label: list[str] | None = None
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "span" and self.stack and self._current():
            if "name" in classes:
                self.capture = (self._current(), "name")  # type: ignore[assignment]
            elif "kind" in classes:
                self.capture = (self._current(), "kind")  # type: ignore[assignment]
        if tag != "div":
            return
        if "state" in classes:
            state = State(classes=classes, parent=self._enclosing(), lane=self._lane())
            self.states.append(state)
            self.stack.append(("state", state))
        elif "lane" in classes:
            self.stack.append(("lane", []))
        elif "label" in classes and self.stack and self.stack[-1][0] == "lane":
            self.lane_label = self.stack[-1][1]
            self.stack.append(("div", None))
        else:
            self.stack.append(("div", None))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self.capture = None
        if tag == "div" and self.stack:
            self.stack.pop()
            self.lane_label = None

    def handle_data(self, data: str) -> None:
        if self.capture is not None:
            state, what = self.capture
            setattr(state, what, getattr(state, what) + data)
        elif self.lane_label is not None:
            self.lane_label.append(data)
        current = self._current()
        if current is not None:
            current.text.append(data)

    def _current(self) -> State | None:
        for kind, value in reversed(self.stack):
            if kind == "state":
                return value  # type: ignore[no-any-return]
        return None

    def _enclosing(self) -> str | None:
        current = self._current()
        return current.name if current is not None else None

    def _lane(self) -> str | None:
        for kind, value in reversed(self.stack):
            if kind == "lane":
                return "".join(value)
            if kind == "state":
                return None
        return None

    def by_name(self) -> dict[str, State]:
        return {s.name: s for s in self.states}


def drawn(page: str) -> Drawing:
    parser = Drawing()
    parser.feed(page)
    return parser


def test_the_steps_are_drawn_nested_with_sizes_shares_the_critical_path_and_fixed_states() -> None:
    # GIVEN a result whose Map frames one task, with a fixed Wait and a critical path
    states = drawn(render_workflow_html(result(), state_machine_arn=MACHINE)).by_name()
    # THEN every step is a box, the Map's task inside it
    assert set(states) == {"Validate", "Wait", "Images", "Resize"}
    assert states["Resize"].parent == "Images"
    assert states["Validate"].parent is None
    # each task says its size now -> recommended and its share of the time
    assert "1024 MB → 256 MB" in "".join(states["Validate"].text)
    assert "10.0% of the end-to-end time" in "".join(states["Validate"].text)
    assert "512 MB → 1536 MB" in "".join(states["Resize"].text)
    # the critical path is highlighted, and only it; the fixed state is marked with why
    assert {n for n, s in states.items() if "critical" in s.classes} == {"Validate", "Images", "Resize"}
    assert "fixed" in states["Wait"].classes
    assert "held fixed: Wait state, 200.00 ms as observed" in "".join(states["Wait"].text)


def test_a_parallel_from_the_graph_has_its_branches_side_by_side_in_order() -> None:
    # GIVEN a graph: Validate, then a Parallel whose first branch is two states, and a Choice
    graph = Sequence(
        (
            Task("Validate", VALIDATE),
            Parallel(
                "Both",
                (
                    Sequence((Task("Resize", RESIZE), Fixed("Pause", (5.0,), "Wait state"))),
                    Map("Images", Task("Thumb", RESIZE), ((10, 2.0), (10, 1.0)), 3),
                ),
            ),
            Choice(
                "Route",
                (
                    (0.7, Task("Notify", NOTIFY)),
                    (0.3, Nested("Sub", f"{MACHINE}-child", Task("Inner", VALIDATE))),
                ),
            ),
        )
    )
    steps = [{"state": name, "type": "Task", "shareOfTime": 0.2} for name in ("Validate", "Resize", "Thumb")]
    states = drawn(render_workflow_html({**result(), "steps": steps}, graph=graph)).by_name()
    # THEN the first branch holds both of its states, the second the Map with its task inside
    assert (states["Resize"].parent, states["Resize"].lane) == ("Both", "branch 1")
    assert (states["Pause"].parent, states["Pause"].lane) == ("Both", "branch 1")
    assert (states["Images"].parent, states["Images"].lane) == ("Both", "branch 2")
    assert states["Thumb"].parent == "Images"
    assert "Map over 10 items, at most 3 at a time" in "".join(states["Images"].text)
    # a Choice's options are labelled with their frequencies; a nested workflow frames its states
    assert states["Notify"].lane == "option 1: 70% of executions"
    assert states["Sub"].lane == "option 2: 30% of executions"
    assert states["Inner"].parent == "Sub"
    assert "fixed" in states["Pause"].classes
    assert "fixed" not in states["Resize"].classes
    assert states["Thumb"].kind == "Task"


def test_steps_with_branches_group_into_lanes_and_steps_without_say_they_cannot() -> None:
    steps = [
        {"state": "Both", "type": "Parallel", "shareOfTime": 0.9},
        {
            "state": "A1",
            "type": "Task",
            "function": VALIDATE,
            "shareOfTime": 0.1,
            "parent": "Both",
            "branch": 0,
        },
        {
            "state": "A2",
            "type": "Task",
            "function": VALIDATE,
            "shareOfTime": 0.1,
            "parent": "Both",
            "branch": 0,
        },
        {
            "state": "B1",
            "type": "Task",
            "function": RESIZE,
            "shareOfTime": 0.8,
            "parent": "Both",
            "branch": 1,
        },
    ]
    page = render_workflow_html({**result(), "steps": steps})
    states = drawn(page).by_name()
    assert [states[n].lane for n in ("A1", "A2", "B1")] == ["branch 1", "branch 1", "branch 2"]
    assert "does not say which branch" not in page
    # WHEN the result does not carry the branch of each step
    unknown = [{k: v for k, v in s.items() if k != "branch"} for s in steps]
    page = render_workflow_html({**result(), "steps": unknown})
    # THEN each is its own lane, and the drawing says it cannot tell
    assert [drawn(page).by_name()[n].lane for n in ("A1", "A2", "B1")] == ["branch 1", "branch 2", "branch 3"]
    assert "does not say which branch each state is in" in page


def test_a_function_that_was_not_tuned_is_marked_with_its_error() -> None:
    skipped = result()
    skipped["functions"][1].update(tuned=False, error="TargetFunctionError: boom", recommendedMemory=512)
    states = drawn(render_workflow_html(skipped)).by_name()
    assert "not-tuned" in states["Resize"].classes
    assert "not tuned: TargetFunctionError: boom; keeps its size" in "".join(states["Resize"].text)
    assert "512 MB (unchanged)" in "".join(states["Resize"].text)


def test_the_summary_says_now_and_recommended_and_whether_the_target_is_met() -> None:
    page = render_workflow_html(result(met=False), state_machine_arn=MACHINE, execution_arn="arn:x")
    assert "<title>Workflow power tuning: orders</title>" in page
    assert 'p90 end-to-end duration at most 100.00 ms: <span class="unmet">not met</span>' in page
    assert "1,800.00 ms now &rarr; 1,400.00 ms recommended" in page
    assert "$0.000040000 now &rarr; $0.000030000 recommended" in page
    assert "Validate &rarr; Images &rarr; Resize" in page


HOSTILE = [
    EVIL,
    '" onmouseover="alert(1)',
    "<style>body{display:none}</style>",
    "&lt;already-escaped&gt;",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_nothing_the_workflow_names_can_inject_markup(name: str) -> None:
    # GIVEN a result where a user-controlled text is hostile everywhere it can appear
    hostile = result()
    hostile["steps"][0]["state"] = name
    hostile["criticalPath"] = [name, "Images"]
    hostile["fixed"] = [{"state": "Wait", "reason": name, "ms": 1.0}]
    hostile["functions"][1].update(tuned=False, error=name)
    hostile["statistic"] = name
    hostile["solver"]["method"] = name
    page = render_workflow_html(hostile, state_machine_arn=f"{MACHINE}{name}", execution_arn=name)
    # THEN no element, attribute or style of its making exists: only the report's own tags
    parser = drawn(page)
    assert set(parser.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "dl",
        "dt",
        "dd",
        "span",
        "div",
        "p",
        "table",
        "tr",
        "th",
        "td",
        "footer",
    }
    assert page.count("<style>") == 1
    assert "onmouseover=" not in page.replace("onmouseover=&quot;", "")
    # and the text reads back exactly as typed
    assert name in parser.by_name()
    assert "critical" in parser.by_name()[name].classes


def test_the_page_is_self_contained() -> None:
    page = render_workflow_html(result(), state_machine_arn=MACHINE)
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    for remote in ("http://", "https://", "<script", " src=", "url(", "@import", "<link"):
        assert remote not in page


def test_write_returns_the_size_written(tmp_path: Path) -> None:
    path = tmp_path / "workflow.html"
    size = write_workflow_html(path, result(), state_machine_arn=MACHINE)
    assert size == len(path.read_bytes())
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
