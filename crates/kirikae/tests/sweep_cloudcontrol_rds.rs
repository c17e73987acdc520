//! `kirikae sweep` against the local emulator: resources of types kirikae does not know, deleted
//! through AWS Cloud Control only with `scan --cloud-control`; RDS deletion protection and final
//! snapshots.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{run, text, Emulator, PROD_CLIENT};

/// Runs Python with the emulator's package, `sys.argv[1]` the endpoint; `c(service)` is a client
/// acting in the prod account.
fn python(emu: &Emulator, code: &str, args: &[&str]) -> String {
    emu.python(&format!("{PROD_CLIENT}{code}"), args)
}

fn json(o: &Output) -> Value {
    let (out, err) = text(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}{err}"))
}

fn scan(config: &Path, out: &Path, tag: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "sweep",
        "scan",
        "--account",
        "prod",
        "--tag",
        tag,
        "--out",
        out.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(config, &args);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    json(&o)
}

fn mark(config: &Path, plan: &Path) {
    let o = run(config, &["sweep", "mark", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
}

fn apply(config: &Path, plan: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "sweep",
        "apply",
        plan.to_str().unwrap(),
        "--output",
        "json",
        "--yes",
        "--confirm",
        "shop-prod",
    ];
    args.extend_from_slice(extra);
    let o = run(config, &args);
    (o.status.code(), json(&o))
}

fn plan_json(plan: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap()
}

fn reason<'a>(report: &'a Value, list: &str, id: &str) -> &'a str {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}: {report}"))["reason"]
        .as_str()
        .unwrap()
}

fn audit(plan: &Path) -> Vec<Value> {
    let path = plan.with_file_name(format!(
        "{}.audit.jsonl",
        plan.file_stem().unwrap().to_str().unwrap()
    ));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const CC_WORLD: &str = "\
c('iam').create_account_alias(AccountAlias='shop-prod')
tags=[{'Key':'owner','Value':'cc-test'}]
c('sqs').create_queue(QueueName='cc-old-jobs', tags={'owner':'cc-test'})
ssm=c('ssm')
ssm.put_parameter(Name='/cc-old/db/url', Value='mysql://old', Type='String', Tags=tags)
ssm.create_document(Name='cc-old-doc', Content=json.dumps({'schemaVersion':'2.2','description':'x','mainSteps':[]}), DocumentType='Command', Tags=tags)
sm=c('stepfunctions').create_state_machine(name='cc-old-flow', definition='{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}', roleArn='arn:aws:iam::111111111111:role/cc-old-flow', tags=[{'key':'owner','value':'cc-test'}])
print(sm['stateMachineArn'])";

fn parameter_value(emu: &Emulator) -> String {
    python(
        emu,
        "try:\n    print(c('ssm').get_parameter(Name='/cc-old/db/url')['Parameter']['Value'])\nexcept c('ssm').exceptions.ParameterNotFound:\n    print('gone')",
        &[],
    )
}

fn machines(emu: &Emulator) -> String {
    python(
        emu,
        "print(','.join(m['name'] for m in c('stepfunctions').list_state_machines()['stateMachines']))",
        &[],
    )
}

#[test]
fn unknown_types_are_listed_only_unless_cloud_control_reads_them() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let machine_arn = python(&emu, CC_WORLD, &[]);

    // Without --cloud-control: the queue is an item, the rest is listed only and survives.
    let plan = dir.path().join("plain.json");
    let s = scan(&config, &plan, "owner=cc-test", &[]);
    assert_eq!(s["items"], 1, "{s}");
    assert_eq!(s["unknown"], 3, "{s}");
    let o = run(&config, &["sweep", "show", plan.to_str().unwrap()]);
    assert!(
        text(&o).0.contains("listed only, never deleted"),
        "{:?}",
        text(&o)
    );
    mark(&config, &plan);
    let (code, report) = apply(&config, &plan, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["deleted"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["deleted"][0]["type"], "sqs:queue", "{report}");
    assert_eq!(parameter_value(&emu), "mysql://old");
    assert_eq!(machines(&emu), "cc-old-flow");

    // With it: the parameter and the state machine are planned; the document's shape is in the
    // type table, but the emulator's Cloud Control cannot read a document moto made itself, so
    // it stays listed only, with the reason.
    let plan = dir.path().join("cc.json");
    let s = scan(&config, &plan, "owner=cc-test", &["--cloud-control"]);
    assert_eq!(s["items"], 2, "{s}");
    assert_eq!(s["unknown"], 1, "{s}");
    let p = plan_json(&plan);
    let kinds: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"cloudcontrol:AWS::SSM::Parameter")
            && kinds.contains(&"cloudcontrol:AWS::StepFunctions::StateMachine"),
        "{kinds:?}"
    );
    let param = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "cloudcontrol:AWS::SSM::Parameter")
        .unwrap();
    assert_eq!(param["id"], "/cc-old/db/url");
    assert_eq!(param["properties"]["Value"], "mysql://old");
    assert!(p["unknown"][0]["arn"]
        .as_str()
        .unwrap()
        .contains(":document/cc-old-doc"));
    assert!(
        p["unknown"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Cloud Control cannot read it"),
        "{p}"
    );
    mark(&config, &plan);
    let o = run(&config, &["sweep", "show", plan.to_str().unwrap()]);
    assert!(
        text(&o)
            .0
            .contains("through AWS Cloud Control: edges from the properties it returned"),
        "{:?}",
        text(&o)
    );

    // The parameter changes after the review: skipped; the state machine goes.
    python(
        &emu,
        "c('ssm').put_parameter(Name='/cc-old/db/url', Value='mysql://new', Type='String', Overwrite=True)",
        &[],
    );
    let (code, report) = apply(&config, &plan, &[]);
    assert_eq!(code, Some(1), "{report}");
    let why = reason(&report, "skipped", "/cc-old/db/url");
    assert!(
        why.contains("changed since the plan was made") && why.contains("mysql://new"),
        "{why}"
    );
    reason(&report, "deleted", &machine_arn);
    assert_eq!(parameter_value(&emu), "mysql://new");
    assert_eq!(machines(&emu), "");
    let log = audit(&plan);
    assert!(
        log.iter().any(|l| l["action"] == "delete"
            && l["result"] == "deleted"
            && l["type"] == "cloudcontrol:AWS::StepFunctions::StateMachine"
            && l["arn"] == machine_arn.as_str()),
        "{log:?}"
    );

    // Reviewed again as it is now, it goes too.
    let plan = dir.path().join("cc2.json");
    let s = scan(&config, &plan, "owner=cc-test", &["--cloud-control"]);
    assert_eq!(s["items"], 1, "{s}");
    mark(&config, &plan);
    let (code, report) = apply(&config, &plan, &[]);
    assert_eq!(code, Some(0), "{report}");
    reason(&report, "deleted", "/cc-old/db/url");
    assert_eq!(parameter_value(&emu), "gone");
}

