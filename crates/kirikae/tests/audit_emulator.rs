//! `kirikae audit` against the emulator: the story's world plus `support/audit_world.py`'s
//! estate, where every check has a resource it must find and a twin that is fine.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{run, text, world_script, Emulator};

/// Seeds the story and the audit estate; returns the config (with `[audit]` and per-account
/// tags added, as a person would write them) and the estate's {name: id or ARN}.
fn world(emu: &Emulator, dir: &Path) -> (PathBuf, Value) {
    let config = emu.seed_story(dir);
    let ids: Value =
        serde_json::from_str(&world_script("audit_world.py", &["seed", &emu.url])).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let text =
        text.replacen(
            "protected = true\n",
            "protected = true\ntags = { env = \"prod\" }\n",
            1,
        )
        .replacen(
            "alias = \"shop-dev\"\n",
            "alias = \"shop-dev\"\ntags = { env = \"dev\" }\n",
            1,
        ) + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\n";
    std::fs::write(&config, text).unwrap();
    (config, ids)
}

fn audit(config: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let o = run(config, &all);
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (o.status.code(), v, err)
}

/// The findings of check `id` whose resource ends with `resource` (an ARN or an id in it).
fn on<'a>(v: &'a Value, id: &str, resource: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == id && f["resource"].as_str().unwrap().ends_with(resource))
        .collect()
}

fn one<'a>(v: &'a Value, id: &str, resource: &str) -> &'a Value {
    let found = on(v, id, resource);
    assert_eq!(found.len(), 1, "{id} on {resource}: {found:?}\nall: {v:#}");
    found[0]
}

fn none(v: &Value, resource: &str) {
    let found: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"].as_str().unwrap().ends_with(resource))
        .collect();
    assert!(found.is_empty(), "{resource} is fine, yet: {found:?}");
}

fn id<'a>(ids: &'a Value, name: &str) -> &'a str {
    ids[name].as_str().unwrap()
}

