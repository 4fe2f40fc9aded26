"""The embedded emulator's TransactWriteItems (infra/dynamodb/emulator_transactions.py) keeps DynamoDB's
all-or-nothing, also for an update that makes an item and then fails."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from infra.dynamodb.emulator import local_client
from tests.conftest import TEST_REGION


def test_an_upsert_that_fails_leaves_no_item_and_undoes_the_rest_of_its_transaction(dynamodb: str) -> None:
    db = local_client(dynamodb, TEST_REGION)  # a fresh store
    db.create_table(
        TableName="emulator-upserts",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    made = {"Update": {"TableName": "emulator-upserts", "Key": {"k": {"S": "new"}},
                       "UpdateExpression": "SET v = if_not_exists(v, :one)",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}}  # fmt: skip
    db.transact_write_items(TransactItems=[made])
    assert db.get_item(TableName="emulator-upserts", Key={"k": {"S": "new"}})["Item"]["v"] == {"N": "1"}

    put = {"Put": {"TableName": "emulator-upserts", "Item": {"k": {"S": "other"}}}}
    broken = {"Update": {"TableName": "emulator-upserts", "Key": {"k": {"S": "missing"}},
                         "UpdateExpression": "SET v = nothing + :one",  # `nothing` is not there: refused
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}  # fmt: skip
    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=[put, broken])
    for key in ("missing", "other"):
        assert "Item" not in db.get_item(TableName="emulator-upserts", Key={"k": {"S": key}})


def test_a_refused_transaction_leaves_nothing_in_a_tables_stream(dynamodb: str) -> None:
    db, streams = local_client(dynamodb, TEST_REGION), local_client(dynamodb, TEST_REGION, "dynamodbstreams")
    for name, stream in (
        ("emulator-news", {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}),
        ("emulator-x", None),
    ):
        db.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **({"StreamSpecification": stream} if stream else {}),
        )
    arn = db.describe_table(TableName="emulator-news")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    start = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    news = {"Put": {"TableName": "emulator-news", "Item": {"k": {"S": "v7"}, "plate": {"S": "粤B00007"}}}}
    broken = {"Update": {"TableName": "emulator-x", "Key": {"k": {"S": "x"}},
                         "UpdateExpression": "SET v = nothing + :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}  # fmt: skip
    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=[news, broken])
    assert streams.get_records(ShardIterator=start["ShardIterator"])["Records"] == []  # no event never committed


def test_the_emulator_keeps_only_the_recent_shard_iterators(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto keeps every iterator it hands out; the local stream reader asks for one at least every second."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from infra.dynamodb.emulator_transactions import _RecentIterators

    monkeypatch.setattr(_RecentIterators, "KEEP", 10)
    db, streams = local_client(dynamodb, TEST_REGION), local_client(dynamodb, TEST_REGION, "dynamodbstreams")
    db.create_table(
        TableName="emulator-polled",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn = db.describe_table(TableName="emulator-polled")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    for _ in range(30):  # an idle reader's polls
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    assert len(dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][TEST_REGION].shard_iterators) <= 10
    assert streams.get_records(ShardIterator=iterator)["Records"] == []  # the newest still reads
