"""Stripping the asset's Python: the same code (the AST, docstrings aside) with every node on its line."""

from __future__ import annotations

import ast
import io
import tokenize
import traceback

import pytest

from stacks.lambda_asset import asset_sources, staged_content
from stacks.source_stripping import docstring_nodes, strip_source
from tests.infrastructure.synthesis import ASSETS


def _code(source: str) -> ast.Module:
    """The module's AST without its docstrings: what stripping must leave exactly as it was."""
    tree = ast.parse(source)
    docstrings = {id(node) for node in docstring_nodes(tree)}
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [statement for statement in body if id(statement) not in docstrings]  # type: ignore[attr-defined]
    return tree


def _lines(tree: ast.Module) -> list[tuple[str, int]]:
    return [(type(node).__name__, node.lineno) for node in ast.walk(tree) if hasattr(node, "lineno")]


def differences(source: str, stripped: str) -> list[str]:
    """How `stripped` departs from `source` beyond comments and docstrings (nothing, if stripped right)."""
    found = []
    before, after = _code(source), _code(stripped)
    if ast.dump(before) != ast.dump(after):
        found.append("the code differs")
    pairs = zip(_lines(before), _lines(after), strict=False)
    found += [f"{a[0]} on line {a[1]} moved to line {b[1]}" for a, b in pairs if a != b]
    if len(source.splitlines()) != len(stripped.splitlines()):
        found.append(f"{len(source.splitlines())} lines became {len(stripped.splitlines())}")
    return found


def _comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def _docstrings(source: str) -> list[str]:
    return [node.value.value for node in docstring_nodes(ast.parse(source))]  # type: ignore[attr-defined]


# Every shape a docstring or a comment can take: alone on its lines, sharing a line with code, a body's
# only statement (a body cannot be empty), raw, concatenated, non-ASCII before it on the line.
CASES = {
    "function": 'def f():\n    """Doc.\n\n    More.\n    """\n    return 1  # why\n',
    "sole statement, one line": 'class E(Exception):\n    """Doc."""\n\n\nx = E()\n',
    "sole statement, lines": 'class E(Exception):\n    """Doc.\n\n    More."""  # note\n\n\nx = E()\n',
    "on the def's line": 'class E(Exception): """Doc."""\n',
    "followed by code on its line": 'def f(): """a\nb"""; return 1\n',
    "module, then a future import": '"""Mod."""\nfrom __future__ import annotations\n\nx = 1  # hi\n',
    "raw and concatenated": 'def f():\n    r"""x\\d""" "y"\n    return 1\n',
    "non-ASCII before it": 'def é(): """Doc."""; return "é"\ns = "é"; """not a docstring"""\n',
    "async and nested": (
        'class C:\n    """C."""\n\n    async def f(self):\n        """F."""\n'
        '        def g():\n            """G."""\n            return 2\n        return g\n'
    ),
    "a hash in a string": 'x = """not # a comment"""  # but this\ny = "#"\n',
    "comment lines": "# one\n\n# two\nif True:\n"
    "    # three\n    x = (\n        1,  # four\n        2,\n    )\n",
}
CODING = "# -*- coding: utf-8 -*-\n"


@pytest.mark.parametrize("source", CASES.values(), ids=CASES.keys())
def test_stripping_keeps_the_code_and_its_lines(source: str) -> None:
    stripped = strip_source(source)
    assert differences(source, stripped) == []
    assert _comments(stripped) == []
    assert [text for text in _docstrings(stripped) if text] == []


def test_an_encoding_declaration_stays() -> None:
    assert strip_source(CODING + '"""Doc."""\nx = 1  # c\n') == CODING + "\nx = 1\n"


def test_the_comparison_catches_a_moved_or_changed_line() -> None:
    # GIVEN a source WHEN a "stripped" copy loses a line or changes a value THEN the comparison says so
    source = 'def f():\n    """Doc."""\n    return 1\n'
    assert "Return on line 3 moved to line 2" in " ".join(differences(source, "def f():\n    return 1\n"))
    assert "the code differs" in differences(source, "def f():\n\n    return 2\n")


def test_a_traceback_from_stripped_code_names_the_repositorys_line() -> None:
    source = 'def f():\n    """Doc.\n\n    More."""\n    # why\n    raise ValueError("x")\n'
    namespace: dict[str, object] = {}
    exec(compile(strip_source(source), "module.py", "exec"), namespace)
    with pytest.raises(ValueError, match=r"^x$") as raised:
        namespace["f"]()  # type: ignore[operator]
    assert traceback.extract_tb(raised.tb)[-1].lineno == 6


def test_every_asset_file_is_stripped_without_changing_its_code() -> None:
    # Any module an asset gains (its import closure) is covered: the list is the assets', not ours.
    python = {
        relative: source
        for handlers in ASSETS.values()
        for relative, source in asset_sources(handlers).items()
        if source.suffix == ".py"
    }
    assert len(python) > 40
    for relative, source in python.items():
        text, staged = source.read_text(encoding="utf-8"), staged_content(source).decode("utf-8")
        assert differences(text, staged) == [], relative
        assert _comments(staged) == [], relative
        assert len(staged) < len(text) or not _comments(text) + _docstrings(text), relative
