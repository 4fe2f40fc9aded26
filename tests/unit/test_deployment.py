"""serverless.yml declares the tables the code uses, and its resources are valid CloudFormation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from pynamodb.attributes import TTLAttribute

from domain.gate_auth import applied_topic
from handlers.gate_status import APPLIED_TOPICS, FROM_TOPIC
from infra.dynamodb.tables import TABLES
from tests.serverless_yml import serverless_config

ROOT = Path(__file__).resolve().parents[2]


def _declared_tables() -> dict[str, dict[str, Any]]:
    resources = serverless_config()["resources"]["Resources"]
    return {
        r["Properties"]["TableName"].rsplit("-", 1)[1]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((k["KeyType"], k["AttributeName"]) for k in schema)


@pytest.mark.parametrize("model", TABLES, ids=lambda m: m.suffix)
def test_each_table_in_serverless_yml_matches_its_model(model: Any) -> None:
    declared = _declared_tables()[model.suffix]
    schema = model._get_schema()
    assert declared["TableName"] == f"parkpass-${{sls:stage}}-{model.suffix}"
    assert declared["BillingMode"] == "PAY_PER_REQUEST"
    assert _keys(declared["KeySchema"]) == _keys(schema["key_schema"])
    expected_attrs = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"]:
        expected_attrs.update({a["AttributeName"]: a["AttributeType"] for a in index["attribute_definitions"]})
    assert {a["AttributeName"]: a["AttributeType"] for a in declared["AttributeDefinitions"]} == expected_attrs
    expected_indexes = {
        i["index_name"]: (_keys(i["key_schema"]), i["projection"]["ProjectionType"])
        for i in schema["global_secondary_indexes"]
    }
    assert {
        i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
        for i in declared.get("GlobalSecondaryIndexes", [])
    } == expected_indexes


@pytest.mark.parametrize("model", TABLES, ids=lambda m: m.suffix)
def test_time_to_live_is_declared_where_a_model_has_one(model: Any) -> None:
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    declared = _declared_tables()[model.suffix].get("TimeToLiveSpecification")
    assert declared == ({"AttributeName": ttl[0], "Enabled": True} if ttl else None)


def test_serverless_yml_declares_no_table_the_code_does_not_use() -> None:
    assert set(_declared_tables()) == {m.suffix for m in TABLES}


def test_wsgi_entry_names_the_flask_app() -> None:
    config = serverless_config()
    assert config["custom"]["wsgi"]["app"] == "functions/api.app"
    assert config["functions"]["api"]["handler"] == "wsgi_handler.handler"


def test_resources_pass_cfn_lint() -> None:
    made_by_the_framework = {
        "HttpApi": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "p", "ProtocolType": "HTTP"}}
    }
    resources = {**made_by_the_framework, **serverless_config()["resources"]["Resources"]}
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    as_packaged = json.dumps(template).replace("${sls:stage}", "dev")  # the framework's variable, resolved first
    matches = lint(as_packaged, config=ManualArgs(regions=["cn-north-1", "cn-northwest-1"]))
    assert [str(m) for m in matches] == []


def test_every_function_handler_in_serverless_yml_can_be_imported() -> None:
    import importlib

    for name, function in serverless_config()["functions"].items():
        module, attr = function["handler"].rsplit(".", 1)
        if module == "wsgi_handler":  # serverless-wsgi's own, bundled at deploy time
            continue
        assert callable(getattr(importlib.import_module(module.replace("/", ".")), attr)), name


def test_zappa_settings_name_importable_apps_and_handlers() -> None:
    import importlib
    import json

    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    for stage in settings.values():
        module, _, attr = stage["app_function"].rpartition(".")
        assert attr == "app" and hasattr(importlib.import_module(module), "__getattr__")  # built on first use
        for event in stage.get("events", []):
            module, _, attr = event["function"].rpartition(".")
            assert callable(getattr(importlib.import_module(module), attr)), event
    assert {e["function"] for e in settings["dev"]["events"]} == {
        "functions.reminders.handler",
        "functions.card_jobs.handler",
        "functions.sweep.handler",
        "functions.fanout.handler",
    }


def test_a_gate_may_subscribe_to_its_own_lots_topic_and_publish_only_its_own_reports() -> None:
    statements = serverless_config()["resources"]["Resources"]["GatePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    policy = json.dumps(statements)
    published = [s["Resource"]["Fn::Sub"] for s in statements if s["Action"] == "iot:Publish"]
    # A gate publishes only its own applied-version reports: its lot and its name are in the topic.
    assert [p.rsplit(":topic/", 1)[1] for p in published] == [
        "parkpass/lots/${!iot:Connection.Thing.Attributes[lot_id]}/gates/${!iot:Connection.Thing.ThingName}/applied"
    ]
    assert policy.count("parkpass/lots/${!iot:Connection.Thing.Attributes[lot_id]}/entitlements") == 2
    assert "client/gate-${!iot:Connection.Thing.ThingName}-*" in policy  # one session per agent installation
    assert "parkpass/lots/*" not in policy and "topic/parkpass/#" not in policy


def test_the_package_keeps_compiled_bytecode() -> None:
    # Lambda cannot write __pycache__: bytecode left out of the package is compiled again at every cold start.
    config = serverless_config()
    slim = config["custom"]["pythonRequirements"]
    assert slim["slimPatternsAppendDefaults"] is False  # the defaults delete **/*.py[c|o] and **/__pycache__*
    for pattern in slim["slimPatterns"] + config["package"]["patterns"]:
        assert "pyc" not in pattern and "__pycache__" not in pattern, pattern
    makefile = (ROOT / "Makefile").read_text()
    assert "compileall -q --invalidation-mode checked-hash domain handlers infra functions" in makefile


def test_the_topic_rule_hands_the_gate_status_function_what_the_local_stand_in_does() -> None:
    rule = serverless_config()["functions"]["gatestatus"]["events"][0]["iot"]
    assert f"FROM '{APPLIED_TOPICS}'" in rule["sql"]
    for name, level in FROM_TOPIC.items():
        assert f"topic({level}) AS {name}" in rule["sql"]
    assert applied_topic("lot-a", "gate-1").split("/")[FROM_TOPIC["gate_id"] - 1] == "gate-1"
    assert applied_topic("lot-a", "gate-1").split("/")[FROM_TOPIC["lot_id"] - 1] == "lot-a"
    for field in ("version", "timestamp", "signature"):  # what report_from_rule reads
        assert field in rule["sql"].split("FROM")[0]


def test_every_deployment_names_the_public_url_receipts_link_under() -> None:
    from infra.settings import public_url

    environment = serverless_config()["provider"]["environment"]
    assert environment["PARKPASS_PUBLIC_URL_PARAM"] == "/parkpass/${sls:stage}/public-url"  # read at run time
    zappa = json.loads((ROOT / "zappa_settings.json").read_text())
    configured = public_url(zappa["dev"]["environment_variables"]["PARKPASS_PUBLIC_URL"])
    assert configured is not None and configured.startswith("https://")


SECRET_SETTINGS = (
    "PARKPASS_TOKEN_SECRET",
    "PARKPASS_DATA_KEY",
    "PARKPASS_WECHAT_SECRET",
    "PARKPASS_GATE_SIGNING_KEY",
    "PARKPASS_RECEIPT_SIGNING_KEY",
    "PARKPASS_WECHATPAY_MERCHANT_KEY",
    "PARKPASS_WECHATPAY_APIV3_KEY",
    "PARKPASS_ALIPAY_APP_PRIVATE_KEY",
)


def test_the_functions_get_their_secrets_names_and_each_role_may_read_exactly_those_parameters() -> None:
    config = serverless_config()
    environment = config["provider"]["environment"]
    assert not [k for k in environment if k in SECRET_SETTINGS], "a secret in the functions' configuration"
    assert {f"{k}_PARAM" for k in SECRET_SETTINGS} <= set(environment)
    assert not [v for v in environment.values() if "${ssm:" in str(v)], "resolved at package time (needs AWS)"
    named = {v for k, v in environment.items() if k.endswith("_PARAM")}
    resources = config["resources"]["Resources"]
    [statement] = resources["ReadParametersPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"ssm:GetParameters", "ssm:GetParameter"}
    prefix = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    allowed = {r["Fn::Sub"].removeprefix(prefix) for r in statement["Resource"]}
    assert allowed == named  # no wildcard, no parameter beyond those the functions name
    for name, function in config["functions"].items():
        arns = resources[function["role"]]["Properties"]["ManagedPolicyArns"]
        assert {"Ref": "ReadParametersPolicy"} in arns, name


def test_every_setting_the_secrets_need_can_come_from_a_parameter() -> None:
    """What infra/settings.py reads as a secret or a payment channel's key is named by a parameter on AWS."""
    import re

    source = (ROOT / "infra" / "settings.py").read_text()
    read = set(re.findall(r'"(PARKPASS_[A-Z_]+)"', source))
    for channel, names in (("WECHATPAY", re.search(r'names = \("MERCHANT_KEY".*?\)', source)),
                           ("ALIPAY", re.search(r'names = \("SELLER_ID".*?\)', source))):  # fmt: skip
        assert names is not None
        read |= {f"PARKPASS_{channel}_{n}" for n in re.findall(r'"([A-Z_]+)"', names.group(0))}
    secrets = {n for n in read if n not in SETTINGS_NOT_FROM_PARAMETERS}
    environment = serverless_config()["provider"]["environment"]
    assert sorted(n for n in secrets if f"{n}_PARAM" not in environment) == []


