"""Leftovers of many resource types made through the emulator's Cloud Control (CreateResource),
for sweep's Cloud Control tests: per type one resource tagged as a leftover and one decoy tagged
otherwise, with the ground truth (ARN, identifier) of each.

    python -m kirikae_emulator.cc_seed ENDPOINT ACCOUNT [TAG=VALUE]   -> JSON on stdout

Each entry of DESIRED makes a minimal desired state for one type from a name; `needs` names what
it needs made first (and handed to it). Types here are ones sweep has no hand-written file for.
"""

from __future__ import annotations

import json
import sys

ROLE = "arn:aws:iam::{account}:role/cc-seed-role"


def _tags(tags: dict[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# type -> (needs, desired(name, tags, made, account))
DESIRED: dict[str, tuple[list[str], object]] = {
    "AWS::Events::EventBus": ([], lambda n, t, m, a: {"Name": n, "Tags": _tags(t)}),
    "AWS::Events::Rule": ([], lambda n, t, m, a: {"Name": n, "ScheduleExpression": "rate(1 day)", "Tags": _tags(t)}),
    "AWS::IAM::User": ([], lambda n, t, m, a: {"UserName": n, "Tags": _tags(t)}),
    "AWS::IoT::BillingGroup": ([], lambda n, t, m, a: {"BillingGroupName": n, "Tags": _tags(t)}),
    "AWS::IoT::ThingType": ([], lambda n, t, m, a: {"ThingTypeName": n, "Tags": _tags(t)}),
    "AWS::IoT::RoleAlias": ([], lambda n, t, m, a: {"RoleAlias": n, "RoleArn": ROLE.format(account=a), "Tags": _tags(t)}),
    "AWS::IoT::Policy": (
        [],
        lambda n, t, m, a: {
            "PolicyName": n,
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]},
            "Tags": _tags(t),
        },
    ),
    "AWS::IoT::JobTemplate": (
        [],
        lambda n, t, m, a: {"JobTemplateId": n, "Description": "old job", "Document": "{}", "Tags": _tags(t)},
    ),
    "AWS::SSM::Document": (
        [],
        lambda n, t, m, a: {
            "Name": n,
            "DocumentType": "Command",
            "DocumentFormat": "JSON",
            "Content": json.dumps(
                {"schemaVersion": "2.2", "description": "old", "mainSteps": [{"action": "aws:runShellScript", "name": "r", "inputs": {"runCommand": ["true"]}}]}
            ),
            "Tags": _tags(t),
        },
    ),
    "AWS::SSM::Parameter": ([], lambda n, t, m, a: {"Name": f"/{n}/url", "Type": "String", "Value": "x", "Tags": _tags(t)}),
    "AWS::StepFunctions::StateMachine": (
        [],
        lambda n, t, m, a: {
            "StateMachineName": n,
            "RoleArn": ROLE.format(account=a),
            "DefinitionString": '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
            "Tags": _tags(t),
        },
    ),
    "AWS::SageMaker::Model": (
        [],
        lambda n, t, m, a: {
            "ModelName": n,
            "ExecutionRoleArn": ROLE.format(account=a),
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/old:latest"},
            "Tags": _tags(t),
        },
    ),
    "AWS::SageMaker::NotebookInstance": (
        [],
        lambda n, t, m, a: {"NotebookInstanceName": n, "InstanceType": "ml.t3.medium", "RoleArn": ROLE.format(account=a), "Tags": _tags(t)},
    ),
    "AWS::Kinesis::Stream": ([], lambda n, t, m, a: {"Name": n, "ShardCount": 1, "Tags": _tags(t)}),
    "AWS::EFS::FileSystem": ([], lambda n, t, m, a: {"FileSystemTags": _tags(t), "Tags": _tags(t)}),
    "AWS::ElasticLoadBalancing::LoadBalancer": (
        [],
        lambda n, t, m, a: {
            "LoadBalancerName": n,
            "AvailabilityZones": ["ap-northeast-1a"],
            "Listeners": [{"LoadBalancerPort": "80", "InstancePort": "80", "Protocol": "HTTP"}],
            "Tags": _tags(t),
        },
    ),
    "AWS::ApiGateway::RestApi": ([], lambda n, t, m, a: {"Name": n, "Tags": _tags(t)}),
    "AWS::ECS::Cluster": ([], lambda n, t, m, a: {"ClusterName": n, "Tags": _tags(t)}),
    "AWS::ECS::TaskDefinition": (
        [],
        lambda n, t, m, a: {"Family": n, "ContainerDefinitions": [{"Name": "a", "Image": "nginx", "Memory": 128}], "Tags": _tags(t)},
    ),
    "AWS::EC2::TransitGateway": ([], lambda n, t, m, a: {"Description": n, "Tags": _tags(t)}),
    "AWS::EC2::VPNGateway": ([], lambda n, t, m, a: {"Type": "ipsec.1", "Tags": _tags(t)}),
    "AWS::Route53::HostedZone": ([], lambda n, t, m, a: {"Name": f"{n}.example.com", "HostedZoneTags": _tags(t)}),
    "AWS::Route53::HealthCheck": (
        [],
        lambda n, t, m, a: {
            "HealthCheckConfig": {"Type": "HTTP", "FullyQualifiedDomainName": f"{n}.example.com", "Port": 80},
            "HealthCheckTags": _tags(t),
        },
    ),
    "AWS::Redshift::ClusterParameterGroup": (
        [],
        lambda n, t, m, a: {"Description": n, "ParameterGroupFamily": "redshift-1.0", "Tags": _tags(t)},
    ),
    "AWS::CloudWatch::Dashboard": ([], lambda n, t, m, a: {"DashboardName": n, "DashboardBody": '{"widgets":[]}', "Tags": _tags(t)}),
}


def seed(endpoint: str, account: str, tag: tuple[str, str], decoy: tuple[str, str], only: list[str] | None = None) -> dict:
    from .seed import client

    cc = client("cloudcontrol", endpoint, account)
    out: dict[str, dict] = {}
    for type_name, (_, desired) in DESIRED.items():
        if only and type_name not in only:
            continue
        short = type_name.split("::")[1].lower() + "-" + type_name.split("::")[2].lower()
        entry: dict = {}
        for role, (k, v) in (("leftover", tag), ("decoy", decoy)):
            name = f"cc-{role[:3]}-{short}"[:60]
            state = desired(name, {k: v}, out, account)
            try:
                ev = cc.create_resource(TypeName=type_name, DesiredState=json.dumps(state))["ProgressEvent"]
            except Exception as exc:  # noqa: BLE001 - reported per type
                entry["error"] = f"{type(exc).__name__}: {exc}"
                break
            got = json.loads(cc.get_resource(TypeName=type_name, Identifier=ev["Identifier"])["ResourceDescription"]["Properties"])
            entry[role] = {"identifier": ev["Identifier"], "properties": got}
        out[type_name] = entry
    return out


def main(argv: list[str]) -> int:
    endpoint, account = argv[0], argv[1]
    key, _, value = (argv[2] if len(argv) > 2 else "owner=cc-old").partition("=")
    print(json.dumps(seed(endpoint, account, (key, value), ("app", "shop")), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
