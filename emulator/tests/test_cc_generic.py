"""Cloud Control for the types moto's CloudFormation support can create and delete (cc_store),
their Tagging API entries (cc_tagging), asynchronous requests, ClientTokens and throttling."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from kirikae_emulator import cc_seed

ACCOUNT = "111111111111"


@pytest.fixture
def cc(client_factory):
    return client_factory("cloudcontrol", account=ACCOUNT)


def _create(cc, type_name, state):
    ev = cc.create_resource(TypeName=type_name, DesiredState=json.dumps(state))["ProgressEvent"]
    assert ev["OperationStatus"] == "SUCCESS", ev
    return ev["Identifier"]


def _props(cc, type_name, identifier):
    return json.loads(cc.get_resource(TypeName=type_name, Identifier=identifier)["ResourceDescription"]["Properties"])


def test_a_type_moto_models_is_created_read_listed_and_deleted_in_moto(cc, client_factory):
    ident = _create(cc, "AWS::IoT::ThingType", {"ThingTypeName": "old-sensors", "Tags": [{"Key": "owner", "Value": "old"}]})
    assert ident == "old-sensors"
    props = _props(cc, "AWS::IoT::ThingType", ident)
    assert props["Arn"] == f"arn:aws:iot:ap-northeast-1:{ACCOUNT}:thingtype/old-sensors"
    assert "Tags" not in props
    iot = client_factory("iot", account=ACCOUNT)
    assert [t["thingTypeName"] for t in iot.list_thing_types()["thingTypes"]] == ["old-sensors"]
    listed = cc.list_resources(TypeName="AWS::IoT::ThingType")["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == ["old-sensors"]

    token = cc.delete_resource(TypeName="AWS::IoT::ThingType", Identifier=ident)["ProgressEvent"]["RequestToken"]
    # As on AWS, it takes a while: still there while the request is IN_PROGRESS.
    first = cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]
    assert first["OperationStatus"] == "IN_PROGRESS"
    assert iot.list_thing_types()["thingTypes"] != []
    assert cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]["OperationStatus"] == "SUCCESS"
    assert iot.list_thing_types()["thingTypes"] == []
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::IoT::ThingType", Identifier=ident)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_tags_given_to_cloud_control_show_in_the_tagging_api_and_mark_tags_them(cc, client_factory):
    _create(cc, "AWS::IoT::BillingGroup", {"BillingGroupName": "old-bg", "Tags": [{"Key": "owner", "Value": "old"}]})
    _create(cc, "AWS::IoT::BillingGroup", {"BillingGroupName": "shop-bg", "Tags": [{"Key": "app", "Value": "shop"}]})
    tagging = client_factory("resourcegroupstaggingapi", account=ACCOUNT)
    arn = f"arn:aws:iot:ap-northeast-1:{ACCOUNT}:billinggroup/old-bg"
    got = tagging.get_resources(TagFilters=[{"Key": "owner", "Values": ["old"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in got] == [arn]
    failed = tagging.tag_resources(ResourceARNList=[arn], Tags={"kirikae:sweep": "plan-1"})["FailedResourcesMap"]
    assert failed == {}
    got = tagging.get_resources(TagFilters=[{"Key": "kirikae:sweep", "Values": ["plan-1"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in got] == [arn]
    assert {t["Key"]: t["Value"] for t in got[0]["Tags"]} == {"owner": "old", "kirikae:sweep": "plan-1"}
    # Another account sees none of it.
    other = client_factory("resourcegroupstaggingapi", account="222222222222")
    assert other.get_resources(TagFilters=[{"Key": "owner"}])["ResourceTagMappingList"] == []


def test_a_client_token_returns_the_same_request_and_never_deletes_twice(cc, endpoint):
    ident = _create(cc, "AWS::Kinesis::Stream", {"Name": "old-clicks", "ShardCount": 1})
    one = cc.delete_resource(TypeName="AWS::Kinesis::Stream", Identifier=ident, ClientToken="kirikae-a")["ProgressEvent"]
    again = cc.delete_resource(TypeName="AWS::Kinesis::Stream", Identifier=ident, ClientToken="kirikae-a")["ProgressEvent"]
    assert again["RequestToken"] == one["RequestToken"]
    log = requests.get(f"{endpoint}/_kirikae/cloudcontrol/log", timeout=10).json()["deletes"]
    assert [d["New"] for d in log] == [True, False]
    with pytest.raises(ClientError) as e:
        cc.delete_resource(TypeName="AWS::Kinesis::Stream", Identifier="other", ClientToken="kirikae-a")
    assert e.value.response["Error"]["Code"] == "ClientTokenConflictException"


def test_throttling_comes_from_the_fault_injection(cc, endpoint):
    _create(cc, "AWS::IoT::ThingType", {"ThingTypeName": "old-sensors"})
    requests.post(
        f"{endpoint}/_kirikae/faults",
        json={"service": "cloudcontrolapi", "operation": "ListResources", "error": "ThrottlingException", "message": "Rate exceeded"},
        timeout=10,
    ).raise_for_status()
    # The first call is throttled; the client's retry gets the answer.
    listed = cc.list_resources(TypeName="AWS::IoT::ThingType")["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == ["old-sensors"]
    faults = requests.get(f"{endpoint}/_kirikae/faults", timeout=10).json()["faults"]
    assert [(f["calls"], f["hits"]) for f in faults] == [(2, 1)]


def test_types_moto_cannot_delete_are_unsupported(cc):
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::Lambda::LayerVersion", Identifier="x")
    assert e.value.response["Error"]["Code"] == "UnsupportedActionException"


def test_the_seed_makes_a_leftover_and_a_decoy_of_each_type(endpoint):
    out = cc_seed.seed(endpoint, ACCOUNT, ("owner", "cc-old"), ("app", "shop"))
    failed = {t: e["error"] for t, e in out.items() if "error" in e}
    assert failed == {}
    for t, e in out.items():
        assert e["leftover"]["identifier"] != e["decoy"]["identifier"], t


def test_a_type_moto_has_no_cloudformation_support_for_is_made_in_its_service_and_deleted(cc, client_factory):
    # cc_hooks: Athena work groups have no CloudFormation model in moto.
    ident = _create(cc, "AWS::Athena::WorkGroup", {"Name": "old-queries", "Tags": [{"Key": "owner", "Value": "old"}]})
    assert ident == "old-queries"
    athena = client_factory("athena", account=ACCOUNT)
    assert "old-queries" in [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    props = _props(cc, "AWS::Athena::WorkGroup", ident)
    assert props["Name"] == "old-queries" and "Tags" not in props
    tagging = client_factory("resourcegroupstaggingapi", account=ACCOUNT)
    got = tagging.get_resources(TagFilters=[{"Key": "owner", "Values": ["old"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in got] == [f"arn:aws:athena:ap-northeast-1:{ACCOUNT}:workgroup/old-queries"]
    token = cc.delete_resource(TypeName="AWS::Athena::WorkGroup", Identifier=ident)["ProgressEvent"]["RequestToken"]
    while cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]["OperationStatus"] == "IN_PROGRESS":
        pass
    assert "old-queries" not in [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]


def test_a_desired_state_with_a_property_the_schema_lacks_is_refused_as_on_aws(cc):
    with pytest.raises(ClientError) as e:
        cc.create_resource(TypeName="AWS::EFS::FileSystem", DesiredState=json.dumps({"Tags": [{"Key": "a", "Value": "b"}]}))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "extraneous key [Tags]" in e.value.response["Error"]["Message"]


def test_a_flow_log_is_listed_under_the_arn_aws_gives_it(cc, client_factory):
    vpc = client_factory("ec2", account=ACCOUNT).create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    state = {"ResourceId": vpc, "ResourceType": "VPC", "TrafficType": "ALL", "LogGroupName": "old-flows", "DeliverLogsPermissionArn": f"arn:aws:iam::{ACCOUNT}:role/flows", "Tags": [{"Key": "owner", "Value": "old"}]}
    ident = _create(cc, "AWS::EC2::FlowLog", state)
    tagging = client_factory("resourcegroupstaggingapi", account=ACCOUNT)
    got = tagging.get_resources(TagFilters=[{"Key": "owner", "Values": ["old"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in got] == [f"arn:aws:ec2:ap-northeast-1:{ACCOUNT}:vpc-flow-log/{ident}"]
