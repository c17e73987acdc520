//! The IAM actions of kirikae's jobs, least privilege: the lists the jobs' policies are generated
//! from (the refresh's source and target, the sweep, the audit, the read-only checks).
//! `crates/kirikae-bootstrap/tests/iam_actions.rs` checks them both ways against the SDK
//! operations each job's code calls (an operation the code calls and a list lacks fails it, so a
//! generated policy cannot miss one; an action no code calls fails it too), and the refresh's
//! list against the table of docs/refresh.md ("IAM actions (least privilege)") people read.

use kirikae_config::RunnerJob;
use serde_json::{json, Value};

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
/// resource type it registers. Cloud Control types also need [`CLOUDCONTROL_HANDLER_ACTIONS`].
pub const SWEEP_ACTIONS: &[&str] = &[
    "autoscaling:CreateOrUpdateTags",
    "autoscaling:DeleteAutoScalingGroup",
    "autoscaling:DescribeAutoScalingGroups",
    "cloudcontrol:DeleteResource",
    "cloudcontrol:GetResource",
    "cloudcontrol:GetResourceRequestStatus",
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

/// What Cloud Control's handler of each type the sweep reaches through it does on the caller's
/// behalf (list, read, delete, tags): the caller needs these as well as `cloudcontrol:*`, and no
/// SDK call of kirikae's shows them. From each type's schema (`handlers`), list/read/delete.
/// Only these types' handlers are in the sweep policy: the sweep's type table reaches about 875
/// types through `--cloud-control`, and a team sweeping another one adds its handlers' actions.
pub const CLOUDCONTROL_HANDLER_ACTIONS: &[(&str, &[&str])] = &[
    (
        "AWS::Events::EventBus",
        &[
            "events:ListEventBuses",
            "events:DescribeEventBus",
            "events:ListTagsForResource",
            "events:DeleteEventBus",
        ],
    ),
    (
        "AWS::Events::Rule",
        &[
            "events:ListRules",
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:RemoveTargets",
            "events:DeleteRule",
        ],
    ),
    (
        "AWS::SSM::Parameter",
        &[
            "ssm:DescribeParameters",
            "ssm:GetParameters",
            "ssm:ListTagsForResource",
            "ssm:DeleteParameter",
        ],
    ),
    (
        "AWS::StepFunctions::StateMachine",
        &[
            "states:ListStateMachines",
            "states:DescribeStateMachine",
            "states:ListTagsForResource",
            "states:DeleteStateMachine",
        ],
    ),
];

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

/// Every action of a job, sorted.
pub fn job_actions(job: RunnerJob) -> Vec<&'static str> {
    let mut a = match job {
        RunnerJob::RefreshSource => actions(Side::Source),
        RunnerJob::RefreshTarget => actions(Side::Target),
        RunnerJob::Sweep => SWEEP_ACTIONS
            .iter()
            .copied()
            .chain(
                CLOUDCONTROL_HANDLER_ACTIONS
                    .iter()
                    .flat_map(|(_, a)| a.iter().copied()),
            )
            .collect(),
        RunnerJob::Audit => AUDIT_ACTIONS.to_vec(),
        RunnerJob::Checks => CHECK_ACTIONS.to_vec(),
    };
    a.sort_unstable();
    a.dedup();
    a
}

/// The policy of a job: exactly its actions. `Resource` is `*`: see docs/accounts.md ("Why the
/// job policies name no resources") for why narrowing them is not done at bootstrap time.
pub fn policy(job: RunnerJob) -> Value {
    let sid = match job {
        RunnerJob::RefreshSource | RunnerJob::RefreshTarget => "KirikaeRefresh",
        RunnerJob::Sweep => "KirikaeSweep",
        RunnerJob::Audit => "KirikaeAudit",
        RunnerJob::Checks => "KirikaeChecks",
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid,
            "Effect": "Allow",
            "Action": job_actions(job),
            "Resource": "*"
        }]
    })
}
