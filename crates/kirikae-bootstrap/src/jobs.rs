//! The IAM actions of kirikae's jobs, least privilege: the one list the refresh's roles' policies
//! are generated from. `crates/kirikae-refresh/tests/iam_actions.rs` checks it both ways: against
//! the SDK operations the code calls (an operation the code calls and this list lacks fails it,
//! so a generated policy cannot miss one) and against the table of docs/refresh.md ("IAM actions
//! (least privilege)") people read.

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
    }
}

/// The policy of a job: exactly its actions. Resources are not narrowed yet (the cluster and
/// secret names depend on each `[refresh.<name>]`; see docs/refresh.md).
pub fn policy(job: RunnerJob) -> Value {
    let side = match job {
        RunnerJob::RefreshSource => Side::Source,
        RunnerJob::RefreshTarget => Side::Target,
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "KirikaeRefresh",
            "Effect": "Allow",
            "Action": actions(side),
            "Resource": "*"
        }]
    })
}
