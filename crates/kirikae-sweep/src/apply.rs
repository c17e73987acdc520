//! `apply`: delete exactly the reviewed plan.
//!
//! 1. The plan was checked against its digest and kirikae.toml (see [`CheckedPlan`]); the
//!    credentials act in its account, whose IAM alias is the one kirikae.toml gives, and in an
//!    account kirikae.toml marks protected `--confirm` names that alias.
//! 2. Every item is checked again from fresh listings: it still exists, its fingerprint is
//!    unchanged, it still carries the plan's tag. An item in use by something outside the plan
//!    is not deleted (that call could only fail), and neither is anything it uses.
//! 3. Deletion follows the dependency graph item by item: an item goes as soon as every item
//!    of the run that uses it is gone (asynchronous deletions are re-listed until confirmed), so
//!    a slow deletion holds back only what it uses; independent items go in parallel, bounded
//!    per service by the context's limiter.
//! 4. Every step is appended to a JSON-lines audit log; a second run with the same log skips
//!    what the first finished, and an item whose deletion was sent but not confirmed is
//!    re-checked (found gone, it is not deleted again).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::cloudcontrol;
use crate::resources::{self, DeleteOptions, Deleted, ResourceType};
use crate::scan::inventory;
use crate::{CheckedPlan, Cx, Found, MarkStatus, PlanItem, SweepError};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Without it, nothing is deleted: the report says what would be.
    pub yes: bool,
    pub delete: DeleteOptions,
    /// `--confirm <alias>`: needed in a protected account, checked against the real alias.
    pub confirm: Option<String>,
    /// The append-only audit log (JSON lines); also what a resumed run reads.
    pub audit_log: PathBuf,
    /// How long to wait for an asynchronous deletion (instances, NAT gateways) to finish.
    pub confirm_timeout: Duration,
    /// Told after every change of the deletion's counts (the CLI's progress bar).
    pub progress: Option<ApplyProgress>,
}

/// Where a run's deletion stands: of `total` items, `done` (deleted or already gone),
/// `pending` (deletion requested, waiting for it to finish), `failed` (failed or skipped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyTally {
    pub total: usize,
    pub done: usize,
    pub pending: usize,
    pub failed: usize,
}

/// A callback for [`ApplyTally`] updates (shared: the options are cloned).
#[derive(Clone)]
pub struct ApplyProgress(pub Arc<dyn Fn(ApplyTally) + Send + Sync>);

impl std::fmt::Debug for ApplyProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApplyProgress")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub arn: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub plan: String,
    pub account: String,
    pub dry_run: bool,
    /// Deleted in this run, in order.
    pub deleted: Vec<ItemResult>,
    /// Deleted by an earlier run of this plan (from the audit log) or found already gone.
    pub already_gone: Vec<ItemResult>,
    pub skipped: Vec<ItemResult>,
    pub failed: Vec<ItemResult>,
    /// Dry run: what would be deleted, by dependency level (level 1: what nothing else in the
    /// plan uses). The run itself starts each item as soon as its own users are gone.
    pub waves: Vec<Vec<String>>,
    /// AWS calls this run made (listing pages included).
    pub calls: u64,
    pub audit_log: String,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// One line of the audit log.
#[derive(Debug, Serialize, serde::Deserialize)]
struct AuditLine {
    time: String,
    plan: String,
    action: String,
    #[serde(default)]
    arn: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// A Cloud Control deletion's idempotency token (the same on a resumed attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

struct Audit {
    plan: String,
    file: Mutex<std::fs::File>,
    deletions: std::sync::atomic::AtomicUsize,
}

impl Audit {
    fn open(path: &PathBuf, plan: &str) -> Result<Audit, SweepError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| crate::error::io(dir.display().to_string(), e))?;
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| crate::error::io(path.display().to_string(), e))?;
        Ok(Audit {
            plan: plan.to_string(),
            file: Mutex::new(file),
            deletions: Default::default(),
        })
    }

    fn write(
        &self,
        action: &str,
        item: Option<&Found>,
        result: &str,
        request_id: Option<&str>,
        reason: Option<&str>,
    ) {
        self.write_line(action, item, result, request_id, None, reason)
    }

    /// A deletion sent under a Cloud Control client token.
    fn write_started(&self, item: &Found, client_token: Option<&str>) {
        self.write_line("delete", Some(item), "started", None, client_token, None)
    }

    fn write_line(
        &self,
        action: &str,
        item: Option<&Found>,
        result: &str,
        request_id: Option<&str>,
        client_token: Option<&str>,
        reason: Option<&str>,
    ) {
        let line = AuditLine {
            time: kirikae_aws::format_utc(std::time::SystemTime::now()),
            plan: self.plan.clone(),
            action: action.to_string(),
            arn: item.map(|f| f.arn.clone()).unwrap_or_default(),
            kind: item.map(|f| f.kind.clone()).unwrap_or_default(),
            id: item.map(|f| f.id.clone()).unwrap_or_default(),
            request_id: request_id.map(str::to_string),
            client_token: client_token.map(str::to_string),
            description: item.filter(|_| action == "delete").map(|f| f.describe()),
            result: result.to_string(),
            reason: reason.map(str::to_string),
        };
        if let Ok(mut text) = serde_json::to_vec(&line) {
            text.push(b'\n');
            let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
            // One write per line on an O_APPEND file: lines never interleave.
            let _ = f.write_all(&text);
            let _ = f.sync_data();
        }
        if action == "delete" && result == "deleted" {
            let n = self
                .deletions
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            kill_hook(n);
        }
    }
}

/// Test hook (debug builds only): `KIRIKAE_SWEEP_KILL_AFTER=N` ends the process abruptly after
/// the Nth deletion is logged, as a kill would.
fn kill_hook(n: usize) {
    if cfg!(debug_assertions) {
        if let Some(limit) = std::env::var("KIRIKAE_SWEEP_KILL_AFTER")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            if n >= limit {
                std::process::exit(137);
            }
        }
    }
}

