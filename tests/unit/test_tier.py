"""The unit tier is pure: no test here imports moto or boto3, or asks for a fixture that mocks AWS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UNIT = Path(__file__).parent
# Fixtures of tests/conftest.py that start moto (directly or through another fixture).
MOCKED_AWS_FIXTURES = {
    "aws",
    "lambda_client",
    "lambda_role",
    "make_function",
    "target_function",
    "target_runtime",
    "start_engine",
}


@pytest.mark.parametrize("path", sorted(UNIT.glob("test_*.py")), ids=lambda p: p.name)
def test_unit_tests_need_no_mocked_aws(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in {"moto", "boto3"}, f"{path.name} imports {name}: functional"
        # A test, or a fixture of its own, asking for a fixture that starts moto.
        if isinstance(node, ast.FunctionDef):
            asked = {arg.arg for arg in node.args.args} & MOCKED_AWS_FIXTURES
            assert not asked, f"{path.name}::{node.name} uses {asked}: a functional test"
