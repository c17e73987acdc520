//! The IAM actions of kirikae's jobs are the AWS operations their code calls: this reads the
//! sources of each job, finds every SDK operation called on a client, and fails when a job's
//! generated policy (`kirikae_bootstrap::jobs`) lacks one, or names one the code no longer calls.
//!
//! - The refresh (kirikae-refresh and kirikae-aws's jump-side plumbing): the list is
//!   `kirikae_bootstrap::jobs::REFRESH_ACTIONS`, and docs/refresh.md's table ("IAM actions (least
//!   privilege)") must be the same rows, so neither the doc nor a generated policy can go stale.
//! - The sweep (kirikae-sweep), the audit (kirikae-audit) and the read-only checks (kirikae-aws's
//!   `iam_read`, what `accounts drift` reads): `SWEEP_ACTIONS`, `AUDIT_ACTIONS`, `CHECK_ACTIONS`.
//!   The sweep's Cloud Control types also need their handlers' own actions, which no SDK call
//!   shows: the policy takes them from the sweep's type table (each type's schema) for the types
//!   `[bootstrap.runner] cloud_control_types` names (`jobs::cloud_control_handler_actions`).
//!
//! How calls are found: an SDK client is a struct field (`rds: aws_sdk_rds::Client`) used as
//! `self.rds.<operation>()`; the value of a method returning one (`fn client(..) ->
//! aws_sdk_sts::Client`, `fn ec2(&self) -> &aws_sdk_ec2::Client`) used as
//! `self.client(..).<operation>()` or `cx.ec2().<operation>()`; a local binding (`let ec2 =
//! aws_sdk_ec2::Client::new(..)`) or a parameter (`iam: &aws_sdk_iam::Client`) used as
//! `ec2.<operation>()` further on. The service is the client's crate (`aws_sdk_rds` -> `rds`).
//! So that a call made another way cannot slip by, the scan also fails on a client used
//! otherwise (`self.rds.clone()`, an unknown way of reaching one), and on an operation name the
//! code reports (`self.call("Op", ..)`, `classify("Op", ..)`, `aws_call!(cx, "svc", "Op", ..)`)
//! that it did not find being called.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kirikae_bootstrap::jobs::{self, Side, REFRESH_ACTIONS};
use kirikae_config::RunnerJob;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sources whose AWS calls a refresh makes (folders or files), and files under them that
/// belong to another job.
const REFRESH: (&[&str], &[&str]) = (
    &["crates/kirikae-refresh/src", "crates/kirikae-aws/src"],
    &["crates/kirikae-aws/src/iam_read.rs"],
);
const SWEEP: (&[&str], &[&str]) = (&["crates/kirikae-sweep/src"], &[]);
const AUDIT: (&[&str], &[&str]) = (&["crates/kirikae-audit/src"], &[]);
const CHECKS: (&[&str], &[&str]) = (&["crates/kirikae-aws/src/iam_read.rs"], &[]);