/// What an earlier run of this plan finished: ARN -> result.
fn finished_earlier(path: &PathBuf, plan: &str) -> HashMap<String, String> {
    let mut done = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return done;
    };
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<AuditLine>(line) else {
            continue;
        };
        if l.plan == plan && l.action == "delete" && matches!(l.result.as_str(), "deleted" | "gone")
        {
            done.insert(l.arn, l.result);
        }
    }
    done
}

/// The account's alias as IAM says (ListAccountAliases), if it has one.
pub async fn account_alias(cx: &Cx) -> Result<Option<String>, SweepError> {
    let out = aws_call!(
        cx,
        "iam",
        "ListAccountAliases",
        cx.iam().list_account_aliases()
    )?;
    Ok(out.account_aliases().first().cloned())
}

/// How many deletions of each item earlier runs of the plan saw fail: the next attempt's number,
/// so a Cloud Control retry after a failure sends a new client token, and a resumed run that
/// never saw its request finish sends the same one again.
fn failed_attempts(path: &PathBuf, plan: &str) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return out;
    };
    for l in text
        .lines()
        .filter_map(|line| serde_json::from_str::<AuditLine>(line).ok())
        .filter(|l| l.plan == plan && l.action == "delete" && l.result == "failed")
    {
        *out.entry(l.arn).or_insert(0) += 1;
    }
    out
}

/// Items whose deletion an earlier run of the plan requested but did not see finish.
fn requested_earlier(path: &PathBuf, plan: &str) -> HashSet<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<AuditLine>(line).ok())
        .filter(|l| l.plan == plan && l.action == "delete" && l.result == "requested")
        .map(|l| l.arn)
        .collect()
}