SETTINGS_NOT_FROM_PARAMETERS = {
    "PARKPASS_TABLE_PREFIX",
    "PARKPASS_DYNAMODB_ENDPOINT",
    "PARKPASS_LOCAL",
    "PARKPASS_WECHAT_API_BASE",
    "PARKPASS_MQTT_URL",
    "PARKPASS_APPLICATION_TEMPLATE",
    "PARKPASS_BILL_TEMPLATE",
    "PARKPASS_EXPIRY_TEMPLATE",
    "PARKPASS_WORK_QUEUE_URL",
    "PARKPASS_SQS_ENDPOINT",
    "PARKPASS_COLLECTION_TEMPLATE",
    "PARKPASS_INVOICE_TEMPLATE",
    "PARKPASS_DOCUMENTS_BUCKET",
    "PARKPASS_DOCUMENTS_DIR",
    "PARKPASS_S3_ENDPOINT",
    "PARKPASS_SEAL_IMAGE",
    "PARKPASS_WECHATPAY_GATEWAY",
    "PARKPASS_ALIPAY_GATEWAY",
}
"""Plain settings: the deployment's own environment, or defaults."""


ALARMS = {
    "api-5xx",
    "notifications-rejected",
    "fanout-behind",
    "fanout-gave-up",
    "reminders-failed",
    "work-behind",
    "work-dead-letters",
    "reconciliation-differences",
    "reconciliation-failed",
}


def _alarms() -> dict[str, dict[str, Any]]:
    resources = serverless_config()["resources"]["Resources"]
    return {
        r["Properties"]["AlarmName"].removeprefix("parkpass-${sls:stage}-"): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_every_alarm_tells_the_one_topic_and_has_a_runbook() -> None:
    alarms = _alarms()
    assert set(alarms) == ALARMS
    runbook = (ROOT / "docs" / "operations.md").read_text()
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmsTopic"}], name
        assert f"### Alarm `{name}`" in runbook, f"docs/operations.md has no runbook for {name}"
    topic = serverless_config()["resources"]["Resources"]["AlarmsTopic"]
    assert topic["Type"] == "AWS::SNS::Topic" and "Subscription" not in topic["Properties"]  # the operator's


def test_the_alarms_and_the_dashboard_watch_metrics_the_code_emits() -> None:
    import re

    resources = serverless_config()["resources"]["Resources"]
    watched = set(re.findall(r"SUM\((\w+)\)|MAX\((\w+)\)", json.dumps(resources)))
    names = {a or b for a, b in watched}
    code = "".join(p.read_text() for d in ("functions", "handlers") for p in (ROOT / d).glob("*.py"))
    assert names and sorted(n for n in names if f'"{n}"' not in code) == []