/// IAM's service prefix of an SDK crate's service, where it is not the crate's own name.
fn iam_prefix(sdk_service: &str) -> &str {
    match sdk_service {
        "cloudwatchlogs" => "logs",
        "costexplorer" => "ce",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "resourcegroupstagging" => "tag",
        "resourcegroups" => "resource-groups",
        other => other,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src` without comments and without any whitespace outside string literals (a call chain
/// split over lines reads as one: `self.rds.describe_db_clusters()`).
fn squeeze(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            out.push(c);
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() {
                    out.push(b[i]);
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (b.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // a char literal ('"', '\n'); a lifetime has no closing quote
            let end = (i + 1..b.len())
                .find(|&j| j > i + 1 && b[j] == '\'')
                .unwrap_or(i);
            i = end + 1;
        } else {
            if !c.is_whitespace() {
                out.push(c);
            }
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier starting at byte `at` of `s`.
fn ident_at(s: &str, at: usize) -> &str {
    let end = s[at..]
        .find(|c: char| !is_ident(c))
        .map_or(s.len(), |e| at + e);
    &s[at..end]
}

/// The identifier ending right before byte `at` of `s`.
fn ident_before(s: &str, at: usize) -> &str {
    let start = s[..at].rfind(|c: char| !is_ident(c)).map_or(0, |p| p + 1);
    &s[start..at]
}

/// Where the parenthesised group opening at byte `open` of `s` closes (just after it).
fn after_group(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Methods of the builder chain that are not operations: a client reached like this is used
/// some other way than to call an operation.
const NOT_OPERATIONS: [&str; 4] = ["clone", "config", "as_ref", "to_owned"];

#[derive(Default)]
struct Scan {
    /// `(iam prefix, operation in snake_case)` -> where it is called.
    calls: BTreeMap<(String, String), BTreeSet<String>>,
    /// Operation names the code reports in its errors (`self.call("Op", ..)`).
    named: BTreeMap<String, BTreeSet<String>>,
    /// Uses of a client the scan cannot follow.
    unknown_uses: Vec<String>,
}

fn scan((paths, skip): (&[&str], &[&str])) -> Scan {
    let mut files = Vec::new();
    for dir in paths {
        rust_files(&repo().join(dir), &mut files);
    }
    files.retain(|f| !skip.iter().any(|s| f == &repo().join(s)));
    files.sort();
    let mut scan = Scan::default();
    // Methods returning a client are called from other files (the sweep's `cx.ec2()`): known
    // crate-wide.
    let mut all_getters: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        let s = squeeze(&std::fs::read_to_string(file).unwrap());
        for (at, _) in s.match_indices("aws_sdk_") {
            let before = &s[..at];
            if before.ends_with("->") || before.ends_with("->&") {
                let service = ident_at(&s, at + "aws_sdk_".len()).to_string();
                let sig_start = before.rfind("fn").unwrap();
                all_getters.insert(ident_at(&s, sig_start + 2).to_string(), service);
            }
        }
    }
    for file in &files {
        let name = file
            .strip_prefix(repo())
            .unwrap_or(file)
            .display()
            .to_string();
        let s = squeeze(&std::fs::read_to_string(file).unwrap());
        // The clients: `<binding>:aws_sdk_<svc>::Client` (fields) and
        // `fn <name>(..)->aws_sdk_<svc>::Client` (methods returning one).
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        let mut getters: BTreeMap<String, String> = all_getters.clone();
        // (binding, service, where it is bound): a name's calls go to its latest binding.
        let mut locals: Vec<(String, String, usize)> = Vec::new();
        for (at, _) in s.match_indices("aws_sdk_") {
            let service = ident_at(&s, at + "aws_sdk_".len()).to_string();
            let rest = &s[at + "aws_sdk_".len() + service.len()..];
            if !rest.starts_with("::Client") || is_ident(rest[8..].chars().next().unwrap_or(' ')) {
                continue;
            }
            if rest.starts_with("::Client::from_conf") || rest.starts_with("::Client::new(") {
                // Where one is made; made into a local binding (`let client = ..`), its calls
                // are `client.<operation>()` further on in the file.
                let before = &s[..at];
                if before.ends_with('=') && !before.ends_with("==") {
                    let binding = ident_before(&s, at - 1);
                    let local = binding
                        .strip_prefix("letmut")
                        .or_else(|| binding.strip_prefix("let"))
                        .filter(|l| !l.is_empty());
                    if let Some(local) = local {
                        locals.push((local.to_string(), service, at));
                    }
                }
                continue;
            }
            let before = &s[..at];
            if before.ends_with('<') {
                // a holder of a client (`OnceLock<aws_sdk_ec2::Client>`): reached through the
                // getter that returns it, followed below
                continue;
            } else if before.ends_with(":&") {
                // a parameter: `iam: &aws_sdk_iam::Client`
                locals.push((ident_before(&s, at - 2).to_string(), service, at));
            } else if before.ends_with(':') && !before.ends_with("::") {
                fields.insert(ident_before(&s, at - 1).to_string(), service);
            } else if before.ends_with("->") || before.ends_with("->&") {
                let sig_start = before.rfind("fn").unwrap();
                let name = ident_at(&s, sig_start + 2).to_string();
                getters.insert(name, service);
            } else {
                scan.unknown_uses.push(format!(
                    "{name}: aws_sdk_{service}::Client in `{}`",
                    &s[at.saturating_sub(40)..(at + 60).min(s.len())]
                ));
            }
        }
        let record = |scan: &mut Scan, service: &str, after: usize, how: &str| {
            let op = if s[after..].starts_with('.') {
                ident_at(&s, after + 1)
            } else {
                ""
            };
            let called = s[after + 1 + op.len()..].starts_with('(');
            if op.is_empty() || !called || NOT_OPERATIONS.contains(&op) {
                scan.unknown_uses.push(format!(
                    "{name}: {how} used as `{}`: call an operation on it directly \
                     ({how}.<operation>()), or teach this test the new way",
                    &s[after.saturating_sub(30)..(after + 40).min(s.len())]
                ));
            } else {
                scan.calls
                    .entry((iam_prefix(service).to_string(), op.to_string()))
                    .or_default()
                    .insert(name.clone());
            }
        };
        for (field, service) in &fields {
            let pat = format!("self.{field}");
            let mut uses = 0;
            for (at, _) in s.match_indices(&pat) {
                let after = at + pat.len();
                if s[after..].starts_with(|c: char| is_ident(c)) {
                    continue; // self.rds_other
                }
                uses += 1;
                record(&mut scan, service, after, &pat);
            }
            if uses == 0 {
                scan.unknown_uses.push(format!(
                    "{name}: the client `{field}` (aws_sdk_{service}) is never used as \
                     self.{field}.<operation>(): a local binding or a parameter the scan does \
                     not follow"
                ));
            }
        }
        let names = locals
            .iter()
            .map(|(n, _, _)| n.clone())
            .collect::<BTreeSet<_>>();
        for local in &names {
            let pat = format!("{local}.");
            for (at, _) in s.match_indices(&pat) {
                if s[..at].ends_with(|c: char| is_ident(c) || c == '.') {
                    continue; // self.client, other_client
                }
                let Some((_, service, _)) = locals
                    .iter()
                    .rev()
                    .find(|(n, _, bound)| n == local && *bound < at)
                else {
                    continue; // the same name before any client was bound to it
                };
                record(&mut scan, service, at + local.len(), local);
            }
        }
        for (getter, service) in &getters {
            // Reached through `self` or the sweep's context `cx` only: an SDK output has
            // accessors of the same names (`eni.groups()`).
            for receiver in ["self", "cx"] {
                let pat = format!("{receiver}.{getter}(");
                for (at, _) in s.match_indices(&pat) {
                    if s[..at].ends_with(|c: char| is_ident(c)) {
                        continue; // other_cx.ec2(
                    }
                    let Some(after) = after_group(&s, at + pat.len() - 1) else {
                        continue;
                    };
                    record(
                        &mut scan,
                        service,
                        after,
                        &format!("{receiver}.{getter}(..)"),
                    );
                }
            }
        }
        // The sweep names its calls: aws_call!(cx, "ec2", "DescribeVpcs", ..).
        for (at, _) in s.match_indices("aws_call!(") {
            let args = &s[at + "aws_call!(".len()..];
            if let Some(op) = args.split(',').nth(2).map(|a| a.trim_matches('"')) {
                if !op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric()) {
                    scan.named
                        .entry(op.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
        for prefix in [".call(\"", "classify(\"", "operation:\""] {
            for (at, _) in s.match_indices(prefix) {
                let op = ident_at(&s, at + prefix.len());
                if !op.is_empty() {
                    scan.named
                        .entry(op.to_string())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    scan
}

/// One spelling of an operation for comparing: `DescribeDBClusters`, `describe_db_clusters`
/// -> `describedbclusters`.
fn norm(op: &str) -> String {
    op.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The doc's table: action (`rds:DescribeDBClusters`) -> the accounts marked `yes`.
fn documented() -> BTreeMap<String, Vec<&'static str>> {
    let doc = std::fs::read_to_string(repo().join("docs/refresh.md")).unwrap();
    let begin = doc
        .find("<!-- iam-actions:begin -->")
        .expect("docs/refresh.md has <!-- iam-actions:begin -->");
    let end = doc
        .find("<!-- iam-actions:end -->")
        .expect("docs/refresh.md has <!-- iam-actions:end -->");
    let mut out = BTreeMap::new();
    for line in doc[begin..end].lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let action = cells[0].trim_matches('`');
        if action == "action" || action.starts_with("---") {
            continue;
        }
        assert!(
            action.split_once(':').is_some_and(|(s, o)| !s.is_empty()
                && !o.is_empty()
                && o.chars().all(|c| c.is_ascii_alphanumeric())),
            "docs/refresh.md: {action:?} is not a `service:Operation` action: {line}"
        );
        assert_eq!(cells.len(), 5, "docs/refresh.md: 5 cells expected: {line}");
        let accounts: Vec<&str> = ["source", "target", "jump"]
            .into_iter()
            .zip(&cells[1..4])
            .filter(|(_, c)| **c == "yes")
            .map(|(a, _)| a)
            .collect();
        assert!(
            !accounts.is_empty(),
            "docs/refresh.md: {action} names no account (yes under source, target or jump): {line}"
        );
        assert!(
            out.insert(action.to_string(), accounts).is_none(),
            "docs/refresh.md lists {action} twice"
        );
    }
    out
}