enum Check {
    Delete(Box<Found>),
    Gone,
    Skip(String),
    /// Its deletion is under way (an earlier run of the plan requested it; or one cut off before
    /// it could log the request, or someone else, did): confirmed, not resent. With why.
    Confirm(Box<Found>, &'static str),
}

fn what_changed(before: &Found, now: &Found, tag_key: &str) -> String {
    let mut diffs = Vec::new();
    if before.state != now.state {
        diffs.push(format!(
            "state {} -> {}",
            before.state.as_deref().unwrap_or("-"),
            now.state.as_deref().unwrap_or("-")
        ));
    }
    if before.created != now.created {
        diffs.push("created again (another creation time)".to_string());
    }
    for (k, v) in &now.properties {
        if before.properties.get(k) != Some(v) {
            diffs.push(format!(
                "{k} {} -> {v}",
                before.properties.get(k).map(String::as_str).unwrap_or("-")
            ));
        }
    }
    let tags = |f: &Found| -> BTreeMap<String, String> {
        f.tags
            .iter()
            .filter(|(k, _)| k.as_str() != tag_key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    if tags(before) != tags(now) {
        diffs.push("tags changed".to_string());
    }
    if diffs.is_empty() {
        diffs.push("what it uses changed".to_string());
    }
    diffs.join(", ")
}

/// Types whose listings show who uses an item of `kinds` (so a user outside the plan is seen).
fn context_types(kinds: &HashSet<String>) -> Vec<&'static dyn ResourceType> {
    let services: HashSet<&str> = kinds.iter().filter_map(|k| k.split(':').next()).collect();
    let network = services.contains("ec2") || services.contains("elbv2");
    resources::registry()
        .into_iter()
        .filter(|t| {
            kinds.contains(t.name())
                || (network && (t.name().starts_with("ec2:") || t.name().starts_with("elbv2:")))
        })
        .collect()
}

pub async fn apply(
    cxs: &[Arc<Cx>],
    checked: &CheckedPlan<'_>,
    opts: &ApplyOptions,
) -> Result<ApplyReport, SweepError> {
    let plan = checked.plan();
    let account = checked.account();
    let mut report = ApplyReport {
        plan: plan.id.clone(),
        account: format!(
            "{} ({})",
            account.alias.as_deref().unwrap_or(&account.name),
            account.id
        ),
        dry_run: !opts.yes,
        audit_log: opts.audit_log.display().to_string(),
        ..Default::default()
    };
    // 1. The plan's account is the one the credentials act in, its alias the live one, and a
    //    protected account (kirikae.toml) is confirmed by its alias: all before anything else.
    checked
        .check_live(cxs, opts.yes, opts.confirm.as_deref())
        .await?;

    let audit = if opts.yes {
        Some(Arc::new(Audit::open(&opts.audit_log, &plan.id)?))
    } else {
        None
    };
    let earlier = finished_earlier(&opts.audit_log, &plan.id);
    let requested = requested_earlier(&opts.audit_log, &plan.id);
    let result = |item: &PlanItem, reason: String| ItemResult {
        kind: item.found.kind.clone(),
        id: item.found.id.clone(),
        arn: item.found.arn.clone(),
        reason,
    };

    // 2. Re-check from fresh listings, region by region.
    let mut current: HashMap<String, Found> = HashMap::new(); // arn -> fresh (in plan, checked)
    let mut fresh: HashMap<String, Found> = HashMap::new(); // arn -> fresh (in plan, still there)
    let mut checks: Vec<(usize, Check)> = Vec::new();
    let mut users: Vec<Found> = Vec::new(); // everything listed, to find users outside the plan
    for cx in cxs {
        let idx: Vec<usize> = (0..plan.items.len())
            .filter(|&i| plan.items[i].found.region == cx.region)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let kinds: HashSet<String> = idx
            .iter()
            .map(|&i| plan.items[i].found.kind.clone())
            .collect();
        for k in &kinds {
            if cloudcontrol::any_type(k).is_none() {
                return Err(SweepError::Plan {
                    path: plan.id.clone(),
                    why: format!("type {k:?} is unknown to this kirikae"),
                });
            }
        }
        // Every tagged resource's tags (not only the plan's): an item that lost the plan's tag
        // must still show its other tags, or it would look changed rather than unmarked.
        let listed_kinds: HashSet<String> = kinds
            .iter()
            .filter(|k| !cloudcontrol::is_cloud_control(k))
            .cloned()
            .collect();
        let inv = inventory(cx, &context_types(&listed_kinds), &[], &plan.tag_key).await?;
        let mut fingerprints = inv.fingerprints.clone();
        // Items read through Cloud Control: GetResource again, with the Tagging API's tags.
        let mut cc_found: Vec<Found> = Vec::new();
        let mut cc_unreadable: HashMap<String, String> = HashMap::new();
        for &i in &idx {
            let item = &plan.items[i].found;
            let Some(t) = cloudcontrol::find(&item.kind) else {
                continue;
            };
            match t.get(cx, &item.id).await {
                Ok(Some(props)) => {
                    let tags = inv
                        .tagged_elsewhere
                        .iter()
                        .find(|u| u.arn == item.arn)
                        .map(|u| u.tags.clone())
                        .unwrap_or_default();
                    let f = t.found(&cx.region, &item.id, &item.arn, &tags, &props);
                    fingerprints.insert(f.arn.clone(), f.fingerprint(&plan.tag_key));
                    cc_found.push(f);
                }
                Ok(None) => {}
                Err(e) => {
                    cc_unreadable.insert(
                        item.arn.clone(),
                        format!("Cloud Control cannot read it now ({e}): left alone"),
                    );
                }
            }
        }
        let by_arn: HashMap<&str, &Found> = inv
            .found
            .iter()
            .chain(cc_found.iter())
            .map(|f| (f.arn.as_str(), f))
            .collect();
        for &i in &idx {
            let item = &plan.items[i];
            let t = cloudcontrol::any_type(&item.found.kind).expect("checked above");
            let check = match by_arn.get(item.found.arn.as_str()) {
                None if cc_unreadable.contains_key(&item.found.arn) => {
                    Check::Skip(cc_unreadable[&item.found.arn].clone())
                }
                None => Check::Gone,
                Some(f) if t.is_gone(f) => Check::Gone,
                Some(f) if t.is_deleting(f) => Check::Confirm(
                    Box::new((*f).clone()),
                    if requested.contains(&f.arn) {
                        "requested by an earlier run of this plan"
                    } else {
                        "already under way when this run began (not sent by it)"
                    },
                ),
                Some(f) => {
                    fresh.insert(f.arn.clone(), (*f).clone());
                    let fp = fingerprints.get(&f.arn).cloned().unwrap_or_default();
                    let tagged =
                        f.tags.get(&plan.tag_key).map(String::as_str) == Some(plan.id.as_str());
                    if fp != item.fingerprint {
                        Check::Skip(format!(
                            "changed since the plan was made: {}",
                            what_changed(&item.found, f, &plan.tag_key)
                        ))
                    } else if !tagged && !matches!(item.mark, MarkStatus::CannotTag(_)) {
                        Check::Skip(if matches!(item.mark, MarkStatus::NotYet) {
                            format!("not marked: run `kirikae sweep mark` on the plan first (it tags every item {}={})", plan.tag_key, plan.id)
                        } else {
                            format!("no longer carries the tag {}={}: someone removed it, so it is left alone", plan.tag_key, plan.id)
                        })
                    } else if !arn_in_account(&f.arn, &plan.account.id) {
                        Check::Skip(format!(
                            "its ARN names another account than {}",
                            plan.account.id
                        ))
                    } else {
                        current.insert(f.arn.clone(), (*f).clone());
                        Check::Delete(Box::new((*f).clone()))
                    }
                }
            };
            checks.push((i, check));
        }
        users.extend(
            inv.found
                .into_iter()
                .filter(|f| !cloudcontrol::any_type(&f.kind).is_some_and(|t| t.is_gone(f))),
        );
    }

    // Deletion protection without --disable-protection: the item is not deleted, and neither is
    // what in the plan is part of it (a protected cluster keeps its instances), so nothing is
    // deleted for it; what they use is then kept by the rule below.
    if !opts.delete.disable_protection {
        hold_protected(&mut checks, &mut current);
    }

    let plan_arns: HashSet<&str> = plan.items.iter().map(|i| i.found.arn.as_str()).collect();
    let mut blocked: HashMap<String, String> = HashMap::new(); // arn -> reason
                                                               // A resource outside the plan that uses an item: deleting the item could only fail.
    for u in &users {
        if plan_arns.contains(u.arn.as_str()) {
            continue;
        }
        for d in &u.depends_on {
            if current.contains_key(d) {
                blocked.entry(d.clone()).or_insert_with(|| {
                    format!(
                        "still used by {} {}{} (not in the plan): delete or detach it first, then scan again",
                        u.kind,
                        u.id,
                        u.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    )
                });
            }
        }
    }
    // A Cloud Control parent with children outside the plan (listed now) is held back.
    for cx in cxs {
        let region: Vec<Found> = current
            .values()
            .filter(|f| f.region == cx.region)
            .cloned()
            .collect();
        for (arn, why) in crate::cc_deps::held_back(cx, &region).await? {
            blocked.entry(arn).or_insert(why);
        }
    }
    // Items of the plan that will not be deleted keep what they use.
    let mut keep: HashMap<String, String> = HashMap::new();
    for (i, c) in &checks {
        if let Check::Skip(_) = c {
            keep.insert(
                plan.items[*i].found.arn.clone(),
                plan.items[*i].found.id.clone(),
            );
        }
    }
    for (arn, _) in blocked.clone() {
        keep.insert(
            arn.clone(),
            current.get(&arn).map(|f| f.id.clone()).unwrap_or_default(),
        );
    }
    // (what a kept item uses, as seen now: a changed item may use other things than planned)
    let mut changed = true;
    while changed {
        changed = false;
        for f in fresh.values() {
            if let Some(user) = keep.get(&f.arn).cloned() {
                for d in &f.depends_on {
                    if current.contains_key(d) && !keep.contains_key(d) {
                        blocked.insert(
                            d.clone(),
                            format!("still used by {user}, which is not deleted in this run"),
                        );
                        keep.insert(d.clone(), current[d].id.clone());
                        changed = true;
                    }
                }
            }
        }
    }

    let mut todo: Vec<Found> = Vec::new();
    let mut resumed: Vec<(Found, &'static str)> = Vec::new();
    for (i, c) in checks {
        let item = &plan.items[i];
        match c {
            Check::Gone => {
                let why = if earlier.contains_key(&item.found.arn) {
                    "deleted by an earlier run of this plan".to_string()
                } else {
                    "already gone before this run".to_string()
                };
                if let Some(a) = &audit {
                    if !earlier.contains_key(&item.found.arn) {
                        a.write("delete", Some(&item.found), "gone", None, Some(&why));
                    }
                }
                report.already_gone.push(result(item, why));
            }
            Check::Confirm(f, why) => resumed.push((*f, why)),
            Check::Skip(why) => {
                if let Some(a) = &audit {
                    a.write("check", Some(&item.found), "skipped", None, Some(&why));
                }
                report.skipped.push(result(item, why));
            }
            Check::Delete(f) => {
                if let Some(why) = blocked.get(&f.arn) {
                    if let Some(a) = &audit {
                        a.write("check", Some(&f), "skipped", None, Some(why));
                    }
                    report.skipped.push(result(item, why.clone()));
                } else {
                    todo.push(*f);
                }
            }
        }
    }

    // 3. Waves: an item's wave is one more than the latest wave of the items using it. Cloud
    //    Control items' edges come from their properties as read now.
    crate::cc_deps::link(&mut todo);
    identity_and_network_last(&mut todo);
    let waves = waves(&todo);
    report.waves = waves
        .iter()
        .map(|w| {
            w.iter()
                .map(|&i| format!("{} {}", todo[i].kind, todo[i].id))
                .collect()
        })
        .collect();
    let Some(audit) = audit else {
        report.calls = cxs.iter().map(|c| c.calls()).sum();
        return Ok(report);
    };
    audit.write(
        "apply",
        None,
        "started",
        None,
        Some(&format!(
            "{} items to delete, {} levels deep in dependency order",
            todo.len(),
            waves.len()
        )),
    );
    let cx_by_region: HashMap<String, Arc<Cx>> =
        cxs.iter().map(|c| (c.region.clone(), c.clone())).collect();
    let attempts = failed_attempts(&opts.audit_log, &plan.id);
    delete_in_order(
        &cx_by_region,
        todo,
        resumed,
        opts,
        &audit,
        &attempts,
        &mut report,
    )
    .await;
    audit.write(
        "apply",
        None,
        "finished",
        None,
        Some(&format!(
            "{} deleted, {} already gone, {} skipped, {} failed",
            report.deleted.len(),
            report.already_gone.len(),
            report.skipped.len(),
            report.failed.len()
        )),
    );
    report.calls = cxs.iter().map(|c| c.calls()).sum();
    Ok(report)
}

/// Turns the deletion of protected items (property `deletion_protection=true`) and of the plan's
/// items that use them into skips, with the reason.
fn hold_protected(checks: &mut [(usize, Check)], current: &mut HashMap<String, Found>) {
    let mut held: HashMap<String, String> = HashMap::new(); // arn -> id
    for (_, c) in checks.iter_mut() {
        if let Check::Delete(f) = c {
            if resources::is_true(f, "deletion_protection") {
                held.insert(f.arn.clone(), f.id.clone());
                current.remove(&f.arn);
                *c = Check::Skip(
                    "deletion protection is on: pass --disable-protection to turn it off and \
                     delete it (each change is logged), or leave it out of the plan"
                        .to_string(),
                );
            }
        }
    }
    let mut changed = !held.is_empty();
    while changed {
        changed = false;
        for (_, c) in checks.iter_mut() {
            let Check::Delete(f) = c else { continue };
            let Some(owner) = f.depends_on.iter().find_map(|d| held.get(d)).cloned() else {
                continue;
            };
            held.insert(f.arn.clone(), f.id.clone());
            current.remove(&f.arn);
            *c = Check::Skip(format!(
                "part of {owner}, whose deletion protection is on: it stays with it (pass \
                 --disable-protection to delete both)"
            ));
            changed = true;
        }
    }
}

/// Cloud Control items of the table's `identity` and `network` risk classes (IAM, VPC parts)
/// go after every other item of their region: a service's own clean-up can still need a role or
/// a network while it is deleted, and no property Cloud Control returns says so. Each other item
/// of the region is made to use them (edges for this run only, after the fingerprints were
/// compared).
fn identity_and_network_last(items: &mut [Found]) {
    use crate::cc_types::Risk;
    let goes_last = |f: &Found| {
        cloudcontrol::find(&f.kind)
            .is_some_and(|t| matches!(t.risk, Risk::Identity | Risk::Network))
    };
    let last: Vec<(String, String)> = items
        .iter()
        .filter(|f| goes_last(f))
        .map(|f| (f.region.clone(), f.arn.clone()))
        .collect();
    for f in items.iter_mut().filter(|f| !goes_last(f)) {
        for (region, arn) in &last {
            if *region == f.region && !f.depends_on.contains(arn) {
                f.depends_on.push(arn.clone());
            }
        }
    }
}

fn arn_in_account(arn: &str, account: &str) -> bool {
    let field = arn.split(':').nth(4).unwrap_or("");
    field.is_empty() || field == account
}

/// Why a deletion failed, in words; a dependency error means something outside the plan.
fn explain(e: &SweepError) -> String {
    match e.code() {
        Some("DependencyViolation" | "ResourceInUse" | "ResourceInUseException" | "InvalidIPAddress.InUse" | "BucketNotEmpty") => format!(
            "{e} - something outside the plan still uses it (AWS says so; the scan did not see it): \
             not retried; remove that use, then run apply again"
        ),
        _ => e.to_string(),
    }
}

/// The dependency edges among `items`: `users[i]` are the items that use item `i`, `uses[i]` the
/// items that `i` uses (edges to anything outside `items`, and to itself, are dropped).
fn edges(items: &[Found]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, f)| (f.arn.as_str(), i))
        .collect();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    let mut uses: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, f) in items.iter().enumerate() {
        for d in &f.depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                if j != i && !uses[i].contains(&j) {
                    users[j].push(i);
                    uses[i].push(j);
                }
            }
        }
    }
    (users, uses)
}

