"""The run registry: one item per function being tuned, in a DynamoDB table of the stack, written
with conditions so two runs never hold one function (`acquire_run`) and only the holder changes or
releases it. Each takes a client; every call goes through `aws.call`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from powertuning.aws import call, error_code, pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def acquire_run(
    client: DynamoDBClient, table: str, function_arn: str, record: dict[str, Any]
) -> dict[str, Any] | None:
    """Register a run on a function unless one is registered; None if acquired, else the holder's record."""
    item = {"functionArn": {"S": function_arn}, "runId": {"S": str(record["runId"])}}
    item["record"] = {"S": json.dumps(record)}
    try:
        call(
            client,
            "put_item",
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(functionArn)",
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return get_run(client, table, function_arn) or {"runId": "?", "executionArn": "?"}
    return None


def get_run(client: DynamoDBClient, table: str, function_arn: str) -> dict[str, Any] | None:
    """The record of the run registered on a function, if any."""
    response = call(
        client, "get_item", TableName=table, Key={"functionArn": {"S": function_arn}}, ConsistentRead=True
    )
    item = response.get("Item")
    return None if item is None else dict(json.loads(item["record"]["S"]))


def update_run(client: DynamoDBClient, table: str, function_arn: str, record: dict[str, Any]) -> None:
    """Replace the record of the run registered on a function (only while that run holds it)."""
    call(
        client,
        "put_item",
        TableName=table,
        Item={
            "functionArn": {"S": function_arn},
            "runId": {"S": str(record["runId"])},
            "record": {"S": json.dumps(record)},
        },
        ConditionExpression="runId = :run",
        ExpressionAttributeValues={":run": {"S": str(record["runId"])}},
    )


def release_run(client: DynamoDBClient, table: str, function_arn: str, run_id: str) -> bool:
    """Remove a run's registration; False if that run held none."""
    try:
        call(
            client,
            "delete_item",
            TableName=table,
            Key={"functionArn": {"S": function_arn}},
            ConditionExpression="runId = :run",
            ExpressionAttributeValues={":run": {"S": run_id}},
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def runs_of_execution(client: DynamoDBClient, table: str, execution_arn: str) -> list[dict[str, Any]]:
    """Records of the runs an execution registered (the table holds one item per function tuned now)."""
    listing = pages(
        client, "scan", token=("ExclusiveStartKey", "LastEvaluatedKey"), TableName=table, ConsistentRead=True
    )
    records = [json.loads(item["record"]["S"]) for page in listing for item in page.get("Items", [])]
    return [record for record in records if record.get("executionArn") == execution_arn]
