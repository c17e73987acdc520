"""Leftovers of many resource types made through the emulator's Cloud Control (CreateResource),
for sweep's Cloud Control tests: per type one resource tagged as a leftover and one decoy tagged
otherwise, with the ground truth (ARN, identifier) of each.

    python -m kirikae_emulator.cc_seed ENDPOINT ACCOUNT [TAG=VALUE]   -> JSON on stdout

Each entry of DESIRED makes a minimal desired state for one type from a name; `needs` names the
HELPERS it needs made first (once, untagged, through the services' own APIs: a VPC, a load
balancer...), handed to it by name. Types here are ones sweep has no hand-written file for: the
types moto's CloudFormation support makes (cc_store) and those the emulator adds (cc_hooks).
"""

from __future__ import annotations

import json
import sys

ROLE = "arn:aws:iam::{account}:role/cc-seed-role"


def _tags(tags: dict[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _vpc(c, a, cidr="10.90.0.0/16"):
    return c("ec2").create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]


def _subnet(c, h, a, cidr, az):
    return c("ec2").create_subnet(VpcId=h("vpc"), CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]


def _role(c, a):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return c("iam").create_role(RoleName="cc-seed-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def _sagemaker_model(c, h, a):
    c("sagemaker").create_model(
        ModelName="cc-seed-model",
        ExecutionRoleArn=h("role"),
        PrimaryContainer={"Image": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/old:latest"},
    )
    return "cc-seed-model"


def _endpoint_config(c, h, a):
    variant = {"VariantName": "a", "ModelName": h("sagemaker_model"), "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}
    c("sagemaker").create_endpoint_config(EndpointConfigName="cc-seed-epc", ProductionVariants=[variant])
    return "cc-seed-epc"


def _load_balancer(c, h, a):
    lb = c("elbv2").create_load_balancer(Name="cc-seed-alb", Subnets=[h("subnet"), h("subnet2")])
    return lb["LoadBalancers"][0]["LoadBalancerArn"]


def _target_group(c, h, a):
    tg = c("elbv2").create_target_group(Name="cc-seed-tg", Protocol="HTTP", Port=80, VpcId=h("vpc"))
    return tg["TargetGroups"][0]["TargetGroupArn"]


def _task_definition(c, h, a):
    td = c("ecs").register_task_definition(family="cc-seed-td", containerDefinitions=[{"name": "a", "image": "nginx", "memory": 128}])
    return td["taskDefinition"]["taskDefinitionArn"]


def _compute_environment(c, h, a):
    ce = c("batch").create_compute_environment(computeEnvironmentName="cc-seed-ce", type="UNMANAGED", serviceRole=h("role"))
    return ce["computeEnvironmentArn"]


def _bucket(c, h, a):
    c("s3").create_bucket(Bucket=f"cc-seed-trail-{a}", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return f"cc-seed-trail-{a}"


# name -> make(client(service), helper(name), account) -> value
HELPERS = {
    "role": lambda c, h, a: _role(c, a),
    "vpc": lambda c, h, a: _vpc(c, a),
    "vpc2": lambda c, h, a: _vpc(c, a, "10.91.0.0/16"),
    "subnet": lambda c, h, a: _subnet(c, h, a, "10.90.1.0/24", "ap-northeast-1a"),
    "subnet2": lambda c, h, a: _subnet(c, h, a, "10.90.2.0/24", "ap-northeast-1c"),
    "file_system": lambda c, h, a: c("efs").create_file_system(CreationToken="cc-seed-fs")["FileSystemId"],
    "sagemaker_model": _sagemaker_model,
    "endpoint_config": _endpoint_config,
    "load_balancer": _load_balancer,
    "target_group": _target_group,
    "ecs_cluster": lambda c, h, a: c("ecs").create_cluster(clusterName="cc-seed-cluster")["cluster"]["clusterName"],
    "task_definition": _task_definition,
    "compute_environment": _compute_environment,
    "bucket": _bucket,
}

_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}

# type -> (needs, desired(name, tags, helpers, account))
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
    "AWS::EFS::FileSystem": ([], lambda n, t, m, a: {"FileSystemTags": _tags(t)}),
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
    # moto's models, with helpers made first
    "AWS::EFS::AccessPoint": (["file_system"], lambda n, t, h, a: {"FileSystemId": h["file_system"], "AccessPointTags": _tags(t)}),
    "AWS::SageMaker::EndpointConfig": (
        ["sagemaker_model"],
        lambda n, t, h, a: {
            "EndpointConfigName": n,
            "ProductionVariants": [
                {"VariantName": "a", "ModelName": h["sagemaker_model"], "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}
            ],
            "Tags": _tags(t),
        },
    ),
    "AWS::SageMaker::Endpoint": (["endpoint_config"], lambda n, t, h, a: {"EndpointName": n, "EndpointConfigName": h["endpoint_config"], "Tags": _tags(t)}),
    "AWS::EC2::VPCEndpoint": (
        ["vpc"],
        lambda n, t, h, a: {"VpcId": h["vpc"], "ServiceName": "com.amazonaws.ap-northeast-1.s3", "VpcEndpointType": "Gateway", "RouteTableIds": [], "Tags": _tags(t)},
    ),
    "AWS::EC2::VPCPeeringConnection": (["vpc", "vpc2"], lambda n, t, h, a: {"VpcId": h["vpc"], "PeerVpcId": h["vpc2"], "Tags": _tags(t)}),
    "AWS::EC2::FlowLog": (
        ["vpc", "role"],
        lambda n, t, h, a: {
            "ResourceId": h["vpc"],
            "ResourceType": "VPC",
            "TrafficType": "REJECT",
            "LogGroupName": f"{n}-logs",
            "DeliverLogsPermissionArn": h["role"],
            "Tags": _tags(t),
        },
    ),
    "AWS::ElasticLoadBalancingV2::Listener": (
        ["load_balancer", "target_group"],
        lambda n, t, h, a: {
            "LoadBalancerArn": h["load_balancer"],
            "Port": 8080 if "lef" in n else 8081,
            "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": h["target_group"]}],
            "Tags": _tags(t),
        },
    ),
    "AWS::Batch::ComputeEnvironment": (
        ["role"],
        lambda n, t, h, a: {"ComputeEnvironmentName": n, "Type": "UNMANAGED", "ServiceRole": h["role"], "Tags": t},
    ),
    "AWS::Batch::JobQueue": (
        ["compute_environment"],
        lambda n, t, h, a: {
            "JobQueueName": n,
            "Priority": 1,
            "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": h["compute_environment"]}],
            "Tags": t,
        },
    ),
    "AWS::Batch::JobDefinition": (
        [],
        lambda n, t, h, a: {
            "JobDefinitionName": n,
            "Type": "container",
            "ContainerProperties": {"Image": "busybox", "Vcpus": 1, "Memory": 128},
            "RetryStrategy": {"Attempts": 1},
            "Tags": t,
        },
    ),
    "AWS::Redshift::ClusterSubnetGroup": (["subnet"], lambda n, t, h, a: {"Description": n, "SubnetIds": [h["subnet"]], "Tags": _tags(t)}),
    "AWS::ECS::Service": (
        ["ecs_cluster", "task_definition"],
        lambda n, t, h, a: {"ServiceName": n, "Cluster": h["ecs_cluster"], "TaskDefinition": h["task_definition"], "DesiredCount": 0, "Tags": _tags(t)},
    ),
    "AWS::DataPipeline::Pipeline": (
        [],
        lambda n, t, h, a: {
            "Name": n,
            "Activate": False,
            "PipelineObjects": [{"Id": "Default", "Name": "Default", "Fields": [{"Key": "workerGroup", "StringValue": "wg"}]}],
            "PipelineTags": _tags(t),
        },
    ),
    # the emulator's own hooks (cc_hooks)
    "AWS::Athena::WorkGroup": ([], lambda n, t, h, a: {"Name": n, "Description": "old queries", "Tags": _tags(t)}),
    "AWS::Glue::Workflow": ([], lambda n, t, h, a: {"Name": n, "Description": "old etl", "Tags": t}),
    "AWS::CloudTrail::Trail": (["bucket"], lambda n, t, h, a: {"TrailName": n, "S3BucketName": h["bucket"], "IsLogging": False, "Tags": _tags(t)}),
    "AWS::Backup::BackupPlan": (
        [],
        lambda n, t, h, a: {
            "BackupPlan": {"BackupPlanName": n, "BackupPlanRule": [{"RuleName": "daily", "TargetBackupVault": "Default"}]},
            "BackupPlanTags": t,
        },
    ),
    "AWS::Scheduler::ScheduleGroup": ([], lambda n, t, h, a: {"Name": n, "Tags": _tags(t)}),
    "AWS::ElastiCache::SubnetGroup": (
        ["subnet"],
        lambda n, t, h, a: {"CacheSubnetGroupName": n, "Description": n, "SubnetIds": [h["subnet"]], "Tags": _tags(t)},
    ),
    "AWS::ResourceGroups::Group": (
        [],
        lambda n, t, h, a: {
            "Name": n,
            "ResourceQuery": {"Type": "TAG_FILTERS_1_0", "Query": {"TagFilters": [{"Key": "app", "Values": [n]}]}},
            "Tags": _tags(t),
        },
    ),
    "AWS::Cognito::UserPool": ([], lambda n, t, h, a: {"UserPoolName": n, "UserPoolTags": t}),
    "AWS::ApiGatewayV2::Api": ([], lambda n, t, h, a: {"Name": n, "ProtocolType": "HTTP", "Tags": t}),
    "AWS::ApiGateway::UsagePlan": ([], lambda n, t, h, a: {"UsagePlanName": n, "Tags": _tags(t)}),
    "AWS::SES::ConfigurationSet": ([], lambda n, t, h, a: {"Name": n, "Tags": _tags(t)}),
}


def seed(endpoint: str, account: str, tag: tuple[str, str], decoy: tuple[str, str], only: list[str] | None = None) -> dict:
    from .seed import client

    cc = client("cloudcontrol", endpoint, account)
    helpers: dict[str, object] = {}

    def helper(name: str):
        if name not in helpers:
            helpers[name] = HELPERS[name](lambda s: client(s, endpoint, account), helper, account)
        return helpers[name]

    out: dict[str, dict] = {}
    for type_name, (needs, desired) in DESIRED.items():
        if only and type_name not in only:
            continue
        try:
            made = {n: helper(n) for n in needs}
        except Exception as exc:  # noqa: BLE001 - reported per type
            out[type_name] = {"error": f"helper: {type(exc).__name__}: {exc}"}
            continue
        short = type_name.split("::")[1].lower() + "-" + type_name.split("::")[2].lower()
        entry: dict = {}
        for role, (k, v) in (("leftover", tag), ("decoy", decoy)):
            name = f"cc-{role[:3]}-{short}"[:60]
            state = desired(name, {k: v}, made, account)
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