/// Items by dependency level, for the dry run's deletion order: level 0 holds what nothing (left
/// to delete) uses; an item's level is one more than the deepest level of the items that use it.
/// Items in a cycle come last, together. (`apply` does not wait for a level to finish: see
/// [`Order`].)
pub(crate) fn waves(items: &[Found]) -> Vec<Vec<usize>> {
    let (users, _) = edges(items);
    let mut wave: Vec<Option<usize>> = vec![None; items.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for i in 0..items.len() {
            if wave[i].is_some() {
                continue;
            }
            if users[i].iter().all(|&u| wave[u].is_some()) {
                wave[i] = Some(
                    users[i]
                        .iter()
                        .map(|&u| wave[u].unwrap_or(0) + 1)
                        .max()
                        .unwrap_or(0),
                );
                progress = true;
            }
        }
    }
    let last = wave.iter().flatten().max().map_or(0, |m| m + 1);
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, w) in wave.iter().enumerate() {
        let w = w.unwrap_or(last);
        if out.len() <= w {
            out.resize(w + 1, Vec::new());
        }
        out[w].push(i);
    }
    out.retain(|w| !w.is_empty());
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// An item of the run that uses it is not finished yet.
    Waiting,
    /// Free to go: in the ready queue.
    Ready,
    /// Its deletion is under way (sent, or requested and being confirmed).
    Started,
    /// Gone, or given up on (failed, skipped).
    Finished,
}

