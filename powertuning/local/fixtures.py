"""What the local AWS endpoint holds before a run: `--fixtures DIR` and `--seed-hook`.

A fixtures folder has up to four parts, each optional:

    s3/<bucket>/<key...>            every file is an object (its path under the bucket is the key)
    dynamodb/<table>.jsonl          one item a line, plain JSON ({"id": "a1", "price": 9.5})
    dynamodb/<table>.schema.json    the table's keys, as CreateTable takes them (KeySchema,
                                    AttributeDefinitions, optional Global/LocalSecondaryIndexes);
                                    without it, the key is the first attribute of the first item
    sqs/<queue>.jsonl               one message body a line (a JSON string is sent as its text,
                                    anything else as its JSON); a queue whose name ends in .fifo is FIFO
    ssm/parameters.json             {"/name": "value", ...}: String parameters

Everything is read and checked first (`load`, before anything starts: a bad line names its file
and line number), then written to the endpoint (`seed`). A seed hook (`module:function` or
`path/file.py:function`) is called with a function returning boto3 clients of the endpoint:
`hook(client)`, then `client("s3").put_object(...)`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from powertuning.errors import InvalidInputError

_PARTS: Final = ("s3", "dynamodb", "sqs", "ssm")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}(\.fifo)?")
_SCHEMA_KEYS: Final = frozenset(
    {"KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"}
)


@dataclass
class Fixtures:
    """What a fixtures folder declares, read and checked."""

    objects: dict[str, dict[str, Path]] = field(default_factory=dict)  # bucket -> key -> file
    tables: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)
    queues: dict[str, list[str]] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: how much of what."""
        objects = sum(len(keys) for keys in self.objects.values())
        items = sum(len(items) for _schema, items in self.tables.values())
        messages = sum(len(bodies) for bodies in self.queues.values())
        return (
            f"{objects} S3 objects in {len(self.objects)} buckets, {items} DynamoDB items in "
            f"{len(self.tables)} tables, {messages} SQS messages in {len(self.queues)} queues, "
            f"{len(self.parameters)} SSM parameters"
        )


def load(folder: Path) -> Fixtures:
    """Read and check a fixtures folder (nothing is written)."""
    if not folder.is_dir():
        raise InvalidInputError(f"--fixtures: no such folder {folder}")
    unknown = sorted(p.name for p in folder.iterdir() if p.name not in _PARTS and not p.name.startswith("."))
    if unknown:
        raise InvalidInputError(
            f"--fixtures {folder}: unknown entries {', '.join(unknown)}; it may hold {', '.join(_PARTS)}/"
        )
    fixtures = Fixtures()
    _load_s3(folder / "s3", fixtures)
    _load_dynamodb(folder / "dynamodb", fixtures)
    _load_sqs(folder / "sqs", fixtures)
    _load_ssm(folder / "ssm", fixtures)
    return fixtures


def _load_s3(folder: Path, fixtures: Fixtures) -> None:
    if not folder.is_dir():
        return
    for bucket_dir in sorted(folder.iterdir()):
        if not bucket_dir.is_dir() or not _BUCKET.fullmatch(bucket_dir.name):
            raise InvalidInputError(
                f"--fixtures: {bucket_dir} must be a folder named as an S3 bucket (3-63 lowercase letters, "
                "digits, dots and hyphens), holding the objects"
            )
        keys = {
            path.relative_to(bucket_dir).as_posix(): path
            for path in sorted(bucket_dir.rglob("*"))
            if path.is_file()
        }
        fixtures.objects[bucket_dir.name] = keys


def _load_dynamodb(folder: Path, fixtures: Fixtures) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".schema.json"):
            if not path.with_name(path.name.removesuffix(".schema.json") + ".jsonl").is_file():
                raise InvalidInputError(f"--fixtures: {path} has no items file beside it (<table>.jsonl)")
            continue
        if path.suffix != ".jsonl" or not _TABLE.fullmatch(path.stem):
            raise InvalidInputError(
                f"--fixtures: {path} must be <table>.jsonl (items) or <table>.schema.json (its keys); "
                "table names are 3-255 letters, digits, _ . -"
            )
        items = [_item(path, number, line) for number, line in _lines(path)]
        schema_path = path.with_name(f"{path.stem}.schema.json")
        schema = _schema(schema_path) if schema_path.is_file() else _default_schema(path, items)
        for number, item in enumerate(items, start=1):
            missing = [k["AttributeName"] for k in schema["KeySchema"] if k["AttributeName"] not in item]
            if missing:
                raise InvalidInputError(f"--fixtures: {path} item {number} has no key attribute {missing[0]}")
        fixtures.tables[path.stem] = (schema, items)


def _load_sqs(folder: Path, fixtures: Fixtures) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        name = path.name.removesuffix(".jsonl")
        if not path.name.endswith(".jsonl") or not _QUEUE.fullmatch(name):
            raise InvalidInputError(f"--fixtures: {path} must be <queue>.jsonl, one message body a line")
        bodies = []
        for number, line in _lines(path):
            value = _json(path, number, line)
            bodies.append(value if isinstance(value, str) else json.dumps(value))
        fixtures.queues[name] = bodies