#[test]
fn az_finds_each_risk_and_not_its_fine_twin_with_severity_by_account() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = world(&emu, dir.path());

    let (code, v, err) = audit(&config, &["az"]);
    assert_eq!(code, Some(1), "high findings in prod: {err}");

    // One NAT gateway for the VPC, in 1a: the 1c subnet is a finding, the 1a subnet is not.
    let f = one(&v, "AZ-001", id(&ids, "shared_c"));
    assert_eq!(f["severity"], "high");
    assert_eq!(f["account"], "prod");
    let evidence = f["evidence"].as_str().unwrap();
    assert!(evidence.contains("ap-northeast-1c"), "{evidence}");
    assert!(evidence.contains(id(&ids, "shared_nat")), "{evidence}");
    assert!(evidence.contains("the only NAT gateway"), "{evidence}");
    assert!(f["fix"].as_str().unwrap().contains("ap-northeast-1c"));
    assert!(!f["why"].as_str().unwrap().is_empty());
    for fine in ["shared_a", "per_az_a", "per_az_c"] {
        none(&v, id(&ids, fine));
    }

    one(&v, "AZ-002", "autoScalingGroupName/web-one-az");
    none(&v, "autoScalingGroupName/web-two-az");
    one(&v, "AZ-003", id(&ids, "nlb-one-az"));
    none(&v, id(&ids, "alb-two-az"));

    // The story's shop-prod: a writer alone (read from its instances, not the cluster's AZ list).
    let f = one(&v, "AZ-004", ":cluster:shop-prod");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("shop-prod has one DB instance (shop-prod-1"),
        "{f}"
    );
    none(&v, id(&ids, "orders-prod"));

    // Single-AZ MySQL: high in the protected prod, one step lower (medium) in dev.
    assert_eq!(one(&v, "AZ-005", ":db:reports-prod")["severity"], "high");
    assert_eq!(one(&v, "AZ-005", ":db:reports-dev")["severity"], "medium");
    none(&v, ":db:billing-prod");

    assert_eq!(
        one(&v, "AZ-006", ":cluster:sessions-one-az")["severity"],
        "medium"
    );
    // Two nodes in 1a and 1c (each node's AZ, shown by the emulator's elasticache extension).
    none(&v, ":cluster:sessions-two-az");

    // The AZ name -> id mapping, one entry per account.
    let zones = v["zones"].as_array().unwrap();
    let accounts: Vec<&str> = zones
        .iter()
        .map(|z| z["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["dev", "prod"], "{zones:?}");
    let id_of = |z: &Value, name: &str| -> String {
        z["zones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["name"] == name)
            .map(|z| z["id"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {name} in {z}"))
    };
    // As on AWS (the emulator's az_ids extension): the same name is another AZ in each account.
    let dev_1a = id_of(&zones[0], "ap-northeast-1a");
    let prod_1a = id_of(&zones[1], "ap-northeast-1a");
    assert!(dev_1a.starts_with("apne1-az") && prod_1a.starts_with("apne1-az"));
    assert_ne!(dev_1a, prod_1a);

    // --fail-on: dev alone has medium findings only.
    let (code, v, _) = audit(&config, &["az", "--account", "shop-dev"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(!v["findings"].as_array().unwrap().is_empty());
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["account"] == "dev"));
    assert_eq!(v["at_or_above_fail_on"], 0);
    let (code, v, _) = audit(&config, &["az", "--account", "dev", "--fail-on", "medium"]);
    assert_eq!(code, Some(1), "{v:#}");
    let (code, _, _) = audit(
        &config,
        &["az", "--account", "prod", "--fail-on", "critical"],
    );
    assert_eq!(code, Some(0), "no critical AZ finding");

    // An account kirikae.toml does not know: bad input, nothing audited.
    let (code, v, _) = audit(&config, &["az", "--account", "staging"]);
    assert_eq!(code, Some(2));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no account \"staging\" in kirikae.toml (known: dev, prod)"),
        "{v}"
    );
}

/// A minimal RFC 4180 reader: quoted fields may hold commas, quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn tags_finds_missing_contradicting_and_variant_keys_by_listing_each_service() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = world(&emu, dir.path());

    let (code, v, err) = audit(&config, &["tags"]);
    assert_eq!(code, Some(1), "{err}");
    // Never tagged: the Tagging API would not list it; listing EC2 does.
    let f = one(&v, "TAG-001", id(&ids, "untagged"));
    assert_eq!(f["severity"], "medium");
    assert!(f["evidence"]
        .as_str()
        .unwrap()
        .ends_with("no env, no owner"));
    assert!(f["fix"].as_str().unwrap().contains("env = \"prod\""));
    // The story's cluster carries env and app, not owner.
    assert!(one(&v, "TAG-001", ":cluster:shop-prod")["evidence"]
        .as_str()
        .unwrap()
        .ends_with("no owner"));
    // A value that contradicts the account: high in prod, medium in dev.
    assert_eq!(
        one(&v, "TAG-002", id(&ids, "tagged-dev"))["severity"],
        "high"
    );
    assert_eq!(
        one(&v, "TAG-002", id(&ids, "dev-tagged-prod"))["severity"],
        "medium"
    );
    // Environment instead of env: one TAG-003, not also "env missing".
    one(&v, "TAG-003", id(&ids, "environment"));
    assert!(on(&v, "TAG-001", id(&ids, "environment")).is_empty());
    for fine in [
        id(&ids, "tagged-fine"),
        id(&ids, "per_az_a"),
        id(&ids, "alb-two-az"),
        ":db:billing-prod",
        "autoScalingGroupName/web-two-az",
    ] {
        none(&v, fine);
    }
    // The tags part does not run the AZ checks.
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["check"].as_str().unwrap().starts_with("TAG-")));

    // CSV: a header and one row per finding of `all`, the same as its JSON.
    let (_, json, _) = audit(&config, &["all"]);
    let o = run(&config, &["audit", "all", "--output", "csv"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let rows = parse_csv(&out);
    assert_eq!(
        rows[0],
        [
            "check",
            "severity",
            "account",
            "account_id",
            "region",
            "resource",
            "title",
            "evidence",
            "why",
            "fix"
        ]
    );
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(rows.len() - 1, findings.len());
    for (row, f) in rows[1..].iter().zip(findings) {
        assert_eq!(row.len(), 10, "{row:?}");
        assert_eq!(row[0], f["check"].as_str().unwrap());
        assert_eq!(row[5], f["resource"].as_str().unwrap());
        assert_eq!(row[7], f["evidence"].as_str().unwrap());
    }
    assert!(findings.iter().any(|f| f["check"] == "AZ-004"));
    assert!(findings.iter().any(|f| f["check"] == "TAG-003"));

    // The table for people.
    let o = run(&config, &["audit", "all"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    for line in [
        "SEVERITY  CHECK",
        "AZ ids in ap-northeast-1",
        "Tags: ",
        "at or above --fail-on high",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
}

#[test]
fn tags_without_anything_to_check_says_what_to_add() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let o = run(&config, &["audit", "tags"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("add [audit] required_tags"), "{err}");
}

#[test]
fn every_region_is_audited_and_an_unreachable_account_does_not_stop_the_others() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());

    // Two regions of prod: each answers (its own AZ mapping); the story is in ap-northeast-1.
    let (code, v, err) = audit(
        &config,
        &[
            "az",
            "--account",
            "prod",
            "--region",
            "ap-northeast-1",
            "--region",
            "us-east-1",
        ],
    );
    assert_eq!(code, Some(1), "shop-prod is high: {err}");
    let regions: Vec<&str> = v["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["ap-northeast-1", "us-east-1"], "{v:#}");
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["region"] == "ap-northeast-1"));
    one(&v, "AZ-004", ":cluster:shop-prod");

    // A region name that is not one: bad input before any call.
    let (code, v, _) = audit(&config, &["az", "--region", "tokyo"]);
    assert_eq!(code, Some(2));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"tokyo\" is not a region name"),
        "{v}"
    );

    // `readonly` exists only in dev: prod cannot be reached, dev is audited all the same.
    support::edit(&config, "role = \"ops\"", "role = \"readonly\"");
    let (code, v, err) = audit(&config, &["az"]);
    assert_eq!(code, Some(1), "an account not audited is a failure");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert_eq!(errors[0]["account"], "prod");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the account"),
        "{errors:?}"
    );
    assert!(err.contains("prod in ap-northeast-1"), "{err}");
    let zones = v["zones"].as_array().unwrap();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0]["account"], "dev");
    one(&v, "AZ-004", ":cluster:staging");
}
