//! The IAM actions of kirikae's jobs, least privilege: the lists the jobs' policies are generated
//! from (the refresh's source and target, the sweep, the audit, the read-only checks).
//! `crates/kirikae-bootstrap/tests/iam_actions.rs` checks them both ways against the SDK
//! operations each job's code calls (an operation the code calls and a list lacks fails it, so a
//! generated policy cannot miss one; an action no code calls fails it too), and the refresh's
//! list against the table of docs/refresh.md ("IAM actions (least privilege)") people read.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kirikae_config::RunnerJob;
use serde_json::{json, Value};

use crate::BootstrapError;

/// Whose credentials make a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A role session in the refresh's source account.
    Source,
    /// A role session in the refresh's target account.
    Target,
    /// The jump credentials.
    Jump,
}

/// The refresh's AWS operations as IAM actions, with the accounts that call them (the rows of
/// docs/refresh.md's table, in its order).
pub const REFRESH_ACTIONS: &[(&str, &[Side])] = &[
    ("sts:GetSessionToken", &[Side::Jump]),
    ("sts:AssumeRoleWithWebIdentity", &[Side::Jump]),
    ("sts:AssumeRole", &[Side::Jump]),
    (
        "sts:GetCallerIdentity",
        &[Side::Source, Side::Target, Side::Jump],
    ),
    ("rds:DescribeDBClusters", &[Side::Source, Side::Target]),
    ("rds:AddTagsToResource", &[Side::Source, Side::Target]),
    ("rds:RemoveTagsFromResource", &[Side::Source, Side::Target]),
    ("rds:CreateDBClusterSnapshot", &[Side::Source]),
    ("rds:DescribeDBClusterSnapshots", &[Side::Source]),
    ("rds:DescribeDBClusterSnapshotAttributes", &[Side::Source]),
    ("rds:CopyDBClusterSnapshot", &[Side::Source]),
    ("rds:ModifyDBClusterSnapshotAttribute", &[Side::Source]),
    ("rds:DeleteDBClusterSnapshot", &[Side::Source]),
    (
        "rds:RestoreDBClusterFromSnapshot",
        &[Side::Source, Side::Target],
    ),
    ("rds:RestoreDBClusterToPointInTime", &[Side::Target]),
    ("rds:CreateDBInstance", &[Side::Source, Side::Target]),
    ("rds:DescribeDBInstances", &[Side::Source, Side::Target]),
    ("rds:DeleteDBInstance", &[Side::Source, Side::Target]),
    ("rds:ModifyDBCluster", &[Side::Source, Side::Target]),
    ("rds:DeleteDBCluster", &[Side::Source, Side::Target]),
    ("rds:DescribeDBSubnetGroups", &[Side::Target]),
    ("rds:DescribeDBClusterParameterGroups", &[Side::Target]),
    ("ec2:DescribeSecurityGroups", &[Side::Target]),
    ("kms:DescribeKey", &[Side::Source, Side::Target]),
    ("kms:GetKeyPolicy", &[Side::Source]),
    ("secretsmanager:CreateSecret", &[Side::Source, Side::Target]),
    (
        "secretsmanager:GetSecretValue",
        &[Side::Source, Side::Target],
    ),
    ("secretsmanager:DeleteSecret", &[Side::Source, Side::Target]),
    ("ram:GetResourceShares", &[Side::Source]),
    ("ram:CreateResourceShare", &[Side::Source]),
    ("ram:DeleteResourceShare", &[Side::Source]),
    ("ram:GetResourceShareInvitations", &[Side::Target]),
    ("ram:AcceptResourceShareInvitation", &[Side::Target]),
    ("route53:GetHostedZone", &[Side::Target]),
    ("route53:ListResourceRecordSets", &[Side::Target]),
    ("route53:ChangeResourceRecordSets", &[Side::Target]),
];

