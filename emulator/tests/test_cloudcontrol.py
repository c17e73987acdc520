"""The Cloud Control emulation acts on moto's own backends."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "111111111111"


@pytest.fixture
def cc(client_factory):
    return client_factory("cloudcontrol", account=ACCOUNT)


def _status(cc, token):
    """The request's final event: as on AWS, a deletion is IN_PROGRESS for a while first."""
    for _ in range(10):
        event = cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]
        if event["OperationStatus"] != "IN_PROGRESS":
            return event
    raise AssertionError(f"request {token} still IN_PROGRESS")


def test_ssm_parameter_read_changed_and_deleted_in_moto(cc, client_factory):
    ssm = client_factory("ssm", account=ACCOUNT)
    ssm.put_parameter(Name="/old/db/url", Value="mysql://old", Type="String", Description="old db")
    got = cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier="/old/db/url")
    props = json.loads(got["ResourceDescription"]["Properties"])
    assert props["Value"] == "mysql://old" and props["Description"] == "old db"
    assert "Tags" not in props

    # A change in moto shows at once.
    ssm.put_parameter(Name="/old/db/url", Value="mysql://new", Type="String", Overwrite=True)
    props = json.loads(cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier="/old/db/url")
                       ["ResourceDescription"]["Properties"])
    assert props["Value"] == "mysql://new"

    listed = cc.list_resources(TypeName="AWS::SSM::Parameter")["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == ["/old/db/url"]

    started = cc.delete_resource(TypeName="AWS::SSM::Parameter", Identifier="/old/db/url")["ProgressEvent"]
    assert started["OperationStatus"] == "IN_PROGRESS" and started["Operation"] == "DELETE"
    # Asynchronous, as on AWS: still there until the request is followed.
    assert ssm.get_parameter(Name="/old/db/url")["Parameter"]["Value"] == "mysql://new"
    done = _status(cc, started["RequestToken"])
    assert done["OperationStatus"] == "SUCCESS"
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/old/db/url")
    assert e.value.response["Error"]["Code"] == "ParameterNotFound"
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier="/old/db/url")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert _status(cc, started["RequestToken"])["OperationStatus"] == "SUCCESS"


def test_state_machine_by_arn(cc, client_factory):
    sfn = client_factory("stepfunctions", account=ACCOUNT)
    arn = sfn.create_state_machine(
        name="old-flow", definition='{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/old-flow",
    )["stateMachineArn"]
    props = json.loads(cc.get_resource(TypeName="AWS::StepFunctions::StateMachine", Identifier=arn)
                       ["ResourceDescription"]["Properties"])
    assert props["Arn"] == arn and props["StateMachineName"] == "old-flow"
    token = cc.delete_resource(TypeName="AWS::StepFunctions::StateMachine", Identifier=arn)["ProgressEvent"]["RequestToken"]
    assert _status(cc, token)["OperationStatus"] == "SUCCESS"
    assert sfn.list_state_machines()["stateMachines"] == []


def test_events_rule_and_bus(cc, client_factory):
    events = client_factory("events", account=ACCOUNT)
    events.create_event_bus(Name="old-bus")
    rule_arn = events.put_rule(Name="old-nightly", ScheduleExpression="rate(1 day)")["RuleArn"]
    events.put_targets(Rule="old-nightly", Targets=[{"Id": "t", "Arn": f"arn:aws:sqs:ap-northeast-1:{ACCOUNT}:q"}])
    props = json.loads(cc.get_resource(TypeName="AWS::Events::Rule", Identifier=rule_arn)
                       ["ResourceDescription"]["Properties"])
    assert props["ScheduleExpression"] == "rate(1 day)" and props["Targets"][0]["Id"] == "t"
    token = cc.delete_resource(TypeName="AWS::Events::Rule", Identifier=rule_arn)["ProgressEvent"]["RequestToken"]
    assert _status(cc, token)["OperationStatus"] == "SUCCESS"
    assert events.list_rules()["Rules"] == []

    props = json.loads(cc.get_resource(TypeName="AWS::Events::EventBus", Identifier="old-bus")
                       ["ResourceDescription"]["Properties"])
    assert props["Name"] == "old-bus"
    token = cc.delete_resource(TypeName="AWS::Events::EventBus", Identifier="old-bus")["ProgressEvent"]["RequestToken"]
    assert _status(cc, token)["OperationStatus"] == "SUCCESS"
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default"]
    # The service's own refusal comes back as a failed request.
    token = cc.delete_resource(TypeName="AWS::Events::EventBus", Identifier="default")["ProgressEvent"]["RequestToken"]
    failed = _status(cc, token)
    assert failed["OperationStatus"] == "FAILED" and failed["ErrorCode"] == "GeneralServiceException"
    assert "default" in failed["StatusMessage"]


def test_errors(cc):
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::Lambda::LayerVersion", Identifier="x")
    assert e.value.response["Error"]["Code"] == "UnsupportedActionException"
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier="/nope")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    token = cc.delete_resource(TypeName="AWS::SSM::Parameter", Identifier="/nope")["ProgressEvent"]["RequestToken"]
    failed = _status(cc, token)
    assert failed["OperationStatus"] == "FAILED" and failed["ErrorCode"] == "NotFound"
    with pytest.raises(ClientError) as e:
        cc.get_resource_request_status(RequestToken="never-issued")
    assert e.value.response["Error"]["Code"] == "RequestTokenNotFoundException"


