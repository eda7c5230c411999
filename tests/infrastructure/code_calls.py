"""Which AWS API actions each handler's code can reach, read statically from the asset's source.

A call graph over the shipped modules, from `lambdas.<name>.handler`, following module functions,
imported names and class methods (naming a class reaches all its methods). AWS calls are
recognised as `call(client, "<operation>", ...)` and `pages(client, "<operation>", ...)`
(powertuning.aws, the one seam), `client.get_paginator("<op>")`
and `client.get_waiter("<waiter>")` (resolved to the operation botocore's waiter polls).
Over-approximate on purpose: every branch counts, error paths included, because IAM must allow them all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name
from botocore.exceptions import UnknownServiceError

# IAM action names that differ from the API operation name.
# HeadObject is authorised by s3:GetObject.
_IAM_ACTION = {("lambda", "Invoke"): "InvokeFunction", ("s3", "HeadObject"): "GetObject"}
# IAM's prefix for a service, where it differs from botocore's name.
_IAM_PREFIX = {"stepfunctions": "states"}
_SERVICES = ("lambda", "s3", "dynamodb", "stepfunctions", "cloudwatch", "logs")


@dataclass
class _Function:
    operations: set[str] = field(default_factory=set)
    callees: set[str] = field(default_factory=set)


def _operation_index() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """snake_case operation -> (service, Operation); snake_case waiter -> (service, Operation)."""
    session = botocore.session.get_session()
    operations: dict[str, tuple[str, str]] = {}
    waiters: dict[str, tuple[str, str]] = {}
    for service in _SERVICES:
        for name in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(name), (service, name))
        try:
            model = session.get_waiter_model(service)
        except UnknownServiceError:
            continue  # a service without waiters (Step Functions)
        for waiter in model.waiter_names:
            waiters[xform_name(waiter)] = (service, model.get_waiter(waiter).operation)
    return operations, waiters


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _ModuleScanner:
    def __init__(self, module: str, tree: ast.Module, modules: set[str]) -> None:
        self.module = module
        self.modules = modules
        self.aliases: dict[str, str] = {}  # local name -> "module" or "module:Name"
        self.local: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                self.local.add(node.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    target = submodule if submodule in modules else f"{node.module}:{alias.name}"
                    self.aliases[alias.asname or alias.name] = target

    def resolve(self, node: ast.expr) -> str | None:
        """The function key ("module:Qualified.name") an expression names, if any."""
        if isinstance(node, ast.Name):
            if node.id in self.local:
                return f"{self.module}:{node.id}"
            target = self.aliases.get(node.id)
            return target if target and ":" in target else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = node.value.id
            if base in self.local:
                return f"{self.module}:{base}.{node.attr}"
            target = self.aliases.get(base)
            if target is None:
                return None
            return f"{target}.{node.attr}" if ":" in target else f"{target}:{node.attr}"
        return None


def _scan(root: Path, files: Iterable[Path]) -> dict[str, _Function]:
    operations, waiters = _operation_index()
    parsed = {_module_name(path): ast.parse((root / path).read_text(encoding="utf-8")) for path in files}
    modules = set(parsed)
    graph: dict[str, _Function] = {}
    for module, tree in parsed.items():
        scanner = _ModuleScanner(module, tree, modules)
        definitions: list[tuple[str, ast.AST]] = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                definitions.append((node.name, node))
            elif isinstance(node, ast.ClassDef):
                definitions.extend(
                    (f"{node.name}.{item.name}", item)
                    for item in node.body
                    if isinstance(item, ast.FunctionDef)
                )
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                # Naming a class reaches every method of it: calls on a local instance
                # (`reader.machine()`) cannot be resolved statically, so all of them count.
                graph.setdefault(f"{module}:{node.name}", _Function()).callees.update(
                    f"{module}:{node.name}.{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef)
                )
        for qualname, definition in definitions:
            function = graph.setdefault(f"{module}:{qualname}", _Function())
            # Nested functions and lambdas count as part of the function that defines them.
            for child in ast.walk(definition):
                if isinstance(child, ast.Name | ast.Attribute):
                    target = scanner.resolve(child)
                    if target:
                        function.callees.add(target)
                if not isinstance(child, ast.Call):
                    continue
                func = child.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                literal = [str(arg.value) for arg in child.args if isinstance(arg, ast.Constant)]
                if not literal:
                    continue
                if (name in ("call", "pages") and len(child.args) >= 2) or name == "get_paginator":
                    function.operations.add(_action(*operations[literal[0]]))
                elif name == "get_waiter":
                    function.operations.add(_action(*waiters[literal[0]]))
    return graph


def _action(service: str, operation: str) -> str:
    return f"{_IAM_PREFIX.get(service, service)}:{_IAM_ACTION.get((service, operation), operation)}"


def actions_by_handler(root: Path, files: Iterable[Path], handlers: Iterable[str]) -> dict[str, set[str]]:
    """IAM actions (`lambda:GetAlias`, `s3:GetObject`, ...) reachable from each `lambdas.<name>.handler`."""
    graph = _scan(root, files)
    found: dict[str, set[str]] = {}
    for name in handlers:
        seen: set[str] = set()
        pending = [f"lambdas.{name}:handler"]
        actions: set[str] = set()
        while pending:
            key = pending.pop()
            if key in seen or key not in graph:
                continue
            seen.add(key)
            actions |= graph[key].operations
            pending.extend(graph[key].callees)
        found[name] = actions
    return found
