//! `plan`: every check a refresh needs, without changing anything, and the copy path it would
//! take (clone or snapshot) with the reason.

use serde::Serialize;
use serde_json::Value;

use crate::cloud::{Cloud, ClusterInfo};
use crate::step::RefreshStep;
use crate::{Refresh, RefreshError};

/// The tag a clone made by kirikae carries: the ARN of the cluster it is a clone of (so the
/// clone slot can be found without trying).
pub const CLONE_OF_TAG: &str = "kirikae:clone-of";
pub const RUN_TAG: &str = "kirikae:run";
pub const REFRESH_TAG: &str = "kirikae:refresh";
pub const SECRET_TAG: &str = "kirikae:secret";

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do about it, when it failed.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyPath {
    Clone,
    Snapshot,
}

impl CopyPath {
    pub fn name(self) -> &'static str {
        match self {
            CopyPath::Clone => "clone",
            CopyPath::Snapshot => "snapshot",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceFacts {
    pub account: String,
    pub account_id: String,
    pub cluster: String,
    pub arn: String,
    pub engine: String,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    /// Encrypted with the account's default `aws/rds` key.
    pub default_key: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub ok: bool,
    pub checks: Vec<Check>,
    pub source: Option<SourceFacts>,
    pub target_account: String,
    pub target_account_id: String,
    pub target_cluster: String,
    /// The serving cluster exists (it is renamed `<name>-retired-<run>` at the switch-over).
    pub target_exists: bool,
    pub copy_path: Option<CopyPath>,
    pub reason: String,
    /// Re-encrypt a default-key snapshot with `source.kms_key` first.
    pub reencrypt: bool,
    pub steps: Vec<PlannedStep>,
    pub estimate_seconds: f64,
    pub estimate_basis: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub step: RefreshStep,
    pub what: &'static str,
}

impl Plan {
    pub fn failed_checks(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.ok).collect()
    }
}

fn ok(name: &str, detail: String) -> Check {
    Check {
        name: name.into(),
        ok: true,
        detail,
        fix: None,
    }
}

fn bad(name: &str, detail: String, fix: String) -> Check {
    Check {
        name: name.into(),
        ok: false,
        detail,
        fix: Some(fix),
    }
}

/// Whether a key policy lets `account_id` use the key for a restore from a shared encrypted
/// snapshot or a clone: `kms:Decrypt`, `kms:DescribeKey` and `kms:CreateGrant`.
pub fn key_policy_allows(policy: &str, account_id: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v @ Value::Object(_) => vec![v.clone()],
        _ => return false,
    };
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let names_account = |p: &Value| -> bool {
        let principals = match p {
            Value::String(s) => vec![s.clone()],
            Value::Object(o) => o.get("AWS").map(list).unwrap_or_default(),
            _ => Vec::new(),
        };
        principals.iter().any(|p| {
            p == "*" || p == account_id || p.starts_with(&format!("arn:aws:iam::{account_id}:"))
        })
    };
    let needed = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"];
    let mut granted = [false; 3];
    for s in &statements {
        if s["Effect"].as_str() != Some("Allow") || !names_account(&s["Principal"]) {
            continue;
        }
        for action in list(&s["Action"]) {
            let action = action.to_ascii_lowercase();
            for (i, n) in needed.iter().enumerate() {
                let n = n.to_ascii_lowercase();
                let matches = action == "*"
                    || action == n
                    || action
                        .strip_suffix('*')
                        .is_some_and(|prefix| n.starts_with(prefix));
                if matches {
                    granted[i] = true;
                }
            }
        }
    }
    granted.iter().all(|g| *g)
}

/// The cluster in the target account that holds the clone slot of `source_arn`, if kirikae
/// made it (tagged).
pub fn clone_holder<'a>(clusters: &'a [ClusterInfo], source_arn: &str) -> Option<&'a ClusterInfo> {
    clusters.iter().find(|c| {
        c.cross_account_clone && c.tags.get(CLONE_OF_TAG).map(String::as_str) == Some(source_arn)
    })
}