/// `kirikae sweep` in one account: listing (with tags), marking (tagging), deleting, for every
/// resource type it registers. Cloud Control types also need their handlers' actions
/// ([`cloud_control_handler_actions`]).
pub const SWEEP_ACTIONS: &[&str] = &[
    "autoscaling:CreateOrUpdateTags",
    "autoscaling:DeleteAutoScalingGroup",
    "autoscaling:DescribeAutoScalingGroups",
    "cloudcontrol:DeleteResource",
    "cloudcontrol:GetResource",
    "cloudcontrol:GetResourceRequestStatus",
    "cloudcontrol:ListResourceRequests",
    "cloudcontrol:ListResources",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTable",
    "dynamodb:ListTables",
    "dynamodb:TagResource",
    "dynamodb:UpdateTable",
    "ec2:CreateTags",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteKeyPair",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteNatGateway",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSnapshot",
    "ec2:DeleteSubnet",
    "ec2:DeleteVolume",
    "ec2:DeleteVpc",
    "ec2:DeregisterImage",
    "ec2:DescribeAddresses",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeKeyPairs",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcs",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateAddress",
    "ec2:ModifyInstanceAttribute",
    "ec2:ReleaseAddress",
    "ec2:TerminateInstances",
    "ecr:DeleteRepository",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
    "ecr:TagResource",
    "elasticache:DeleteCacheCluster",
    "elasticache:DescribeCacheClusters",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "iam:DeleteInstanceProfile",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAccountAliases",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:ListRoles",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagRole",
    "kms:DescribeKey",
    "kms:ListKeys",
    "kms:ListResourceTags",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "lambda:DeleteFunction",
    "lambda:ListFunctions",
    "logs:DeleteLogGroup",
    "logs:DescribeLogGroups",
    "logs:TagResource",
    "rds:AddTagsToResource",
    "rds:DeleteDBCluster",
    "rds:DeleteDBClusterParameterGroup",
    "rds:DeleteDBClusterSnapshot",
    "rds:DeleteDBInstance",
    "rds:DeleteDBParameterGroup",
    "rds:DeleteDBSnapshot",
    "rds:DeleteDBSubnetGroup",
    "rds:DescribeDBClusterParameterGroups",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBParameterGroups",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBSubnetGroups",
    "rds:ListTagsForResource",
    "rds:ModifyDBCluster",
    "rds:ModifyDBInstance",
    "resource-groups:CreateGroup",
    "resource-groups:GetGroup",
    "s3:DeleteBucket",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetBucketTagging",
    "s3:ListAllMyBuckets",
    "s3:ListBucketVersions",
    "s3:PutBucketTagging",
    "secretsmanager:DeleteSecret",
    "secretsmanager:ListSecrets",
    "secretsmanager:TagResource",
    "sns:DeleteTopic",
    "sns:ListTopics",
    "sns:TagResource",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:ListQueues",
    "sqs:TagQueue",
    "sts:GetCallerIdentity",
    "tag:GetResources",
    "tag:TagResources",
];

/// The Cloud Control types whose handlers' actions the sweep policy carries when
/// `[bootstrap.runner] cloud_control_types` does not say.
pub const DEFAULT_CLOUD_CONTROL_TYPES: &[&str] = &[
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::SSM::Parameter",
    "AWS::StepFunctions::StateMachine",
];

/// Type -> the actions of its list, read and delete handlers, from the sweep's generated type
/// table ([`kirikae_cc_types`], written by `scripts/sweep-types` from the CloudFormation
/// schemas' `handlers`). Cloud Control acts with the caller's rights, so the sweep policy needs
/// them besides `cloudcontrol:*`, and no SDK call of kirikae's shows them. All of the table's
/// ~1,000 types: far more than an IAM policy holds, so a policy carries the types a team names.
pub fn cloud_control_handler_table() -> &'static BTreeMap<String, Vec<String>> {
    static TABLE: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        kirikae_cc_types::table()
            .handler_permissions
            .iter()
            .map(|(t, handlers)| {
                let mut actions: Vec<String> = [&handlers.list, &handlers.read, &handlers.delete]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                actions.sort_unstable();
                actions.dedup();
                (t.clone(), actions)
            })
            .collect()
    })
}