/// The operations `scope`'s code calls, as `(iam prefix, normalised operation)` -> `prefix:Op
/// (in files)`, after checking the scan followed every client and every named operation.
fn called_in(scope: (&[&str], &[&str])) -> BTreeMap<(String, String), String> {
    let scan = scan(scope);
    assert!(
        scan.unknown_uses.is_empty(),
        "SDK clients used in ways this scan cannot follow:\n  {}",
        scan.unknown_uses.join("\n  ")
    );
    let called: BTreeMap<(String, String), String> = scan
        .calls
        .iter()
        .map(|((svc, op), files)| {
            (
                (svc.clone(), norm(op)),
                format!(
                    "{svc}:{op} (in {})",
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
        .collect();
    // The scan must see every operation the code names: else a call is made another way.
    let called_ops: BTreeSet<String> = called.keys().map(|(_, op)| op.clone()).collect();
    let unseen: Vec<String> = scan
        .named
        .iter()
        .filter(|(op, _)| !called_ops.contains(&norm(op)))
        .map(|(op, files)| format!("{op} (named in {files:?})"))
        .collect();
    assert!(
        unseen.is_empty(),
        "the code names AWS operations the scan did not find being called (teach the scan how \
         their client is reached): {unseen:?}"
    );
    called
}

#[test]
fn the_documented_iam_actions_are_the_operations_the_code_calls() {
    let called = called_in(REFRESH);
    let doc = documented();
    let table: BTreeMap<String, Vec<&str>> = REFRESH_ACTIONS
        .iter()
        .map(|(action, sides)| {
            let names = [
                (Side::Source, "source"),
                (Side::Target, "target"),
                (Side::Jump, "jump"),
            ]
            .into_iter()
            .filter(|(s, _)| sides.contains(s))
            .map(|(_, n)| n)
            .collect();
            (action.to_string(), names)
        })
        .collect();
    assert_eq!(
        doc, table,
        "docs/refresh.md's IAM actions table and kirikae_bootstrap::jobs::REFRESH_ACTIONS (which \
         the refresh roles' policies are generated from) differ: make them the same rows"
    );
    let listed: BTreeMap<(String, String), &String> = doc
        .keys()
        .map(|a| {
            let (svc, op) = a.split_once(':').unwrap();
            ((svc.to_string(), norm(op)), a)
        })
        .collect();
    let missing: Vec<&String> = called
        .iter()
        .filter(|(k, _)| !listed.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    let stale: Vec<&&String> = listed
        .iter()
        .filter(|(k, _)| !called.contains_key(*k))
        .map(|(_, v)| v)
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/refresh.md (IAM actions) and the code disagree:\n  called but not listed: \
         {missing:?}\n  listed but not called: {stale:?}\nadd each called operation as a row \
         `| `service:Operation` | source | target | jump | for |` (yes under each account whose \
         role makes the call), and remove what is no longer called"
    );
    // The generated policies allow every operation the code calls in their account.
    for (job, side) in [
        (RunnerJob::RefreshSource, "source"),
        (RunnerJob::RefreshTarget, "target"),
    ] {
        let allowed = allowed(&jobs::policy(job));
        let lacking: Vec<&String> = called
            .iter()
            .filter(|(k, _)| {
                let action = listed.get(*k).map(|a| a.as_str());
                action.is_some_and(|a| table[a].contains(&side)) && !allowed.contains(*k)
            })
            .map(|(_, v)| v)
            .collect();
        assert!(
            lacking.is_empty(),
            "the generated {side} policy lacks operations the code calls: {lacking:?}"
        );
    }
    // Not vacuous: the refresh's core calls are found.
    for a in [
        "rds:DescribeDBClusters",
        "ram:CreateResourceShare",
        "secretsmanager:CreateSecret",
        "sts:AssumeRole",
    ] {
        assert!(doc.contains_key(a), "{a}");
    }
    assert!(called.len() >= 30, "{called:#?}");
}

/// The IAM actions a call needs (most are the operation's own name).
fn actions_of((svc, op): &(String, String)) -> Vec<(String, String)> {
    jobs::OPERATION_ACTIONS
        .iter()
        .find(|(o, _)| {
            o.split_once(':')
                .is_some_and(|(s, o)| s == svc && norm(o) == *op)
        })
        .map_or_else(
            || vec![(svc.clone(), op.clone())],
            |(_, actions)| actions.iter().map(|a| split(a)).collect(),
        )
}

fn split(action: &str) -> (String, String) {
    let (svc, op) = action.split_once(':').unwrap();
    (svc.to_string(), norm(op))
}

/// Every action a policy allows, over all its statements.
fn allowed(policy: &serde_json::Value) -> BTreeSet<(String, String)> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| st["Action"].as_array().unwrap().iter())
        .map(|a| split(a.as_str().unwrap()))
        .collect()
}

#[test]
fn the_sweep_audit_and_check_policies_allow_exactly_what_their_code_calls() {
    let handlers: BTreeSet<(String, String)> =
        jobs::cloud_control_handler_actions(jobs::DEFAULT_CLOUD_CONTROL_TYPES)
            .unwrap()
            .iter()
            .map(|a| split(a))
            .collect();
    for (job, scope, at_least) in [
        (RunnerJob::Sweep, SWEEP, 100),
        (RunnerJob::Audit, AUDIT, 10),
        (RunnerJob::Checks, CHECKS, 10),
    ] {
        let called = called_in(scope);
        let needed: BTreeMap<(String, String), &String> = called
            .iter()
            .flat_map(|(k, v)| actions_of(k).into_iter().map(move |a| (a, v)))
            .collect();
        let policy = allowed(&jobs::policy(job));
        let lacking: Vec<&&String> = needed
            .iter()
            .filter(|(a, _)| !policy.contains(*a))
            .map(|(_, v)| v)
            .collect();
        assert!(
            lacking.is_empty(),
            "the generated {job:?} policy lacks operations its code calls: {lacking:?}\nadd \
             them to its list in kirikae_bootstrap::jobs"
        );
        // Nothing beyond: the Cloud Control handlers' actions for the sweep, the check of who
        // one is (kirikae-aws's STS, shared with the refresh) for the checks.
        let stale: Vec<&(String, String)> = policy
            .iter()
            .filter(|a| !needed.contains_key(*a))
            .filter(|a| !(job == RunnerJob::Sweep && handlers.contains(*a)))
            .filter(|a| {
                !(job == RunnerJob::Checks && **a == ("sts".into(), norm("GetCallerIdentity")))
            })
            .collect();
        assert!(
            stale.is_empty(),
            "the generated {job:?} policy allows actions its code does not call: {stale:?}"
        );
        assert!(called.len() >= at_least, "{job:?}: {called:#?}");
    }

    // The Cloud Control handlers' actions come from each type's schema, as the sweep's type table
    // records them: the default types' are all in the policy, and name the handlers' own calls.
    let table: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("crates/kirikae-cc-types/data/cc_types.json"))
            .unwrap(),
    )
    .unwrap();
    let sweep = allowed(&jobs::policy(RunnerJob::Sweep));
    for t in jobs::DEFAULT_CLOUD_CONTROL_TYPES {
        let perms = &table["handler_permissions"][*t];
        for h in ["list", "read", "delete"] {
            for a in perms[h].as_array().unwrap_or_else(|| panic!("{t} {h}")) {
                assert!(
                    sweep.contains(&split(a.as_str().unwrap())),
                    "{t}'s {h} handler needs {a}"
                );
            }
        }
    }
    assert!(
        handlers.contains(&split("events:DeleteRule")),
        "{handlers:?}"
    );
    assert!(
        handlers.contains(&split("ssm:DeleteParameter")),
        "{handlers:?}"
    );
}