async fn key_check(
    name: &str,
    cloud: &Cloud,
    key: &str,
    target_id: &str,
    target_account: &str,
    what: &str,
    config_key: &str,
) -> Result<Check, RefreshError> {
    let Some(info) = cloud.key(key).await? else {
        return Ok(bad(
            name,
            format!(
                "the KMS key {key} does not exist in account {} ({})",
                cloud.account, cloud.account_id
            ),
            format!(
                "set {config_key} to a customer-managed key of account {}",
                cloud.account
            ),
        ));
    };
    if info.aws_managed {
        return Ok(bad(
            name,
            format!("{key} is an AWS-managed key: its policy cannot let another account use it"),
            format!(
                "set {config_key} to a customer-managed key of account {}",
                cloud.account
            ),
        ));
    }
    if !info.enabled {
        return Ok(bad(
            name,
            format!("the KMS key {} is disabled", info.arn),
            format!("enable it (aws kms enable-key --key-id {})", info.arn),
        ));
    }
    let policy = cloud.key_policy(&info.arn).await?.unwrap_or_default();
    if !key_policy_allows(&policy, target_id) {
        return Ok(bad(
            name,
            format!(
                "the key policy of {} does not let the target account {target_account} ({target_id}) use it, so {what} would fail there",
                info.arn
            ),
            format!(
                "add a statement to the key policy of {} allowing principal arn:aws:iam::{target_id}:root \
                 the actions kms:Decrypt, kms:DescribeKey and kms:CreateGrant \
                 (aws kms put-key-policy --key-id {} --policy-name default --policy file://policy.json)",
                info.arn, info.arn
            ),
        ));
    }
    Ok(ok(
        name,
        format!(
            "{} lets {target_account} ({target_id}) decrypt and create grants",
            info.arn
        ),
    ))
}