/// The deletion order, item by item: an item is ready as soon as every item of the run that uses
/// it is finished, whatever else is still under way.
struct Order {
    users: Vec<Vec<usize>>,
    uses: Vec<Vec<usize>>,
    /// How many of an item's users are not finished.
    left: Vec<usize>,
    stage: Vec<Stage>,
    ready: VecDeque<usize>,
}

impl Order {
    fn new(items: &[Found]) -> Order {
        let (users, uses) = edges(items);
        let left: Vec<usize> = users.iter().map(Vec::len).collect();
        let stage: Vec<Stage> = left
            .iter()
            .map(|&n| if n == 0 { Stage::Ready } else { Stage::Waiting })
            .collect();
        let ready = (0..items.len()).filter(|&i| left[i] == 0).collect();
        Order {
            users,
            uses,
            left,
            stage,
            ready,
        }
    }

    /// The next item free to go, marked started.
    fn next(&mut self) -> Option<usize> {
        let i = self.ready.pop_front()?;
        self.stage[i] = Stage::Started;
        Some(i)
    }

    /// Marks an item started without going through the queue (a deletion an earlier run sent).
    fn start(&mut self, i: usize) {
        if self.stage[i] == Stage::Ready {
            self.ready.retain(|&r| r != i);
        }
        self.stage[i] = Stage::Started;
    }

    /// Item `i` is finished: each item it uses has one user fewer to wait for.
    fn finish(&mut self, i: usize) {
        self.stage[i] = Stage::Finished;
        for k in 0..self.uses[i].len() {
            let j = self.uses[i][k];
            self.left[j] = self.left[j].saturating_sub(1);
            if self.left[j] == 0 && self.stage[j] == Stage::Waiting {
                self.stage[j] = Stage::Ready;
                self.ready.push_back(j);
            }
        }
    }

    /// When nothing else is under way, the items left waiting each wait for another: some are
    /// in a cycle (each waits for the next), the rest wait for a cycle's items. The cycles' items
    /// go together; what they use follows as usual. False when nothing is left waiting.
    fn release_cycles(&mut self) -> bool {
        let waiting: BTreeSet<usize> = (0..self.stage.len())
            .filter(|&i| self.stage[i] == Stage::Waiting)
            .collect();
        // Peel off what uses nothing else left waiting: it only waits for its users.
        let mut stuck = waiting.clone();
        loop {
            let peeled: Vec<usize> = stuck
                .iter()
                .copied()
                .filter(|&i| !self.uses[i].iter().any(|j| stuck.contains(j)))
                .collect();
            if peeled.is_empty() {
                break;
            }
            for i in peeled {
                stuck.remove(&i);
            }
        }
        let release = if stuck.is_empty() { waiting } else { stuck };
        for &i in &release {
            self.stage[i] = Stage::Ready;
            self.ready.push_back(i);
        }
        !release.is_empty()
    }
}

fn item_result(f: &Found, reason: String) -> ItemResult {
    ItemResult {
        kind: f.kind.clone(),
        id: f.id.clone(),
        arn: f.arn.clone(),
        reason,
    }
}