const DB_WORLD: &str = "\
c('iam').create_account_alias(AccountAlias='shop-prod')
rds=c('rds')
tags=[{'Key':'owner','Value':'db-test'}]
rds.create_db_cluster(DBClusterIdentifier='dbt-orders', Engine='aurora-mysql', EngineVersion='8.0.mysql_aurora.3.05.2', MasterUsername='admin', MasterUserPassword='dbt-orders-pw-1', DeletionProtection=sys.argv[2]=='cluster', Tags=tags)
for i in range(2):
    rds.create_db_instance(DBInstanceIdentifier=f'dbt-orders-{i}', DBClusterIdentifier='dbt-orders', Engine='aurora-mysql', DBInstanceClass='db.t4g.medium', Tags=tags)
rds.create_db_instance(DBInstanceIdentifier='dbt-reports', Engine='mysql', DBInstanceClass='db.t3.micro', AllocatedStorage=20, MasterUsername='admin', MasterUserPassword='dbt-reports-pw-1', DeletionProtection=sys.argv[2]=='instance', Tags=tags)";

/// What RDS has now of this test's (`dbt-*`; the story has databases of its own): instances,
/// clusters, manual DB snapshots, manual cluster snapshots (names, sorted).
fn databases(emu: &Emulator) -> Value {
    let out = python(
        emu,
        "rds=c('rds')\n\
         print(json.dumps({\
         'instances': sorted(d['DBInstanceIdentifier'] for d in rds.describe_db_instances()['DBInstances'] if d['DBInstanceIdentifier'].startswith('dbt-')),\
         'clusters': sorted(d['DBClusterIdentifier'] for d in rds.describe_db_clusters()['DBClusters'] if d['DBClusterIdentifier'].startswith('dbt-')),\
         'snapshots': sorted(d['DBSnapshotIdentifier'] for d in rds.describe_db_snapshots(SnapshotType='manual')['DBSnapshots'] if d['DBSnapshotIdentifier'].startswith('dbt-')),\
         'cluster_snapshots': sorted(d['DBClusterSnapshotIdentifier'] for d in rds.describe_db_cluster_snapshots(SnapshotType='manual')['DBClusterSnapshots'] if d['DBClusterSnapshotIdentifier'].startswith('dbt-'))}))",
        &[],
    );
    serde_json::from_str(&out).unwrap()
}