/// Whether a configured entry is a security group id (`sg-` and hex) rather than a name: the
/// restore and the clone send `target.security_groups` as `VpcSecurityGroupIds`, which takes ids
/// only.
fn is_group_id(s: &str) -> bool {
    s.strip_prefix("sg-")
        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// One check per configured security group: it exists in the account, it is given by id, and it
/// is in the VPC of the subnet group (`vpc`, when DescribeDBSubnetGroups says).
pub(crate) async fn security_group_checks(
    cloud: &Cloud,
    groups: &[String],
    subnet_group: &str,
    vpc: Option<&str>,
    config_key: &str,
) -> Result<Vec<Check>, RefreshError> {
    let account = format!("{} ({})", cloud.account, cloud.account_id);
    let list_cmd = match vpc {
        Some(v) => format!(
            "aws ec2 describe-security-groups --filters Name=vpc-id,Values={v} \
             --query 'SecurityGroups[].[GroupId,GroupName]' (with the credentials of {})",
            cloud.account
        ),
        None => format!(
            "aws ec2 describe-security-groups --query 'SecurityGroups[].[GroupId,GroupName,VpcId]' \
             (with the credentials of {})",
            cloud.account
        ),
    };
    let in_vpc = vpc
        .map(|v| format!(" in VPC {v} (the VPC of the subnet group {subnet_group})"))
        .unwrap_or_default();
    let mut checks = Vec::new();
    if groups.is_empty() {
        checks.push(ok(
            "security groups",
            format!(
                "none configured: the new cluster gets the default security group of the VPC of {subnet_group}"
            ),
        ));
        return Ok(checks);
    }
    for g in groups {
        let name = format!("security group {g}");
        if !is_group_id(g) {
            // A name: the restore would fail on it. Say which id it is, when there is one.
            let found = cloud.security_groups_named(g, vpc).await?;
            let detail = format!(
                "{g} is not a security group id: {config_key} is sent to RDS as VpcSecurityGroupIds, which takes ids (sg-...) only"
            );
            checks.push(match found.as_slice() {
                [one] => bad(
                    &name,
                    detail,
                    format!("the group named {g}{in_vpc} in {account} is {}: put that id in {config_key}", one.id),
                ),
                _ => bad(
                    &name,
                    detail,
                    format!(
                        "put the id of the group{in_vpc} in {account} in {config_key} ({})",
                        list_cmd
                    ),
                ),
            });
            continue;
        }
        match cloud.security_group(g).await? {
            None => checks.push(bad(
                &name,
                format!("no security group {g} in {account}"),
                format!(
                    "set {config_key} to the id of the database's security group{in_vpc} in {account}; list them with {list_cmd}"
                ),
            )),
            Some(info) => match (vpc, info.vpc_id.as_deref()) {
                (Some(want), Some(have)) if want != have => checks.push(bad(
                    &name,
                    format!(
                        "{g} ({}) is in VPC {have}, but the subnet group {subnet_group} is in VPC {want}: RDS refuses security groups of another VPC",
                        info.name
                    ),
                    format!(
                        "use a security group of VPC {want} in {config_key} ({list_cmd}), or a subnet group of VPC {have}"
                    ),
                )),
                _ => checks.push(ok(
                    &name,
                    format!(
                        "{g} ({}) exists in {}{}",
                        info.name,
                        cloud.account,
                        info.vpc_id
                            .as_deref()
                            .map(|v| format!(", VPC {v}"))
                            .unwrap_or_default()
                    ),
                )),
            },
        }
    }
    Ok(checks)
}

impl Refresh {
    /// Every preflight check; nothing is changed.
    pub async fn plan(&self) -> Result<Plan, RefreshError> {
        let s = &self.settings;
        let mut checks = Vec::new();
        let mut plan = Plan {
            name: self.name.clone(),
            ok: false,
            checks: Vec::new(),
            source: None,
            target_account: self.target.account.clone(),
            target_account_id: self.target.account_id.clone(),
            target_cluster: s.target.cluster.clone(),
            target_exists: false,
            copy_path: None,
            reason: String::new(),
            reencrypt: false,
            steps: Vec::new(),
            estimate_seconds: 0.0,
            estimate_basis: String::new(),
        };
        // Credentials: both sessions, through a call each.
        let source_cluster = match self.source.cluster(&s.source.cluster).await {
            Ok(c) => {
                checks.push(ok(
                    "source credentials",
                    format!(
                        "switched into {} ({})",
                        self.source.account, self.source.account_id
                    ),
                ));
                c
            }
            Err(e) => {
                checks.push(bad(
                    "source credentials",
                    e.to_string(),
                    format!(
                        "check that the role of [accounts.{}] may describe RDS clusters",
                        self.source.account
                    ),
                ));
                None
            }
        };
        let target_clusters = match self.target.clusters().await {
            Ok(c) => {
                checks.push(ok(
                    "target credentials",
                    format!(
                        "switched into {} ({})",
                        self.target.account, self.target.account_id
                    ),
                ));
                c
            }
            Err(e) => {
                checks.push(bad(
                    "target credentials",
                    e.to_string(),
                    format!(
                        "check that the role of [accounts.{}] may describe RDS clusters",
                        self.target.account
                    ),
                ));
                Vec::new()
            }
        };
        // The source cluster.
        let mut clone_possible = false;
        if let Some(c) = &source_cluster {
            let default_key = match &c.kms_key {
                Some(k) if c.encrypted => match self.source.key("alias/aws/rds").await? {
                    Some(d) => d.arn == *k,
                    None => self.source.key(k).await?.is_some_and(|i| i.aws_managed),
                },
                _ => false,
            };
            if c.status == "available" {
                checks.push(ok(
                    "source cluster",
                    format!(
                        "{} ({}) is available; {}",
                        c.id,
                        c.engine,
                        match (&c.kms_key, c.encrypted, default_key) {
                            (_, false, _) => "not encrypted".to_string(),
                            (Some(k), true, true) =>
                                format!("encrypted with the default aws/rds key {k}"),
                            (Some(k), true, false) =>
                                format!("encrypted with the customer-managed key {k}"),
                            (None, true, _) => "encrypted".to_string(),
                        }
                    ),
                ));
            } else {
                checks.push(bad(
                    "source cluster",
                    format!("{} is {}, not available", c.id, c.status),
                    "wait until it is available, then run the refresh".into(),
                ));
            }
            if !c.engine.starts_with("aurora") {
                checks.push(bad(
                    "source engine",
                    format!(
                        "{} is {}: only Aurora clusters are refreshed",
                        c.id, c.engine
                    ),
                    format!(
                        "name an Aurora cluster in refresh.{}.source.cluster",
                        self.name
                    ),
                ));
            }
            plan.source = Some(SourceFacts {
                account: self.source.account.clone(),
                account_id: self.source.account_id.clone(),
                cluster: c.id.clone(),
                arn: c.arn.clone(),
                engine: c.engine.clone(),
                encrypted: c.encrypted,
                kms_key: c.kms_key.clone(),
                default_key,
            });
            clone_possible = !default_key;
            if c.encrypted && !default_key {
                if let Some(k) = &c.kms_key {
                    let chk = key_check(
                        "source cluster key policy",
                        &self.source,
                        k,
                        &self.target.account_id,
                        &self.target.account,
                        "a clone or a restore of its snapshots",
                        "the source cluster's KMS key",
                    )
                    .await?;
                    clone_possible = chk.ok;
                    checks.push(chk);
                }
            }
        } else if checks
            .iter()
            .all(|c| c.name != "source credentials" || c.ok)
        {
            checks.push(bad(
                "source cluster",
                format!(
                    "no cluster {} in account {} ({})",
                    s.source.cluster, self.source.account, self.source.account_id
                ),
                format!(
                    "fix refresh.{}.source.cluster (aws rds describe-db-clusters lists them)",
                    self.name
                ),
            ));
        }
        // The copy path.
        if let Some(src) = plan.source.clone() {
            let holder = clone_holder(&target_clusters, &src.arn);
            use kirikae_config::RefreshStrategy as S;
            let (path, reason) = match (s.strategy, clone_possible, holder) {
                _ if s.mask_in == kirikae_config::MaskIn::Source => (
                    Some(CopyPath::Snapshot),
                    format!(
                        "mask_in = \"source\": masked in a temporary cluster in {}, only a snapshot of the masked copy is shared",
                        self.source.account
                    ),
                ),
                (S::Snapshot, _, _) => (Some(CopyPath::Snapshot), "strategy = \"snapshot\"".to_string()),
                (_, false, _) if src.default_key => (
                    if s.strategy == S::Clone { None } else { Some(CopyPath::Snapshot) },
                    format!(
                        "{} is encrypted with the default aws/rds key, which no other account can use: \
                         Aurora cannot clone it into {}; the snapshot is re-encrypted with a customer-managed key and shared",
                        src.cluster, self.target.account
                    ),
                ),
                (_, false, _) => (
                    if s.strategy == S::Clone { None } else { Some(CopyPath::Snapshot) },
                    format!("the key of {} cannot be used by {}: no clone", src.cluster, self.target.account),
                ),
                (S::Clone, true, Some(h)) => (
                    None,
                    format!(
                        "the clone slot is taken: {} already holds a cross-account clone of {} ({}), and Aurora \
                         allows only one cross-account clone of a cluster per account",
                        self.target.account, src.cluster, h.id
                    ),
                ),
                (S::Auto, true, Some(h)) => (
                    Some(CopyPath::Snapshot),
                    format!(
                        "the clone slot is taken: {} already holds a cross-account clone of {} ({}); Aurora allows \
                         only one per account, so snapshot, share and restore",
                        self.target.account, src.cluster, h.id
                    ),
                ),
                (_, true, None) => (
                    Some(CopyPath::Clone),
                    format!(
                        "the clone slot of {} in {} is free: copy-on-write clone (minutes, not a full copy)",
                        src.cluster, self.target.account
                    ),
                ),
            };
            match path {
                Some(p) => checks.push(ok("copy path", format!("{}: {reason}", p.name()))),
                None => checks.push(bad(
                    "copy path",
                    format!("strategy = \"clone\" cannot be used: {reason}"),
                    format!(
                        "set refresh.{}.strategy = \"auto\" (clone when possible, snapshot otherwise) or \"snapshot\"{}",
                        self.name,
                        holder.map(|h| format!(", or retire {} first", h.id)).unwrap_or_default()
                    ),
                )),
            }
            plan.copy_path = path;
            plan.reason = reason;
            if path == Some(CopyPath::Clone) {
                checks.push(self.ram_sharing_check().await);
            }
            if path == Some(CopyPath::Snapshot) && src.default_key {
                plan.reencrypt = true;
                match &s.source.kms_key {
                    None => checks.push(bad(
                        "re-encryption key",
                        format!(
                            "{} is encrypted with the default aws/rds key: its snapshot cannot be shared until it is copied \
                             with a customer-managed key",
                            src.cluster
                        ),
                        format!(
                            "set refresh.{}.source.kms_key to a customer-managed key of account {} whose key policy lets \
                             {} ({}) use it",
                            self.name, self.source.account, self.target.account, self.target.account_id
                        ),
                    )),
                    Some(k) => checks.push(
                        key_check(
                            "re-encryption key",
                            &self.source,
                            k,
                            &self.target.account_id,
                            &self.target.account,
                            "the restore of the re-encrypted snapshot",
                            &format!("refresh.{}.source.kms_key", self.name),
                        )
                        .await?,
                    ),
                }
            }
        }
        // The target account's settings.
        let t = &s.target;
        if !target_clusters.is_empty()
            || checks
                .iter()
                .any(|c| c.name == "target credentials" && c.ok)
        {
            plan.target_exists = target_clusters.iter().any(|c| c.id == t.cluster);
            if let Some(c) = target_clusters.iter().find(|c| c.id == t.cluster) {
                if plan.source.as_ref().is_some_and(|s| s.arn == c.arn) {
                    checks.push(bad(
                        "target cluster",
                        format!("{} is the source cluster", c.id),
                        format!(
                            "name the staging cluster in refresh.{}.target.cluster",
                            self.name
                        ),
                    ));
                } else {
                    checks.push(ok(
                        "target cluster",
                        format!(
                            "{} serves now: untouched until the switch-over, then renamed {}-retired-<run id>",
                            c.id, c.id
                        ),
                    ));
                }
            } else {
                checks.push(ok(
                    "target cluster",
                    format!("no {} yet: the new cluster takes the name", t.cluster),
                ));
            }
            let subnet = self.target.subnet_group(&t.subnet_group).await?;
            checks.push(if let Some(g) = &subnet {
                ok(
                    "subnet group",
                    format!(
                        "{} exists in {}{}",
                        t.subnet_group,
                        self.target.account,
                        g.vpc_id
                            .as_deref()
                            .map(|v| format!(" (VPC {v})"))
                            .unwrap_or_default()
                    ),
                )
            } else {
                bad(
                    "subnet group",
                    format!(
                        "no DB subnet group {} in {} ({})",
                        t.subnet_group, self.target.account, self.target.account_id
                    ),
                    format!(
                        "create it, or fix refresh.{}.target.subnet_group",
                        self.name
                    ),
                )
            });
            let vpc = subnet.as_ref().and_then(|g| g.vpc_id.clone());
            checks.extend(
                security_group_checks(
                    &self.target,
                    &t.security_groups,
                    &t.subnet_group,
                    vpc.as_deref(),
                    &format!("refresh.{}.target.security_groups", self.name),
                )
                .await?,
            );
            if let Some(pg) = &t.parameter_group {
                let exists = self.target.parameter_group_exists(pg).await?;
                checks.push(if exists {
                    ok(
                        "parameter group",
                        format!("{pg} exists in {}", self.target.account),
                    )
                } else {
                    bad(
                        "parameter group",
                        format!(
                            "no DB cluster parameter group {pg} in {}",
                            self.target.account
                        ),
                        format!(
                            "create it, or fix refresh.{}.target.parameter_group",
                            self.name
                        ),
                    )
                });
            }
            if let Some(k) = &t.kms_key {
                checks.push(match self.target.key(k).await? {
                    Some(i) if i.enabled => ok("target KMS key", format!("{} ({})", k, i.arn)),
                    Some(i) => bad(
                        "target KMS key",
                        format!("{} is disabled", i.arn),
                        format!("enable it (aws kms enable-key --key-id {})", i.arn),
                    ),
                    None => bad(
                        "target KMS key",
                        format!(
                            "no KMS key {k} in {} ({})",
                            self.target.account, self.target.account_id
                        ),
                        format!("create it, or fix refresh.{}.target.kms_key", self.name),
                    ),
                });
            }
        }
        if let Some(alias) = &self.target_confirm {
            checks.push(ok(
                "protected target",
                format!(
                    "{} is a protected account: `refresh run` needs --confirm {alias}",
                    self.target.account
                ),
            ));
        }
        if let kirikae_config::SwitchMethod::Cname { zone, record } = &s.switch {
            checks.push(match self.target.hosted_zone(zone).await? {
                Some(zone_name) if record.trim_end_matches('.').ends_with(zone_name.trim_end_matches('.')) => ok(
                    "switch record",
                    format!("{record} in the hosted zone {zone} ({zone_name}) of {}: a CNAME to the new cluster's endpoint", self.target.account),
                ),
                Some(zone_name) => bad(
                    "switch record",
                    format!("{record} is not inside the hosted zone {zone} ({zone_name})"),
                    format!("fix refresh.{}.switch.record (a name ending in {zone_name})", self.name),
                ),
                None => bad(
                    "switch record",
                    format!("no Route 53 hosted zone {zone} in {} ({})", self.target.account, self.target.account_id),
                    format!("fix refresh.{}.switch.zone (aws route53 list-hosted-zones)", self.name),
                ),
            });
        }
        // The rules (checked against the live schema of the copy before any row is touched:
        // kirikae has no production database password, and needs none).
        match kirikae_mask::Rules::load(&s.masking) {
            Ok(r) => checks.push(ok(
                "masking rules",
                format!(
                    "{} ({} tables); checked against the copy's schema before any row is masked",
                    s.masking.display(),
                    r.tables.len()
                ),
            )),
            Err(e) => checks.push(bad(
                "masking rules",
                e.to_string(),
                format!(
                    "fix {} (kirikae mask check lists every problem)",
                    s.masking.display()
                ),
            )),
        }
        let dialect = match &source_cluster {
            Some(c) if c.engine.contains("postgres") => kirikae_mask::Dialect::Postgres,
            _ => kirikae_mask::Dialect::MySql,
        };
        checks.extend(connection_checks(&self.name, s, dialect));
        plan.ok = checks.iter().all(|c| c.ok);
        plan.checks = checks;
        if let Some(path) = plan.copy_path {
            plan.steps = self
                .steps_for(path, plan.reencrypt)
                .into_iter()
                .map(|step| PlannedStep {
                    step,
                    what: step.describe(),
                })
                .collect();
            let (secs, basis) = self.estimate(path);
            plan.estimate_seconds = secs;
            plan.estimate_basis = basis;
        }
        Ok(plan)
    }

    /// How the RAM share of the clone path will reach the target account: at once (both in one
    /// organization that enabled sharing with RAM) or as an invitation kirikae accepts as the
    /// target. Only the organization's management account can ask whether sharing is enabled,
    /// so this reads the evidence a member account has: invitations the target received from the
    /// source before, else how the share of this refresh's last clone run reached it.
    async fn ram_sharing_check(&self) -> Check {
        const NAME: &str = "RAM sharing";
        let (s, t) = (&self.source, &self.target);
        let received = match t.invitations(None).await {
            Ok(list) => list
                .into_iter()
                .filter(|i| i.sender == s.account_id)
                .collect::<Vec<_>>(),
            Err(e) => {
                return bad(
                    NAME,
                    format!("{} cannot list its RAM invitations: {e}", t.account),
                    format!(
                        "allow ram:GetResourceShareInvitations and ram:AcceptResourceShareInvitation to the role of \
                         [accounts.{}]: a share from outside its organization arrives as an invitation kirikae accepts",
                        t.account
                    ),
                )
            }
        };
        if let Some(last) = received.last() {
            return ok(
                NAME,
                format!(
                    "the target account will accept a RAM invitation: {} ({}) has received {} invitation(s) from {} ({}) \
                     before (the latest {}), as an account outside the organization (or in one that has not enabled \
                     sharing with RAM) does; kirikae accepts this run's invitation as {}",
                    t.account,
                    t.account_id,
                    received.len(),
                    s.account,
                    s.account_id,
                    last.status.to_ascii_lowercase(),
                    t.account
                ),
            );
        }
        match self.last_share_reach() {
            Some((run, reached)) if reached == crate::run::SHARE_AT_ONCE => ok(
                NAME,
                format!(
                    "shares within the organization apply at once: the share of run {run} reached {} at once, \
                     without an invitation",
                    t.account
                ),
            ),
            _ => ok(
                NAME,
                format!(
                    "no RAM invitation from {} has reached {} yet: shares within the organization apply at once \
                     (when it has enabled sharing with RAM); otherwise {} receives an invitation, which kirikae \
                     accepts as {}",
                    s.account, t.account, t.account, t.account
                ),
            ),
        }
    }

    /// How the share reached the target in this refresh's latest run that shared a cluster.
    fn last_share_reach(&self) -> Option<(String, String)> {
        crate::journal::Journal::all(&self.state_dir)
            .iter()
            .rev()
            .filter_map(|j| j.replay().ok())
            .filter(|st| st.name == self.name)
            .find_map(|st| {
                let reached = st.details.get("share_cluster")?["reached"]
                    .as_str()?
                    .to_string();
                Some((st.run_id, reached))
            })
    }

    pub(crate) fn steps_for(&self, path: CopyPath, reencrypt: bool) -> Vec<RefreshStep> {
        use RefreshStep::*;
        let mut v = vec![Preflight];
        match path {
            CopyPath::Clone => v.extend([ShareCluster, CloneCluster]),
            CopyPath::Snapshot if self.settings.mask_in == kirikae_config::MaskIn::Source => {
                v.extend([
                    CreateSnapshot,
                    RestoreInSource,
                    Mask,
                    Verify,
                    SnapshotMasked,
                ]);
                if reencrypt {
                    v.push(ReencryptSnapshot);
                }
                v.extend([ShareSnapshot, RestoreCluster, CreateWriter, ResetPassword]);
                v.extend([SwitchOver, RetireOld, CleanUp]);
                return v;
            }
            CopyPath::Snapshot => {
                v.push(CreateSnapshot);
                if reencrypt {
                    v.push(ReencryptSnapshot);
                }
                v.extend([ShareSnapshot, RestoreCluster]);
            }
        }
        v.extend([
            CreateWriter,
            ResetPassword,
            Mask,
            Verify,
            SwitchOver,
            RetireOld,
            CleanUp,
        ]);
        v
    }

    /// From the last finished run of this refresh on the same path; else AWS's typical times
    /// for the story's size (clone minutes; snapshot + restore 30-40 minutes).
    fn estimate(&self, path: CopyPath) -> (f64, String) {
        let runs = crate::journal::Journal::all(&self.state_dir);
        for j in runs.iter().rev() {
            let Ok(st) = j.replay() else { continue };
            if st.name == self.name && st.finished && st.copy_path.as_deref() == Some(path.name()) {
                let secs: f64 = st.done.iter().map(|(_, s)| s).sum();
                return (
                    secs,
                    format!("the last finished {} run, {}", path.name(), st.run_id),
                );
            }
        }
        match path {
            CopyPath::Clone => (
                15.0 * 60.0,
                "typical AWS times: clone ~5 min, writer ~8 min, mask and switch ~2 min".into(),
            ),
            CopyPath::Snapshot => (
                40.0 * 60.0,
                "typical AWS times for a small cluster: snapshot, copy and restore 30-40 min, writer ~8 min".into(),
            ),
        }
    }
}

/// How the run will reach the databases it masks and checks: the tunnel command's program can
/// be found, and the `tls` setting can be honoured.
fn connection_checks(
    name: &str,
    s: &kirikae_config::RefreshSettings,
    dialect: kirikae_mask::Dialect,
) -> Vec<Check> {
    let tunnel = match &s.tunnel {
        None => ok(
            "tunnel",
            "none: kirikae connects to the clusters' endpoints directly (it must run where they \
             resolve and answer, e.g. inside their VPC)"
                .into(),
        ),
        Some(t) => match tunnel_program(t) {
            Some(p) if !program_found(p) => bad(
                "tunnel",
                format!(
                    "the tunnel command's program `{p}` is not found (PATH: {})",
                    std::env::var("PATH").unwrap_or_default()
                ),
                format!("install {p}, or name it by its full path in refresh.{name}.tunnel"),
            ),
            _ => ok(
                "tunnel",
                format!(
                    "`{t}`: started for each cluster the run connects to, waited for up to {} s",
                    s.tunnel_wait_seconds
                ),
            ),
        },
    };
    let ca = s.ca_bundle.as_deref().filter(|_| s.tls.verifies());
    let tls = match (s.tls, ca) {
        (kirikae_config::TlsMode::Disable, _) => ok(
            "database TLS",
            "tls = \"disable\": plain TCP to the clusters".into(),
        ),
        (mode, None) => ok(
            "database TLS",
            format!(
                "tls = \"{}\": encrypted, the certificate not checked",
                mode.name()
            ),
        ),
        // The bundle is read now, so that a wrong file stops the run before anything is made.
        (mode, Some(ca)) => match kirikae_mask::db::tls::read_ca_file(ca, dialect) {
            Ok(_) => ok(
                "database TLS",
                format!("tls = \"{}\" against {}", mode.name(), ca.display()),
            ),
            Err(e) => bad(
                "database TLS",
                e.to_string(),
                format!(
                    "set refresh.{name}.ca_bundle to the RDS CA bundle ({})",
                    kirikae_config::RDS_CA_BUNDLE_URL
                ),
            ),
        },
    };
    vec![tunnel, tls]
}

/// The program a tunnel command runs: its first word after `VAR=value` assignments and
/// `exec`; `None` when it starts with shell syntax kirikae does not look into.
fn tunnel_program(command: &str) -> Option<&str> {
    if command.contains([';', '&', '|', '(', '`', '\n']) {
        return None; // a script: the shell runs it, kirikae does not guess its programs
    }
    let word = command
        .split_whitespace()
        .find(|w| !w.contains('=') && *w != "exec")?;
    let plain = word
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b));
    let builtin = ["cd", "command", "eval", "export", "set", "trap", ".", ":"].contains(&word);
    (plain && !builtin).then_some(word)
}

/// Whether `program` (a path, or a name looked up on PATH) is an executable file.
fn program_found(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(std::path::Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}