/// Deletes `todo` in dependency order and confirms `resumed` (deletions an interrupted run of
/// the plan requested, not sent again). An item's deletion is sent as soon as every item of the
/// run that uses it is gone, not when a whole level is: a slow deletion (a database, a NAT
/// gateway) holds back only what it uses. Independent items go in parallel, bounded per service
/// by the context's limiter. Asynchronous deletions are re-listed, one listing per region and
/// type for all that are pending, until gone or `confirm_timeout`.
async fn delete_in_order(
    cxs: &HashMap<String, Arc<Cx>>,
    todo: Vec<Found>,
    resumed: Vec<(Found, &'static str)>,
    opts: &ApplyOptions,
    audit: &Arc<Audit>,
    attempts: &HashMap<String, u32>,
    report: &mut ApplyReport,
) {
    let (resumed, resumed_why): (Vec<Found>, Vec<&'static str>) = resumed.into_iter().unzip();
    let items: Vec<Found> = resumed.into_iter().chain(todo).collect();
    let mut order = Order::new(&items);
    let mut pending: BTreeMap<usize, Pending> = BTreeMap::new();
    let started = Instant::now();
    for (i, why) in resumed_why.into_iter().enumerate() {
        order.start(i);
        pending.insert(
            i,
            Pending {
                since: started,
                actions: why.into(),
                request: None,
            },
        );
    }
    let mut failed: HashMap<usize, String> = HashMap::new();
    let mut tasks: JoinSet<Result<Deleted, SweepError>> = JoinSet::new();
    let mut task_item: HashMap<tokio::task::Id, usize> = HashMap::new();
    // Cloud Control attempts: a retry sends a new client token.
    let mut attempt: HashMap<usize, u32> = (0..items.len())
        .map(|i| (i, attempts.get(&items[i].arn).copied().unwrap_or(0)))
        .collect();
    // Deletions that failed the way a dependency does: (item, progress when it failed, why).
    let mut deferred: Vec<(usize, u64, String)> = Vec::new();
    // How many items were deleted (or found gone) so far: what a deferred retry waits for.
    let mut progress: u64 = 0;
    const FIRST_PAUSE: Duration = Duration::from_millis(200);
    let mut pause = FIRST_PAUSE;
    let mut next_poll = tokio::time::Instant::now() + FIRST_PAUSE;
    let base = (
        report.deleted.len() + report.already_gone.len(),
        report.failed.len() + report.skipped.len(),
    );
    let tell = |report: &ApplyReport, pending: usize| {
        if let Some(p) = &opts.progress {
            (p.0)(ApplyTally {
                total: items.len(),
                done: report.deleted.len() + report.already_gone.len() - base.0,
                pending,
                failed: report.failed.len() + report.skipped.len() - base.1,
            });
        }
    };
    tell(report, pending.len());
    let spawn = |tasks: &mut JoinSet<Result<Deleted, SweepError>>,
                 task_item: &mut HashMap<tokio::task::Id, usize>,
                 i: usize,
                 cx: Arc<Cx>,
                 attempt: u32| {
        let (f, audit, mut delete_opts) = (items[i].clone(), audit.clone(), opts.delete.clone());
        if cloudcontrol::is_cloud_control(&f.kind) {
            delete_opts.client_token =
                Some(cloudcontrol::client_token(&audit.plan, &f.arn, attempt));
        }
        let handle = tasks.spawn(async move {
            let t = cloudcontrol::any_type(&f.kind).expect("checked");
            audit.write_started(&f, delete_opts.client_token.as_deref());
            t.delete(&cx, &f, &delete_opts).await
        });
        task_item.insert(handle.id(), i);
    };
    loop {
        tell(report, pending.len());
        while let Some(i) = order.next() {
            let f = &items[i];
            // Something this item must outlive was not deleted: deleting it now could only fail.
            let blocker = order.users[i].iter().find(|u| failed.contains_key(u));
            let region_cx = cxs.get(&f.region).cloned();
            let why = match (blocker, &region_cx) {
                (Some(&u), _) => Some(format!(
                    "not deleted: {}, which uses it, could not be deleted",
                    items[u].id
                )),
                (None, None) => Some(format!(
                    "not deleted: no credentials for region {}",
                    f.region
                )),
                _ => None,
            };
            if let Some(why) = why {
                audit.write("check", Some(f), "skipped", None, Some(&why));
                report.skipped.push(item_result(f, why.clone()));
                failed.insert(i, why);
                order.finish(i);
                continue;
            }
            let cx = region_cx.expect("checked");
            spawn(&mut tasks, &mut task_item, i, cx, attempt[&i]);
        }
        // A deferred deletion is tried again once something else was deleted since it failed.
        let (again, wait): (Vec<_>, Vec<_>) = deferred
            .drain(..)
            .partition(|(_, seen, _)| *seen < progress);
        deferred = wait;
        for (i, _, _) in again {
            let cx = cxs
                .get(&items[i].region)
                .cloned()
                .expect("it was sent before");
            spawn(&mut tasks, &mut task_item, i, cx, attempt[&i]);
        }
        if tasks.is_empty() && pending.is_empty() {
            if order.release_cycles() {
                continue;
            }
            if !deferred.is_empty() {
                // Nothing else is under way, and nothing was deleted since they failed.
                for (i, _, why) in std::mem::take(&mut deferred) {
                    let f = &items[i];
                    let why = format!(
                        "{why} - retried while other deletions made progress, and none is left: \
                         something outside the plan still depends on it (the scan did not see \
                         it); remove that use, then run apply again"
                    );
                    audit.write("delete", Some(f), "failed", None, Some(&why));
                    report.failed.push(item_result(f, why.clone()));
                    failed.insert(i, why);
                    order.finish(i);
                }
                continue;
            }
            break;
        }
        // (item, why, request, looks like a dependency) of this round's failures.
        let mut failures: Vec<(usize, String, Option<String>, bool)> = Vec::new();
        tokio::select! {
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, outcome) = match joined {
                    Ok((id, outcome)) => (id, Ok(outcome)),
                    Err(e) => (e.id(), Err(e)),
                };
                let Some(i) = task_item.remove(&id) else { continue };
                let f = &items[i];
                match outcome {
                    Ok(Ok(done)) => {
                        for a in &done.actions {
                            audit.write("prepare", Some(f), "done", None, Some(a));
                        }
                        let t = cloudcontrol::any_type(&f.kind).expect("checked");
                        if t.deletion_is_async() {
                            let rid = done.request_id.as_deref();
                            audit.write("delete", Some(f), "requested", rid, None);
                            if pending.is_empty() {
                                pause = FIRST_PAUSE;
                                next_poll = tokio::time::Instant::now() + FIRST_PAUSE;
                            }
                            let request = done
                                .request_id
                                .clone()
                                .filter(|_| cloudcontrol::is_cloud_control(&f.kind));
                            pending.insert(i, Pending {
                                since: Instant::now(),
                                actions: done.actions.join("; "),
                                request,
                            });
                        } else {
                            let rid = done.request_id.as_deref();
                            audit.write("delete", Some(f), "deleted", rid, None);
                            report.deleted.push(item_result(f, done.actions.join("; ")));
                            order.finish(i);
                            progress += 1;
                        }
                    }
                    Ok(Err(e)) if e.is_not_found() => {
                        let why = "gone when it was to be deleted";
                        audit.write("delete", Some(f), "gone", e.request_id(), Some(why));
                        report.already_gone.push(item_result(f, why.into()));
                        order.finish(i);
                        progress += 1;
                    }
                    Ok(Err(e)) => failures.push((
                        i,
                        explain(&e),
                        e.request_id().map(str::to_string),
                        crate::cc_deps::looks_like_dependency(&e),
                    )),
                    Err(e) => failures.push((
                        i,
                        format!("the deletion stopped unexpectedly: {e}"),
                        None,
                        false,
                    )),
                }
            }
            _ = tokio::time::sleep_until(next_poll), if !pending.is_empty() => {
                for (i, gone) in poll(cxs, &items, &pending, opts.confirm_timeout).await {
                    let Some(p) = pending.remove(&i) else { continue };
                    let f = &items[i];
                    match gone {
                        Ok(()) => {
                            audit.write("delete", Some(f), "deleted", p.request.as_deref(), Some("confirmed gone"));
                            report.deleted.push(item_result(f, p.actions));
                            order.finish(i);
                            progress += 1;
                        }
                        Err(Unfinished { why, dependency }) => {
                            failures.push((i, why, p.request, dependency));
                        }
                    }
                }
                pause = (pause * 2).min(Duration::from_secs(10));
                next_poll = tokio::time::Instant::now() + pause;
            }
        }
        for (i, why, rid, dependency) in failures {
            let f = &items[i];
            if dependency && cloudcontrol::is_cloud_control(&f.kind) {
                // Logged as a failed attempt (the next one sends a new client token, in this
                // run or a resumed one), tried again once another deletion made progress.
                let note = format!("{why} (looks like a dependency: tried again once other deletions make progress)");
                audit.write("delete", Some(f), "failed", rid.as_deref(), Some(&note));
                *attempt.entry(i).or_insert(0) += 1;
                deferred.push((i, progress, why));
                continue;
            }
            audit.write("delete", Some(f), "failed", rid.as_deref(), Some(&why));
            report.failed.push(item_result(f, why.clone()));
            failed.insert(i, why);
            order.finish(i);
        }
    }
}