#[test]
fn the_sweep_policy_carries_the_handlers_of_the_types_a_team_names_and_refuses_unknown_ones() {
    let named = ["AWS::Athena::WorkGroup", "AWS::Glue::Workflow"];
    let policy = allowed(&jobs::policy_with(RunnerJob::Sweep, &named).unwrap());
    assert!(
        policy.contains(&split("athena:DeleteWorkGroup")),
        "{policy:?}"
    );
    assert!(policy.contains(&split("glue:DeleteWorkflow")), "{policy:?}");
    // Only those: the defaults' handlers are not added to a list of one's own.
    assert!(!policy.contains(&split("events:DeleteRule")), "{policy:?}");
    // The SDK calls stay whatever the types.
    assert!(policy.contains(&split("cloudcontrol:DeleteResource")));
    // Other jobs do not change with the types.
    assert_eq!(
        jobs::policy_with(RunnerJob::Audit, &named).unwrap(),
        jobs::policy(RunnerJob::Audit)
    );
    let e = jobs::policy_with(
        RunnerJob::Sweep,
        &[
            "AWS::Athena::WorkGroup",
            "AWS::No::Such",
            "aws::glue::workflow",
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("AWS::No::Such")
            && e.contains("aws::glue::workflow (did you mean AWS::Glue::Workflow?)")
            && !e.contains("AWS::Athena::WorkGroup"),
        "{e}"
    );
    // Every type the table has has handler actions to give.
    assert!(jobs::cloud_control_handler_table().len() > 800);
}

#[test]
fn the_scan_follows_fields_getters_and_chains_split_over_lines() {
    let s = squeeze(
        "let x = self\n    .rds // the client\n    .describe_db_clusters()\n    .send();\n\
         let c = '\"'; let y = \"// not a comment\";",
    );
    assert_eq!(
        s,
        "letx=self.rds.describe_db_clusters().send();letc=;lety=\"// not a comment\";"
    );
    assert_eq!(norm("DescribeDBClusters"), norm("describe_db_clusters"));
    assert_eq!(iam_prefix("secretsmanager"), "secretsmanager");
}