def test_accounts_are_apart(cc, client_factory):
    client_factory("ssm", account=ACCOUNT).put_parameter(Name="mine", Value="1", Type="String")
    other = client_factory("cloudcontrol", account="222222222222")
    with pytest.raises(ClientError) as e:
        other.get_resource(TypeName="AWS::SSM::Parameter", Identifier="mine")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier="mine")["ResourceDescription"]["Identifier"] == "mine"


def test_a_child_type_is_listed_under_its_parent_as_on_aws(cc, client_factory):
    api = cc.create_resource(TypeName="AWS::ApiGateway::RestApi", DesiredState=json.dumps({"Name": "old-api"}))
    api_id = api["ProgressEvent"]["Identifier"]
    other = cc.create_resource(TypeName="AWS::ApiGateway::RestApi", DesiredState=json.dumps({"Name": "other-api"}))
    other_id = other["ProgressEvent"]["Identifier"]
    ag = client_factory("apigateway", account=ACCOUNT)
    root = ag.get_resources(restApiId=api_id)["items"][0]["id"]
    kid = ag.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    # Without the parent's identifier the list handler refuses, naming what it needs.
    with pytest.raises(ClientError) as e:
        cc.list_resources(TypeName="AWS::ApiGateway::Resource")
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "Required property:  [RestApiId]" in e.value.response["Error"]["Message"]
    listed = cc.list_resources(TypeName="AWS::ApiGateway::Resource", ResourceModel=json.dumps({"RestApiId": api_id}))
    assert [d["Identifier"] for d in listed["ResourceDescriptions"]] == [f"{api_id}|{kid}"]
    props = json.loads(listed["ResourceDescriptions"][0]["Properties"])
    assert props == {"RestApiId": api_id, "ResourceId": kid, "ParentId": root, "PathPart": "orders"}
    assert cc.list_resources(TypeName="AWS::ApiGateway::Resource", ResourceModel=json.dumps({"RestApiId": other_id}))[
        "ResourceDescriptions"
    ] == []
    # A type listed without a parent takes no filter it does not need, and is filtered by it.
    apis = cc.list_resources(TypeName="AWS::ApiGateway::RestApi", ResourceModel=json.dumps({"Name": "old-api"}))
    assert [d["Identifier"] for d in apis["ResourceDescriptions"]] == [api_id]
    token = cc.delete_resource(TypeName="AWS::ApiGateway::Resource", Identifier=f"{api_id}|{kid}")["ProgressEvent"]["RequestToken"]
    assert _status(cc, token)["OperationStatus"] == "SUCCESS"
    assert [r["id"] for r in ag.get_resources(restApiId=api_id)["items"]] == [root]


def test_a_global_resource_is_read_and_deleted_from_any_region(cc, endpoint):
    import boto3

    cc.create_resource(
        TypeName="AWS::IAM::User",
        DesiredState=json.dumps({"UserName": "old-user", "Tags": [{"Key": "owner", "Value": "old"}]}),
    )
    kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)

    def as_account(request, **_):
        request.headers["x-moto-account-id"] = ACCOUNT

    other, tagging = boto3.client("cloudcontrol", **kw), boto3.client("resourcegroupstaggingapi", **kw)
    for c in (other, tagging):
        c.meta.events.register("before-sign", as_account)
    arn = f"arn:aws:iam::{ACCOUNT}:user/old-user"
    found = tagging.get_resources(TagFilters=[{"Key": "owner", "Values": ["old"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in found] == [arn]
    props = json.loads(other.get_resource(TypeName="AWS::IAM::User", Identifier="old-user")["ResourceDescription"]["Properties"])
    assert props["Arn"] == arn
    token = other.delete_resource(TypeName="AWS::IAM::User", Identifier="old-user")["ProgressEvent"]["RequestToken"]
    assert _status(other, token)["OperationStatus"] == "SUCCESS"
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::IAM::User", Identifier="old-user")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_requests_are_listed_by_operation_and_status_and_a_listing_moves_them_on(cc, client_factory):
    ssm = client_factory("ssm", account=ACCOUNT)
    for n in ("a", "b"):
        ssm.put_parameter(Name=f"/old/{n}", Value="1", Type="String")
    tokens = [
        cc.delete_resource(TypeName="AWS::SSM::Parameter", Identifier=f"/old/{n}")["ProgressEvent"]["RequestToken"]
        for n in ("a", "b")
    ]
    busy = {"Operations": ["DELETE"], "OperationStatuses": ["PENDING", "IN_PROGRESS", "CANCEL_IN_PROGRESS"]}
    first = cc.list_resource_requests(ResourceRequestStatusFilter=busy)["ResourceRequestStatusSummaries"]
    assert sorted(e["RequestToken"] for e in first) == sorted(tokens)
    assert ssm.get_parameter(Name="/old/a")["Parameter"]["Value"] == "1"
    # The second look carries them out: none in progress any more, both succeeded.
    assert cc.list_resource_requests(ResourceRequestStatusFilter=busy)["ResourceRequestStatusSummaries"] == []
    done = cc.list_resource_requests(ResourceRequestStatusFilter={"OperationStatuses": ["SUCCESS"]})
    assert sorted(e["RequestToken"] for e in done["ResourceRequestStatusSummaries"]) == sorted(tokens)
    assert cc.get_resource_request_status(RequestToken=tokens[0])["ProgressEvent"]["OperationStatus"] == "SUCCESS"
    assert ssm.get_parameters(Names=["/old/a", "/old/b"])["Parameters"] == []
    other = client_factory("cloudcontrol", account="222222222222")
    assert other.list_resource_requests()["ResourceRequestStatusSummaries"] == []
