//! `kirikae sweep --cloud-control` against the emulator, over every type of the generated type
//! table the emulator's Cloud Control can build (moto's CloudFormation hooks): one tagged
//! leftover and one decoy per type, plus a stack-managed resource, data-bearing types without
//! the opt-in and a deliberately wrong mapping. The plan holds exactly the leftovers it should;
//! apply, killed part-way and resumed, deletes each once and leaves every decoy.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use support::{kirikae, repo_root, run, text, Emulator, PROD_CLIENT};

const TAG: &str = "owner=cc-wide";

/// Types the emulator seeds that hold data: planned only with `--cloud-control-data`.
const DATA_TYPES: &[&str] = &["AWS::EFS::FileSystem", "AWS::Kinesis::Stream"];

/// Runs Python with the emulator's package, `sys.argv[1]` the endpoint; `c(service)` is a client
/// acting in the prod account.
fn python(emu: &Emulator, code: &str) -> String {
    emu.python(&format!("{PROD_CLIENT}{code}"), &[])
}

/// The leftovers and decoys (from `kirikae_emulator.cc_seed`), a thing type a CloudFormation
/// stack manages, and a billing group named like the leftover thing type (what the wrong
/// mapping below reads instead).
const WORLD: &str = "\
from kirikae_emulator import cc_seed
c('iam').create_account_alias(AccountAlias='shop-prod')
out = cc_seed.seed(sys.argv[1], PROD, ('owner', 'cc-wide'), ('app', 'shop'))
cc = c('cloudcontrol')
stack = 'arn:aws:cloudformation:ap-northeast-1:' + PROD + ':stack/old-stack/1'
cc.create_resource(TypeName='AWS::IoT::ThingType', DesiredState=json.dumps({'ThingTypeName': 'cc-stack-tt', 'Tags': [{'Key': 'owner', 'Value': 'cc-wide'}, {'Key': 'aws:cloudformation:stack-id', 'Value': stack}]}))
cc.create_resource(TypeName='AWS::IoT::BillingGroup', DesiredState=json.dumps({'BillingGroupName': 'cc-lef-iot-thingtype', 'Tags': [{'Key': 'app', 'Value': 'shop'}]}))
print(json.dumps(out))";

/// Which of `(type, identifier)` Cloud Control can still read.
fn readable(emu: &Emulator, pairs: &[(String, String)]) -> Vec<bool> {
    let code = format!(
        "cc = c('cloudcontrol')\nout = []\nfor t, i in {}:\n    try:\n        cc.get_resource(TypeName=t, Identifier=i)\n        out.append(True)\n    except cc.exceptions.ResourceNotFoundException:\n        out.append(False)\nprint(json.dumps(out))",
        serde_json::to_string(pairs).unwrap()
    );
    serde_json::from_str(&python(emu, &code)).unwrap()
}