/// The handler actions of `types`, sorted; the error names every type the table lacks.
pub fn cloud_control_handler_actions<S: AsRef<str>>(
    types: &[S],
) -> Result<Vec<String>, BootstrapError> {
    let table = cloud_control_handler_table();
    let unknown: Vec<String> = types
        .iter()
        .map(|t| t.as_ref())
        .filter(|t| !table.contains_key(*t))
        .map(|t| match table.keys().find(|k| k.eq_ignore_ascii_case(t)) {
            Some(k) => format!("{t} (did you mean {k}?)"),
            None => t.to_string(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(BootstrapError::UnknownCloudControlTypes { unknown });
    }
    let mut a: Vec<String> = types
        .iter()
        .flat_map(|t| table[t.as_ref()].iter().cloned())
        .collect();
    a.sort_unstable();
    a.dedup();
    Ok(a)
}

/// `kirikae audit` in one account and region (read only).
pub const AUDIT_ACTIONS: &[&str] = &[
    "autoscaling:DescribeAutoScalingGroups",
    "ce:GetCostAndUsage",
    "ce:ListCostAllocationTags",
    "cloudwatch:GetMetricStatistics",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeNatGateways",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcs",
    "eks:DescribeCluster",
    "eks:ListClusters",
    "elasticache:DescribeCacheClusters",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "lambda:ListFunctions",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBMajorEngineVersions",
    "servicequotas:ListAWSDefaultServiceQuotas",
    "servicequotas:ListServiceQuotas",
];

/// The read-only checks in one account: `accounts check` (who am I) and `accounts drift` (the
/// roles and, in the jump account, the groups).
pub const CHECK_ACTIONS: &[&str] = &[
    "iam:GetGroup",
    "iam:GetGroupPolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListGroupPolicies",
    "iam:ListGroups",
    "iam:ListRolePolicies",
    "iam:ListRoles",
    "sts:GetCallerIdentity",
];

/// SDK operations whose IAM action has another name, or that need more than one action:
/// `(service:Operation, actions)`.
pub const OPERATION_ACTIONS: &[(&str, &[&str])] = &[
    ("s3:ListBuckets", &["s3:ListAllMyBuckets"]),
    ("s3:ListObjectVersions", &["s3:ListBucketVersions"]),
    // A versioned bucket is emptied by version: both actions.
    (
        "s3:DeleteObjects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
    ),
];

/// The actions `side` needs, sorted.
pub fn actions(side: Side) -> Vec<&'static str> {
    let mut a = REFRESH_ACTIONS
        .iter()
        .filter(|(_, sides)| sides.contains(&side))
        .map(|(action, _)| *action)
        .collect::<Vec<_>>();
    a.sort_unstable();
    a
}

/// The inline policy's name of a job.
pub fn policy_name(job: RunnerJob) -> &'static str {
    match job {
        RunnerJob::RefreshSource => "kirikae-refresh-source",
        RunnerJob::RefreshTarget => "kirikae-refresh-target",
        RunnerJob::Sweep => "kirikae-sweep",
        RunnerJob::Audit => "kirikae-audit",
        RunnerJob::Checks => "kirikae-checks",
    }
}

/// Every action of a job, sorted; the sweep's with the handlers of the default Cloud Control
/// types ([`DEFAULT_CLOUD_CONTROL_TYPES`]).
pub fn job_actions(job: RunnerJob) -> Vec<String> {
    job_actions_with(job, DEFAULT_CLOUD_CONTROL_TYPES).expect("the default types are in the table")
}

/// Every action of a job, sorted; the sweep's with the handlers of `cloud_control_types`.
pub fn job_actions_with<S: AsRef<str>>(
    job: RunnerJob,
    cloud_control_types: &[S],
) -> Result<Vec<String>, BootstrapError> {
    let own = match job {
        RunnerJob::RefreshSource => actions(Side::Source),
        RunnerJob::RefreshTarget => actions(Side::Target),
        RunnerJob::Sweep => SWEEP_ACTIONS.to_vec(),
        RunnerJob::Audit => AUDIT_ACTIONS.to_vec(),
        RunnerJob::Checks => CHECK_ACTIONS.to_vec(),
    };
    let mut a: Vec<String> = own.into_iter().map(str::to_string).collect();
    if job == RunnerJob::Sweep {
        a.extend(cloud_control_handler_actions(cloud_control_types)?);
    }
    a.sort_unstable();
    a.dedup();
    Ok(a)
}

/// The policy of a job with the default Cloud Control types ([`policy_with`]).
pub fn policy(job: RunnerJob) -> Value {
    policy_with(job, DEFAULT_CLOUD_CONTROL_TYPES).expect("the default types are in the table")
}

/// The policy of a job: exactly its actions (the sweep's with the handlers of
/// `cloud_control_types`). `Resource` is `*`: see docs/accounts.md ("Why the job policies name
/// no resources") for why narrowing them is not done at bootstrap time.
pub fn policy_with<S: AsRef<str>>(
    job: RunnerJob,
    cloud_control_types: &[S],
) -> Result<Value, BootstrapError> {
    let sid = match job {
        RunnerJob::RefreshSource | RunnerJob::RefreshTarget => "KirikaeRefresh",
        RunnerJob::Sweep => "KirikaeSweep",
        RunnerJob::Audit => "KirikaeAudit",
        RunnerJob::Checks => "KirikaeChecks",
    };
    Ok(json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Action": job_actions_with(job, cloud_control_types)?,
            "Resource": "*"
        }]
    }))
}
