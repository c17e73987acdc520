"""CloudFormation's IAM resources as AWS deploys them, with the templates `kirikae accounts
bootstrap --format cloudformation` writes (the story's, committed under story_bootstrap/):
moto skips AWS::IAM::Group and ignores a role's ManagedPolicyArns; the emulator makes both."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kirikae_emulator.seed import STORY_TEMPLATES

JUMP, PROD = "100000000000", "111111111111"


def deploy(client_factory, account, kind, parameters=()):
    cf = client_factory("cloudformation", account=account)
    cf.create_stack(
        StackName="kirikae",
        TemplateBody=(STORY_TEMPLATES / f"{kind}.json").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    stack = cf.describe_stacks(StackName="kirikae")["Stacks"][0]
    return cf, stack


def test_the_jump_template_makes_its_groups_with_their_policies(client_factory):
    cf, stack = deploy(client_factory, JUMP, "jump")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == {"KirikaeOpsGroup": f"arn:aws:iam::{JUMP}:group/kirikae-ops"}
    iam = client_factory("iam", account=JUMP)
    assert iam.get_group(GroupName="kirikae-ops")["Group"]["Path"] == "/"
    assert iam.list_group_policies(GroupName="kirikae-ops")["PolicyNames"] == ["kirikae-assume-ops"]
    doc = iam.get_group_policy(GroupName="kirikae-ops", PolicyName="kirikae-assume-ops")["PolicyDocument"]
    statement = doc["Statement"][0]
    # Fn::Sub resolved: exactly the accounts' role ARNs, with MFA.
    assert sorted(statement["Resource"]) == [
        "arn:aws:iam::111111111111:role/ops",
        "arn:aws:iam::222222222222:role/ops",
    ]
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    resources = cf.list_stack_resources(StackName="kirikae")["StackResourceSummaries"]
    assert [(r["ResourceType"], r["PhysicalResourceId"]) for r in resources] == [("AWS::IAM::Group", "kirikae-ops")]

    # Deleting the stack deletes the group, members and all.
    iam.create_user(UserName="hanako")
    iam.add_user_to_group(GroupName="kirikae-ops", UserName="hanako")
    cf.delete_stack(StackName="kirikae")
    with pytest.raises(ClientError) as gone:
        iam.get_group(GroupName="kirikae-ops")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"


def test_the_member_template_attaches_its_managed_policies_and_takes_its_parameters(client_factory):
    cf, stack = deploy(client_factory, PROD, "member-protected", [("MaxSessionDuration", "7200")])
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    iam = client_factory("iam", account=PROD)
    role = iam.get_role(RoleName="ops")["Role"]
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "managed-by", "Value": "kirikae"}]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{JUMP}:root"}
    assert trust["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
    attached = iam.list_attached_role_policies(RoleName="ops")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]

    # Deleting the stack detaches the policy first (IAM refuses to delete a role with one).
    cf.delete_stack(StackName="kirikae")
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName="ops")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"


def test_inline_role_and_group_policies_are_stored_as_json_documents(client_factory):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds:DescribeDBClusters", "Resource": "*"}]}
    template = {
        "Resources": {
            "Runner": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": "runner",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{JUMP}:root"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "job", "PolicyDocument": document}],
            }},
            "Readers": {"Type": "AWS::IAM::Group", "Properties": {
                "GroupName": "readers",
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "Policies": [{"PolicyName": "job", "PolicyDocument": document}],
            }},
        }
    }
    cf = client_factory("cloudformation", account=PROD)
    cf.create_stack(StackName="s", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
    iam = client_factory("iam", account=PROD)
    assert iam.get_role_policy(RoleName="runner", PolicyName="job")["PolicyDocument"] == document
    assert iam.get_group_policy(GroupName="readers", PolicyName="job")["PolicyDocument"] == document
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName="readers")["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    ]