fn scan(config: &Path, plan: &Path, extra: &[(&str, &str)], args: &[&str]) -> Value {
    let mut c = kirikae();
    c.args([
        "sweep",
        "scan",
        "--account",
        "prod",
        "--tag",
        TAG,
        "--cloud-control",
        "--out",
        plan.to_str().unwrap(),
        "--output",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    c.args(args);
    for (k, v) in extra {
        c.env(k, v);
    }
    let o = c.current_dir("/").stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap()
}

fn apply(config: &Path, plan: &Path, kill_after: Option<usize>) -> (Option<i32>, String) {
    let mut c = kirikae();
    c.args([
        "sweep",
        "apply",
        plan.to_str().unwrap(),
        "--output",
        "json",
        "--yes",
        "--confirm",
        "shop-prod",
        "--config",
        config.to_str().unwrap(),
    ]);
    if let Some(n) = kill_after {
        c.env("KIRIKAE_SWEEP_KILL_AFTER", n.to_string());
    }
    let o = c.current_dir("/").stdin(Stdio::null()).output().unwrap();
    let (out, err) = text(&o);
    // (what did not go, when it says: the whole report is long)
    let shown = match serde_json::from_str::<Value>(&out) {
        Ok(r) => format!("failed: {} skipped: {}", r["failed"], r["skipped"]),
        Err(_) => format!("{out}{err}"),
    };
    (o.status.code(), shown)
}

fn unknown_reason(plan: &Value, arn_part: &str) -> String {
    plan["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["arn"].as_str().unwrap().contains(arn_part))
        .unwrap_or_else(|| panic!("no unknown {arn_part}: {plan}"))["reason"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The risk class the committed type table gives a type.
fn risk_of(type_name: &str) -> String {
    let path = repo_root().join("crates/kirikae-cc-types/data/cc_types.json");
    let table: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == type_name)
        .unwrap_or_else(|| panic!("{type_name} is not in the table"))["risk"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The embedded table with the thing type's shape mapped to billing groups: the identifier it
/// builds names the billing group decoy, whose ARN is not the tagged one; and the role alias's
/// type said to exist everywhere but in ap-northeast-1 (as a type newer than a region is).
fn wrong_table(dir: &Path) -> std::path::PathBuf {
    let path = repo_root().join("crates/kirikae-cc-types/data/cc_types.json");
    let mut table: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut changed = 0;
    for row in table["rows"].as_array_mut().unwrap() {
        if row["type"] == "AWS::IoT::ThingType" {
            row["type"] = "AWS::IoT::BillingGroup".into();
            row["fields"] = serde_json::json!([["BillingGroupName", "ThingTypeName", ""]]);
            row["primary"] = serde_json::json!(["BillingGroupName"]);
            row["arn_property"] = "Arn".into();
            changed += 1;
        }
    }
    assert_eq!(changed, 1);
    table["region_sets"]["not-tokyo"] = serde_json::json!({"all_but": ["ap-northeast-1"]});
    for row in table["rows"].as_array_mut().unwrap() {
        if row["type"] == "AWS::IoT::RoleAlias" {
            row["regions"] = "not-tokyo".into();
            changed += 1;
        }
    }
    assert_eq!(changed, 2);
    let out = dir.join("wrong-cc-types.json");
    std::fs::write(&out, table.to_string()).unwrap();
    out
}

#[test]
fn every_type_the_emulator_builds_is_planned_read_back_and_deleted_once_across_a_kill() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let seeded: BTreeMap<String, Value> = serde_json::from_str(&python(&emu, WORLD)).unwrap();
    for (t, e) in &seeded {
        assert!(e.get("error").is_none(), "{t}: {e}");
    }
    let expected: BTreeMap<String, String> = seeded
        .iter()
        .filter(|(t, _)| !DATA_TYPES.contains(&t.as_str()))
        .map(|(t, e)| {
            (
                format!("cloudcontrol:{t}"),
                e["leftover"]["identifier"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let services: BTreeSet<&str> = expected
        .keys()
        .map(|k| k.split("::").nth(1).unwrap())
        .collect();
    // The bar: at least 40 types across at least 15 services beyond the hand-written ones
    // (a type with a hand-written file would be planned under its own kind, not `cloudcontrol:`,
    // and the plan below would differ).
    eprintln!(
        "Cloud Control leftovers planned: {} types across {} services: {}",
        expected.len(),
        services.len(),
        services.iter().copied().collect::<Vec<_>>().join(", ")
    );
    assert!(
        expected.len() >= 40 && services.len() >= 15,
        "{} types, {} services",
        expected.len(),
        services.len()
    );

    // 1. The plan: exactly one item per leftover type, with the emulator's own identifier.
    let plan_path = dir.path().join("wide.json");
    let plan = scan(&config, &plan_path, &[], &[]);
    let items: BTreeMap<String, String> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        plan["items"].as_array().unwrap().len(),
        items.len(),
        "one item per type: {plan}"
    );
    assert_eq!(items, expected, "{plan}");
    // Refused, each with its reason; never an item.
    let why = unknown_reason(&plan, ":thingtype/cc-stack-tt");
    assert!(
        why.contains("managed by the CloudFormation stack") && why.contains("delete the stack"),
        "{why}"
    );
    for t in DATA_TYPES {
        let id = seeded[*t]["leftover"]["identifier"].as_str().unwrap();
        let u = plan["unknown"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["arn"].as_str().unwrap().contains(id))
            .unwrap_or_else(|| panic!("{t} {id} not in unknown: {plan}"));
        let why = u["reason"].as_str().unwrap();
        assert!(why.contains(&format!("--cloud-control-data {t}")), "{why}");
    }
    assert_eq!(
        plan["unknown"].as_array().unwrap().len(),
        1 + DATA_TYPES.len(),
        "{plan}"
    );

    // 2. A wrong mapping: the identifier it builds reads back another resource, so the tagged
    //    one stays unknown with the reason, and nothing of the decoy enters the plan. A type
    //    absent from the region per the table stays unknown too.
    let wrong = scan(
        &config,
        &dir.path().join("wrong.json"),
        &[(
            "KIRIKAE_SWEEP_CC_TYPES",
            wrong_table(dir.path()).to_str().unwrap(),
        )],
        &[],
    );
    let why = unknown_reason(&wrong, ":thingtype/cc-lef-iot-thingtype");
    assert!(
        why.contains("not the tagged resource")
            && why.contains("billinggroup/cc-lef-iot-thingtype"),
        "{why}"
    );
    assert!(!wrong["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == "cc-lef-iot-thingtype"));
    // A type the table says the region lacks is never read there: unknown, with the region.
    let why = unknown_reason(&wrong, ":rolealias/cc-lef-iot-rolealias");
    assert!(
        why.contains("AWS::IoT::RoleAlias does not exist in ap-northeast-1")
            && why.contains("never deleted"),
        "{why}"
    );
    assert_eq!(
        wrong["items"].as_array().unwrap().len(),
        expected.len() - 2,
        "{wrong}"
    );

    // Named with --cloud-control-data, a data-bearing type is planned; the other is not.
    let opted = scan(
        &config,
        &dir.path().join("opted.json"),
        &[],
        &["--cloud-control-data", "AWS::Kinesis::Stream"],
    );
    assert!(
        opted["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "cloudcontrol:AWS::Kinesis::Stream"
                && i["id"] == seeded["AWS::Kinesis::Stream"]["leftover"]["identifier"]),
        "{opted}"
    );
    assert_eq!(
        opted["items"].as_array().unwrap().len(),
        expected.len() + 1,
        "{opted}"
    );

    // 3. Mark, then apply killed after 5 deletions and run again: every item gone, each
    //    deletion sent as one request (a resent one reuses its client token).
    let o = run(&config, &["sweep", "mark", plan_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let (code, out) = apply(&config, &plan_path, Some(5));
    assert_eq!(code, Some(137), "{out}");
    let (code, out) = apply(&config, &plan_path, None);
    assert_eq!(code, Some(0), "{out}");
    let leftovers: Vec<(String, String)> = expected
        .iter()
        .map(|(k, id)| {
            (
                k.trim_start_matches("cloudcontrol:").to_string(),
                id.clone(),
            )
        })
        .collect();
    assert!(
        readable(&emu, &leftovers).iter().all(|r| !r),
        "leftovers still there"
    );
    let log: Value = serde_json::from_str(
        &python(
            &emu,
            "import urllib.request\nprint(urllib.request.urlopen(sys.argv[1] + '/_kirikae/cloudcontrol/log').read().decode())",
        ),
    )
    .unwrap();
    let mut new_requests: BTreeMap<(String, String), usize> = BTreeMap::new();
    for d in log["deletes"].as_array().unwrap() {
        assert!(
            d["ClientToken"]
                .as_str()
                .unwrap_or("")
                .starts_with("kirikae-"),
            "{d}"
        );
        if d["New"] == true {
            *new_requests
                .entry((
                    d["TypeName"].as_str().unwrap().to_string(),
                    d["Identifier"].as_str().unwrap().to_string(),
                ))
                .or_default() += 1;
        }
    }
    let want: BTreeMap<(String, String), usize> =
        leftovers.iter().map(|p| (p.clone(), 1)).collect();
    assert_eq!(new_requests, want, "one deletion request per leftover");
    // The audit log names each deletion's client token, the same in both runs.
    let audit = std::fs::read_to_string(dir.path().join("wide.audit.jsonl")).unwrap();
    let mut tokens: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for l in audit.lines() {
        let l: Value = serde_json::from_str(l).unwrap();
        if l["action"] == "delete" && l["result"] == "started" {
            tokens
                .entry(l["arn"].as_str().unwrap().to_string())
                .or_default()
                .insert(l["client_token"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(tokens.len(), expected.len(), "{audit}");
    assert!(tokens.values().all(|t| t.len() == 1), "{tokens:?}");
    // IAM and network types (the table's `identity` and `network` risk classes) went last: none
    // started before every other item was deleted.
    let last_kinds: Vec<String> = expected
        .keys()
        .filter(|k| {
            let row = risk_of(k.trim_start_matches("cloudcontrol:"));
            row == "identity" || row == "network"
        })
        .cloned()
        .collect();
    assert!(last_kinds.len() >= 3, "{last_kinds:?}");
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let is_last = |l: &Value| last_kinds.iter().any(|k| l["type"] == k.as_str());
    let first_last_started = lines
        .iter()
        .position(|l| is_last(l) && l["action"] == "delete" && l["result"] == "started")
        .expect("the IAM and network items were deleted");
    let last_other_deleted = lines
        .iter()
        .rposition(|l| !is_last(l) && l["action"] == "delete" && l["result"] == "deleted")
        .unwrap();
    assert!(
        last_other_deleted < first_last_started,
        "IAM/network went before the rest: {audit}"
    );

    // 4. What was not planned survives: every decoy, the stack's resource, the data-bearing
    //    leftovers and the billing group the wrong mapping read.
    let mut kept: Vec<(String, String)> = seeded
        .iter()
        .map(|(t, e)| {
            (
                t.clone(),
                e["decoy"]["identifier"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for t in DATA_TYPES {
        kept.push((
            t.to_string(),
            seeded[*t]["leftover"]["identifier"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
    }
    kept.push(("AWS::IoT::ThingType".into(), "cc-stack-tt".into()));
    kept.push((
        "AWS::IoT::BillingGroup".into(),
        "cc-lef-iot-thingtype".into(),
    ));
    let alive = readable(&emu, &kept);
    let gone: Vec<&(String, String)> = kept
        .iter()
        .zip(alive)
        .filter(|(_, a)| !a)
        .map(|(k, _)| k)
        .collect();
    assert!(gone.is_empty(), "deleted but not planned: {gone:?}");
}