fn snapshot_named(why: &str, prefix: &str) -> String {
    let start = why
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {why:?}"));
    why[start..].split([';', ' ']).next().unwrap().to_string()
}

#[test]
fn a_protected_cluster_stays_whole_without_the_flag_and_leaves_a_final_snapshot_with_it() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    python(&emu, DB_WORLD, &["cluster"]);
    let plan = dir.path().join("db.json");
    let s = scan(&config, &plan, "owner=db-test", &[]);
    assert_eq!(s["items"], 4, "{s}");
    mark(&config, &plan);

    // Without --disable-protection: the cluster and its instances stay, nothing is called for
    // them; the unprotected instance goes, with a final snapshot whose name is reported.
    let (code, report) = apply(&config, &plan, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        reason(&report, "skipped", "dbt-orders").contains("pass --disable-protection"),
        "{report}"
    );
    for i in ["dbt-orders-0", "dbt-orders-1"] {
        assert!(
            reason(&report, "skipped", i).contains("part of dbt-orders"),
            "{report}"
        );
    }
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
    let reports_snapshot = snapshot_named(
        reason(&report, "deleted", "dbt-reports"),
        "dbt-reports-final-",
    );
    let now = databases(&emu);
    assert_eq!(
        now["instances"],
        serde_json::json!(["dbt-orders-0", "dbt-orders-1"]),
        "{now}"
    );
    assert_eq!(now["clusters"], serde_json::json!(["dbt-orders"]), "{now}");
    assert_eq!(
        now["snapshots"],
        serde_json::json!([reports_snapshot]),
        "{now}"
    );
    assert!(!audit(&plan)
        .iter()
        .any(|l| l["id"] == "dbt-orders" && l["action"] != "check"));

    // With it: protection is turned off (logged), the cluster and its instances are deleted,
    // and the cluster's final snapshot is there.
    let (code, report) = apply(&config, &plan, &["--disable-protection"]);
    assert_eq!(code, Some(0), "{report}");
    let cluster_snapshot = snapshot_named(
        reason(&report, "deleted", "dbt-orders"),
        "dbt-orders-final-",
    );
    reason(&report, "deleted", "dbt-orders-0");
    let log = audit(&plan);
    assert!(
        log.iter().any(|l| l["id"] == "dbt-orders"
            && l["action"] == "prepare"
            && l["reason"]
                .as_str()
                .unwrap_or("")
                .contains("deletion protection turned off")),
        "{log:?}"
    );
    let now = databases(&emu);
    assert_eq!(now["instances"], serde_json::json!([]), "{now}");
    assert_eq!(now["clusters"], serde_json::json!([]), "{now}");
    assert_eq!(
        now["cluster_snapshots"],
        serde_json::json!([cluster_snapshot]),
        "{now}"
    );
}

#[test]
fn skip_final_snapshot_leaves_none_and_a_protected_instance_needs_the_flag() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    python(&emu, DB_WORLD, &["instance"]);
    let plan = dir.path().join("db.json");
    scan(&config, &plan, "owner=db-test", &[]);
    mark(&config, &plan);

    let (code, report) = apply(&config, &plan, &["--skip-final-snapshot"]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        reason(&report, "skipped", "dbt-reports").contains("pass --disable-protection"),
        "{report}"
    );
    assert!(
        reason(&report, "deleted", "dbt-orders").contains("--skip-final-snapshot"),
        "{report}"
    );
    let (code, report) = apply(
        &config,
        &plan,
        &["--skip-final-snapshot", "--disable-protection"],
    );
    assert_eq!(code, Some(0), "{report}");
    assert!(
        reason(&report, "deleted", "dbt-reports").contains("no final snapshot"),
        "{report}"
    );
    let now = databases(&emu);
    assert_eq!(
        now,
        serde_json::json!({"instances": [], "clusters": [], "snapshots": [], "cluster_snapshots": []})
    );
    assert!(audit(&plan).iter().any(|l| l["id"] == "dbt-reports"
        && l["action"] == "prepare"
        && l["reason"]
            .as_str()
            .unwrap_or("")
            .contains("deletion protection turned off")));
}