def _load_ssm(folder: Path, fixtures: Fixtures) -> None:
    if not folder.is_dir():
        return
    path = folder / "parameters.json"
    others = sorted(p.name for p in folder.iterdir() if p != path)
    if others or not path.is_file():
        raise InvalidInputError(f"--fixtures: {folder} must hold parameters.json only, got {others}")
    data = _json(path, 1, path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidInputError(f"--fixtures: {path} must be a JSON object of names to string values")
    fixtures.parameters = dict(data)


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--fixtures: {path}: {exc}") from exc
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _json(path: Path, number: int, text: str) -> Any:
    try:
        # Decimal: DynamoDB numbers are exact, and boto3 refuses floats.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--fixtures: {path} line {number}: not JSON: {exc.msg}") from None


def _item(path: Path, number: int, line: str) -> dict[str, Any]:
    value = _json(path, number, line)
    if not isinstance(value, dict) or not value:
        raise InvalidInputError(f"--fixtures: {path} line {number}: an item is a non-empty JSON object")
    return value


def _schema(path: Path) -> dict[str, Any]:
    schema = _json(path, 1, path.read_text())
    if not isinstance(schema, dict) or "KeySchema" not in schema or "AttributeDefinitions" not in schema:
        raise InvalidInputError(
            f"--fixtures: {path} must be a JSON object with KeySchema and AttributeDefinitions "
            "(as CreateTable takes them)"
        )
    extra = sorted(set(schema) - _SCHEMA_KEYS)
    if extra:
        raise InvalidInputError(
            f"--fixtures: {path}: unknown keys {', '.join(extra)}; allowed: {', '.join(sorted(_SCHEMA_KEYS))}"
        )
    keys = schema["KeySchema"]
    if (
        not isinstance(keys, list)
        or not keys
        or not all(isinstance(k, dict) and "AttributeName" in k for k in keys)
    ):
        raise InvalidInputError(f"--fixtures: {path}: KeySchema must list AttributeName/KeyType entries")
    return schema


def _default_schema(path: Path, items: list[dict[str, Any]]) -> dict[str, Any]:
    if not items:
        raise InvalidInputError(
            f"--fixtures: {path} is empty: give {path.stem}.schema.json to create an empty table"
        )
    name, value = next(iter(items[0].items()))
    kind = "N" if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else "S"
    if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
        raise InvalidInputError(
            f"--fixtures: {path}: the first attribute of the first item ({name}) is the key without a "
            f"schema file, and must be a string or a number; give {path.stem}.schema.json"
        )
    return {
        "KeySchema": [{"AttributeName": name, "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind}],
    }


def seed(fixtures: Fixtures, client: Callable[[str], Any]) -> None:
    """Write the fixtures through `client(service)` (boto3 clients of the local endpoint)."""
    if fixtures.objects:
        s3 = client("s3")
        region = s3.meta.region_name
        # Outside us-east-1, S3 wants the region said again (as on AWS).
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        for bucket, keys in fixtures.objects.items():
            s3.create_bucket(Bucket=bucket, **where)
            for key, path in keys.items():
                s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    if fixtures.tables:
        from boto3.dynamodb.types import TypeSerializer

        dynamodb, serializer = client("dynamodb"), TypeSerializer()
        for table, (schema, items) in fixtures.tables.items():
            indexes = {**schema}
            for index in indexes.get("GlobalSecondaryIndexes", []):
                index.setdefault("Projection", {"ProjectionType": "ALL"})
            dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **indexes)
            for item in items:
                typed = {k: serializer.serialize(_exact(v)) for k, v in item.items()}
                dynamodb.put_item(TableName=table, Item=typed)
    if fixtures.queues:
        sqs = client("sqs")
        for queue, bodies in fixtures.queues.items():
            fifo = queue.endswith(".fifo")
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
            url = sqs.create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
            for body in bodies:
                sqs.send_message(
                    QueueUrl=url, MessageBody=body, **({"MessageGroupId": "fixtures"} if fifo else {})
                )
    if fixtures.parameters:
        ssm = client("ssm")
        for name, value in fixtures.parameters.items():
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def _exact(value: Any) -> Any:
    """JSON integers as Decimal too (boto3 takes int, but nested ones must match what reads return)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    return value


def load_hook(text: str) -> Callable[[Callable[[str], Any]], Any]:
    """`module:function` (importable from the current folder) or `path/file.py:function`."""
    target, sep, name = text.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise InvalidInputError(f"--seed-hook must be module:function or path/file.py:function, got {text!r}")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise InvalidInputError(f"--seed-hook: no such file {target}")
            spec = importlib.util.spec_from_file_location(f"_powertuning_seed_{path.stem}", path)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(target)
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"--seed-hook {text}: cannot load it: {type(exc).__name__}: {exc}") from exc
    hook = getattr(module, name, None)
    if not callable(hook):
        raise InvalidInputError(f"--seed-hook {text}: {target} has no function {name}")
    return hook
