"""powertuning/local/aws_rules.py: the `aws` fixture's moto keeps real Lambda's rules.

A cleanup that looks right on plain moto could leave a stray version (or delete the wrong one) on
AWS; these are the rules the tuner's tests rely on.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from powertuning import lambda_api


def versions(lambda_client, name="target"):
    found = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    return [v["Version"] for v in found if v["Version"] != "$LATEST"]


def publish(lambda_client, description, name="target"):
    lambda_client.update_function_configuration(FunctionName=name, Description=description)
    return lambda_client.publish_version(FunctionName=name, Description=description)["Version"]


def test_version_numbers_are_never_reused(lambda_client, target_function):
    # GIVEN versions 1 and 2, then both deleted
    assert [publish(lambda_client, "a"), publish(lambda_client, "b")] == ["1", "2"]
    lambda_client.delete_function(FunctionName="target", Qualifier="2")
    lambda_client.delete_function(FunctionName="target", Qualifier="1")
    assert versions(lambda_client) == []
    # WHEN publishing again THEN the number keeps growing (plain moto would give 1 again)
    assert publish(lambda_client, "c") == "3"
    assert versions(lambda_client) == ["3"]


def test_publishing_an_unchanged_latest_returns_the_last_version(lambda_client, target_function):
    first = publish(lambda_client, "a")
    again = lambda_client.publish_version(FunctionName="target", Description="a")["Version"]
    assert again == first
    assert versions(lambda_client) == [first]


def test_a_version_an_alias_points_to_cannot_be_deleted(lambda_client, target_function):
    version = publish(lambda_client, "a")
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    with pytest.raises(ClientError) as caught:
        lambda_client.delete_function(FunctionName="target", Qualifier=version)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert "live" in str(caught.value)
    assert versions(lambda_client) == [version]
    # once the alias is gone, the version can be deleted
    lambda_client.delete_alias(FunctionName="target", Name="live")
    lambda_client.delete_function(FunctionName="target", Qualifier=version)
    assert versions(lambda_client) == []


def test_lists_accept_a_function_arn(lambda_client, target_function):
    version = publish(lambda_client, "a")
    lambda_client.create_alias(FunctionName="target", Name="live", FunctionVersion=version)
    assert [v["Version"] for v in lambda_api.list_versions(lambda_client, target_function.arn)] == [
        "$LATEST",
        version,
    ]
    assert [a["Name"] for a in lambda_api.list_aliases(lambda_client, target_function.arn)] == ["live"]


def test_lambda_listings_come_in_pages_of_at_most_fifty(lambda_client, target_function, make_function):
    # GIVEN 55 versions, each with an alias, and 55 functions
    for i in range(55):
        lambda_client.create_alias(
            FunctionName="target", Name=f"a{i:02}", FunctionVersion=publish(lambda_client, str(i))
        )
    for i in range(54):
        make_function(f"other-{i:02}")

    # WHEN each listing is read one page at a time THEN no page holds more than 50 (or MaxItems),
    # the last one has no NextMarker, and the pages together hold every item once
    for operation, key, expected in (
        ("list_versions_by_function", "Versions", 56),
        ("list_aliases", "Aliases", 55),
        ("list_functions", "Functions", 55),
    ):
        kwargs = {} if operation == "list_functions" else {"FunctionName": "target"}
        first = getattr(lambda_client, operation)(**kwargs)
        assert len(first[key]) == 50
        rest = getattr(lambda_client, operation)(**kwargs, Marker=first["NextMarker"])
        assert "NextMarker" not in rest
        assert len(first[key]) + len(rest[key]) == expected
        small = getattr(lambda_client, operation)(**kwargs, MaxItems=7)
        assert len(small[key]) == 7
    listed = [a["Name"] for a in lambda_api.list_aliases(lambda_client, target_function.arn)]
    assert listed == sorted(listed)
    assert len(set(listed)) == 55
    assert len(lambda_api.list_versions(lambda_client, target_function.arn)) == 56
