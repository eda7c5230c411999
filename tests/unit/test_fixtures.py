"""`--fixtures DIR`: what it may hold, checked before anything starts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from powertuning.errors import InvalidInputError
from powertuning.local import fixtures


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_objects_items_queues_and_parameters_are_read(tmp_path):
    # GIVEN a folder with one of each part
    root = write(
        tmp_path,
        {
            "s3/uploads/incoming/a.csv": "x,y\n",
            "s3/uploads/b.txt": "b",
            "dynamodb/orders.jsonl": '{"orderId": 7, "price": 9.5}\n\n{"orderId": 8}\n',
            "dynamodb/users.jsonl": '{"pk": "u1", "sk": "profile"}\n',
            "dynamodb/users.schema.json": json.dumps(
                {
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                }
            ),
            "sqs/jobs.jsonl": '"plain text"\n{"job": 1}\n',
            "ssm/parameters.json": '{"/app/mode": "fast"}',
        },
    )
    loaded = fixtures.load(root)
    # THEN every object has its key, items keep exact numbers, the key schema is declared or inferred
    assert sorted(loaded.objects["uploads"]) == ["b.txt", "incoming/a.csv"]
    orders_schema, orders = loaded.tables["orders"]
    assert orders == [{"orderId": 7, "price": Decimal("9.5")}, {"orderId": 8}]
    assert orders_schema["KeySchema"] == [{"AttributeName": "orderId", "KeyType": "HASH"}]
    assert orders_schema["AttributeDefinitions"] == [{"AttributeName": "orderId", "AttributeType": "N"}]
    assert [k["AttributeName"] for k in loaded.tables["users"][0]["KeySchema"]] == ["pk", "sk"]
    assert loaded.queues["jobs"] == ["plain text", '{"job": 1}']
    assert loaded.parameters == {"/app/mode": "fast"}
    assert loaded.summary().startswith("2 S3 objects in 1 buckets, 3 DynamoDB items in 2 tables")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"lambda/x.json": "{}"}, "unknown entries lambda"),
        ({"s3/Bad_Bucket/k": "x"}, "named as an S3 bucket"),
        ({"s3/file-not-folder": "x"}, "named as an S3 bucket"),
        ({"dynamodb/t.json": "{}"}, "must be <table>.jsonl"),
        ({"dynamodb/orders.jsonl": '{"id": 1}\n{"id": 2,}\n'}, "orders.jsonl line 2: not JSON"),
        ({"dynamodb/orders.jsonl": "[1, 2]\n"}, "line 1: an item is a non-empty JSON object"),
        ({"dynamodb/orders.jsonl": ""}, "is empty: give orders.schema.json"),
        ({"dynamodb/orders.jsonl": '{"tags": ["a"]}\n'}, "must be a string or a number"),
        ({"dynamodb/orders.jsonl": '{"id": "a"}\n{"other": 1}\n'}, "item 2 has no key attribute id"),
        ({"dynamodb/orders.jsonl": '{"id": "a"}\n', "dynamodb/orders.schema.json": '{"KeySchema": []}'},
         "KeySchema and AttributeDefinitions"),
        ({"dynamodb/orders.jsonl": '{"id": "a"}\n',
          "dynamodb/orders.schema.json": '{"KeySchema": [], "AttributeDefinitions": [], "BillingMode": "x"}'},
         "unknown keys BillingMode"),
        ({"dynamodb/lonely.schema.json": "{}"}, "has no items file beside it"),
        ({"sqs/bad queue.jsonl": '"x"\n'}, "must be <queue>.jsonl"),
        ({"ssm/params.yaml": "a: b"}, "must hold parameters.json only"),
        ({"ssm/parameters.json": '{"/a": 1}'}, "names to string values"),
    ],
)  # fmt: skip
def test_a_bad_fixtures_folder_is_refused_naming_the_file(tmp_path, files, message):
    root = write(tmp_path, files)
    with pytest.raises(InvalidInputError, match="--fixtures") as raised:
        fixtures.load(root)
    assert message in str(raised.value)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="no such folder"):
        fixtures.load(tmp_path / "nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no_colon", "must be module:function"),
        ("missing.py:seed", "no such file missing.py"),
        ("json:not_there", "json has no function not_there"),
        ("no_such_module_here:seed", "cannot load it: ModuleNotFoundError"),
    ],
)
def test_a_bad_seed_hook_is_refused(text, message):
    with pytest.raises(InvalidInputError, match="--seed-hook") as raised:
        fixtures.load_hook(text)
    assert message in str(raised.value)


def test_a_seed_hook_file_is_loaded_by_path(tmp_path):
    (tmp_path / "seeding.py").write_text("def seed(client):\n    return client('s3')\n")
    hook = fixtures.load_hook(f"{tmp_path}/seeding.py:seed")
    assert hook(lambda service: f"client of {service}") == "client of s3"
