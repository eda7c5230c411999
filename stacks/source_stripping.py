"""Comments and docstrings out of the Lambda asset's Python files, every line kept where it was.

The asset ships the handlers' import closure as source; a third of its bytes were comments and
docstrings the functions never read. Only those are cut, and each line keeps its number (a cut
docstring leaves blank lines), so a traceback from a deployed function points at the line of the
same statement in the repository. Standard library only (tokenize, ast), so any new module in the
asset is stripped the same way, without a list of files.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Final

# PEP 263: an encoding declaration on line 1 or 2 is read by the interpreter, not only by people.
_CODING: Final = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


def docstring_nodes(tree: ast.Module) -> list[ast.Expr]:
    """The docstrings of a module, its classes and its functions (as the interpreter sees them)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append(first)
    return found


def _sole_statement(tree: ast.Module) -> set[int]:
    """Ids of the docstrings that are their body's only statement: a body cannot be empty."""
    return {
        id(node.body[0])
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and len(node.body) == 1
    }


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _cut_comments(lines: list[str], source: str) -> None:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        row, column = token.start
        line = lines[row - 1]
        if row <= 2 and _CODING.match(line):
            continue
        # A comment runs to the end of its line: cut it and the blanks before it, keep the newline.
        lines[row - 1] = line[:column].rstrip() + _ending(line)


def strip_source(source: str) -> str:
    """`source` without comments and docstrings; the same statements on the same lines.

    A docstring alone on its lines becomes blank lines; one that shares a line with code, or is its
    body's only statement, becomes `""` (still a docstring, so the code's AST is unchanged),
    continued by backslashes over the lines it spanned.
    """
    tree = ast.parse(source)
    # Split as tokenize reads (on newlines only), so its rows index these lines.
    lines = io.StringIO(source).readlines()
    _cut_comments(lines, source)
    sole = _sole_statement(tree)
    # Bottom-up, so an edit never moves the columns of one still to make.
    for node in sorted(docstring_nodes(tree), key=lambda n: n.lineno, reverse=True):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        # The AST's columns are UTF-8 byte offsets.
        before = lines[first].encode()[: node.col_offset].decode()
        after = lines[last].encode()[node.end_col_offset or 0 :].decode()
        rest = after.rstrip("\r\n")
        if id(node) not in sole and not before.strip() and not rest.strip():
            replaced = [_ending(line) for line in lines[first : last + 1]]
        elif first == last:
            replaced = [before + '""' + after]
        else:
            replaced = [before + '""\\\n'] + ["\\\n"] * (last - first - 1) + [after]
        lines[first : last + 1] = replaced
    return "".join(lines)