/// A deletion requested and not yet confirmed.
struct Pending {
    since: Instant,
    /// What was done besides the call.
    actions: String,
    /// A Cloud Control request's token: followed with GetResourceRequestStatus.
    request: Option<String>,
}

/// Why a pending deletion was given up on.
struct Unfinished {
    why: String,
    /// It failed the way a dependency does (see [`crate::cc_deps::looks_like_dependency`]).
    dependency: bool,
}

/// One round of the one poller over the pending asynchronous deletions: one listing per region
/// and type of the registry's types; for Cloud Control, one ListResourceRequests per region
/// (the requests still under way) and a GetResourceRequestStatus for each of ours that no
/// longer is (all under the run's one Cloud Control limiter). The items now gone, and those given up on
/// (failed, not gone after `timeout`, or not listable).
async fn poll(
    cxs: &HashMap<String, Arc<Cx>>,
    items: &[Found],
    pending: &BTreeMap<usize, Pending>,
    timeout: Duration,
) -> Vec<(usize, Result<(), Unfinished>)> {
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for &i in pending.keys() {
        groups
            .entry((items[i].region.as_str(), items[i].kind.as_str()))
            .or_default()
            .push(i);
    }
    let late = |i: usize| pending[&i].since.elapsed() >= timeout;
    let plain = |why: String| Unfinished {
        why,
        dependency: false,
    };
    let mut out = Vec::new();
    let mut requests = Vec::new();
    for ((region, kind), group) in groups {
        let (Some(cx), Some(t)) = (cxs.get(region), cloudcontrol::any_type(kind)) else {
            continue;
        };
        if cloudcontrol::is_cloud_control(kind) {
            for i in group {
                if let Some(token) = pending[&i].request.clone() {
                    requests.push((i, cx.clone(), token));
                }
            }
            continue;
        }
        match t.list(cx).await {
            Ok(listed) => {
                let by_arn: HashMap<&str, &Found> =
                    listed.iter().map(|f| (f.arn.as_str(), f)).collect();
                for i in group {
                    match by_arn.get(items[i].arn.as_str()) {
                        Some(now) if !t.is_gone(now) => {
                            if late(i) {
                                let state = now.state.clone().unwrap_or_default();
                                out.push((i, Err(plain(format!("deletion requested but not finished after {}s (now {state}); run apply again to check", timeout.as_secs())))));
                            }
                        }
                        _ => out.push((i, Ok(()))),
                    }
                }
            }
            Err(e) => out.extend(group.into_iter().filter(|&i| late(i)).map(|i| {
                (
                    i,
                    Err(plain(format!("could not confirm the deletion: {e}"))),
                )
            })),
        }
    }
    // The Cloud Control requests: one listing of those under way per region, then the outcome
    // of each that is no longer under way, concurrently (the shared limiter bounds them).
    let mut under_way: HashMap<String, Option<HashSet<String>>> = HashMap::new();
    for (_, cx, _) in &requests {
        if !under_way.contains_key(&cx.region) {
            // (not listable: each request is asked on its own)
            let listed = cloudcontrol::requests_under_way(cx).await.ok();
            under_way.insert(cx.region.clone(), listed);
        }
    }
    let mut asking = JoinSet::new();
    for (i, cx, token) in requests {
        if let Some(Some(busy)) = under_way.get(&cx.region) {
            if busy.contains(&token) {
                if late(i) {
                    out.push((
                        i,
                        Err(plain(format!(
                            "Cloud Control request {token} not finished after {}s; run apply again to check",
                            timeout.as_secs()
                        ))),
                    ));
                }
                continue;
            }
        }
        asking.spawn(async move { (i, cloudcontrol::request_status(&cx, &token).await) });
    }
    let mut asked = Vec::new();
    while let Some(joined) = asking.join_next().await {
        if let Ok(answer) = joined {
            asked.push(answer);
        }
    }
    asked.sort_by_key(|(i, _)| *i);
    for (i, status) in asked {
        use cloudcontrol::RequestOutcome;
        match status {
            Ok(RequestOutcome::Success) => out.push((i, Ok(()))),
            Ok(RequestOutcome::Failed(e)) if e.is_not_found() => out.push((i, Ok(()))),
            Ok(RequestOutcome::Failed(e)) => out.push((
                i,
                Err(Unfinished {
                    why: explain(&e),
                    dependency: crate::cc_deps::looks_like_dependency(&e),
                }),
            )),
            Ok(RequestOutcome::InProgress(state)) if late(i) => out.push((
                i,
                Err(plain(format!(
                    "Cloud Control request not finished after {}s ({state}); run apply again to check",
                    timeout.as_secs()
                ))),
            )),
            Ok(RequestOutcome::InProgress(_)) => {}
            Err(e) if late(i) => {
                out.push((i, Err(plain(format!("could not confirm the deletion: {e}")))))
            }
            Err(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, deps: &[&str]) -> Found {
        let mut f = Found::new("ec2:x", "r", id, id);
        f.depends_on = deps.iter().map(|d| d.to_string()).collect();
        f
    }

    #[test]
    fn waves_put_users_first() {
        // instance uses sg and subnet; subnet uses vpc; sg uses vpc.
        let items = vec![
            f("vpc", &[]),
            f("subnet", &["vpc"]),
            f("sg", &["vpc"]),
            f("i", &["subnet", "sg"]),
        ];
        let w = waves(&items);
        let names: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.iter().map(|&i| items[i].id.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["i"], vec!["subnet", "sg"], vec!["vpc"]]);
    }

    fn ids(items: &[Found], order: &mut Order) -> Vec<String> {
        std::iter::from_fn(|| order.next())
            .map(|i| items[i].id.clone())
            .collect()
    }

    #[test]
    fn an_item_goes_as_soon_as_its_own_users_are_gone() {
        // A NAT gateway in subnet a (slow to delete), an instance in subnet b, one VPC.
        let items = vec![
            f("nat", &["a"]),
            f("a", &["vpc"]),
            f("i", &["b"]),
            f("b", &["vpc"]),
            f("vpc", &[]),
        ];
        let mut o = Order::new(&items);
        assert_eq!(ids(&items, &mut o), ["nat", "i"]);
        // The instance is gone while the NAT gateway is still being deleted: subnet b goes now.
        o.finish(2);
        assert_eq!(ids(&items, &mut o), ["b"]);
        o.finish(3);
        assert!(ids(&items, &mut o).is_empty(), "the VPC waits for subnet a");
        o.finish(0);
        assert_eq!(ids(&items, &mut o), ["a"]);
        o.finish(1);
        assert_eq!(ids(&items, &mut o), ["vpc"]);
        o.finish(4);
        assert!(!o.release_cycles());
    }

    #[test]
    fn a_cycle_is_released_together_when_nothing_else_is_under_way() {
        let items = vec![
            f("a", &["b", "c"]),
            f("b", &["a", "c"]),
            f("c", &[]),
            f("d", &[]),
        ];
        let mut o = Order::new(&items);
        assert_eq!(ids(&items, &mut o), ["d"]);
        o.finish(3);
        assert!(ids(&items, &mut o).is_empty());
        assert!(o.release_cycles());
        assert_eq!(ids(&items, &mut o), ["a", "b"]);
        o.finish(0);
        assert!(ids(&items, &mut o).is_empty(), "c waits for b");
        o.finish(1);
        assert_eq!(ids(&items, &mut o), ["c"]);
        o.finish(2);
        assert!(!o.release_cycles());
    }

    #[test]
    fn a_resumed_item_is_not_queued_twice() {
        let items = vec![f("i", &["sg"]), f("sg", &[])];
        let mut o = Order::new(&items);
        o.start(0);
        assert!(ids(&items, &mut o).is_empty());
        o.finish(0);
        assert_eq!(ids(&items, &mut o), ["sg"]);
    }

    #[test]
    fn a_cycle_goes_last_together() {
        let items = vec![f("a", &["b"]), f("b", &["a"]), f("c", &[])];
        let w = waves(&items);
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].len(), 2);
    }

    #[test]
    fn deletions_requested_by_an_earlier_run_of_the_same_plan() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("plan.audit.jsonl");
        let line = |plan: &str, arn: &str, result: &str| {
            format!(
                r#"{{"time":"t","plan":"{plan}","action":"delete","arn":"{arn}","result":"{result}"}}"#
            )
        };
        let text = [
            line("p1", "arn:cache/a", "started"),
            line("p1", "arn:cache/a", "requested"),
            line("p1", "arn:cache/b", "deleted"),
            line("p2", "arn:cache/c", "requested"),
            "not json".to_string(),
        ]
        .join("\n");
        std::fs::write(&log, text).unwrap();
        let got = requested_earlier(&log, "p1");
        assert_eq!(got, HashSet::from(["arn:cache/a".to_string()]));
        assert!(requested_earlier(&dir.path().join("none.jsonl"), "p1").is_empty());
    }

    #[test]
    fn identity_and_network_types_of_cloud_control_go_last_in_their_region() {
        let cc = |kind: &str, id: &str, region: &str| {
            Found::new(&format!("cloudcontrol:{kind}"), region, id, id)
        };
        let mut items = vec![
            cc("AWS::IAM::User", "user", "r1"),
            cc("AWS::EC2::TransitGateway", "tgw", "r1"),
            cc("AWS::ECS::Cluster", "cluster", "r1"),
            Found::new("sqs:queue", "r1", "queue", "queue"),
            cc("AWS::ECS::Cluster", "other-region", "r2"),
        ];
        identity_and_network_last(&mut items);
        let w = waves(&items);
        let names: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.iter().map(|&i| items[i].id.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            vec![
                vec!["cluster", "queue", "other-region"],
                vec!["user", "tgw"]
            ]
        );
    }

    #[test]
    fn arns_name_their_account() {
        assert!(arn_in_account("arn:aws:ec2:r:111:vpc/v", "111"));
        assert!(!arn_in_account("arn:aws:ec2:r:222:vpc/v", "111"));
        assert!(arn_in_account("arn:aws:s3:::bucket", "111"));
    }
}
