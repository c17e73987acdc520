//! `kirikae sweep --cloud-control` dependencies against the emulator: an edge found in the
//! properties Cloud Control returned orders the deletions; a parent with a child outside the
//! plan is held back and survives; a global type (IAM) seen from two regions is deleted once;
//! Cloud Control throttling under the one shared limiter still lets apply finish.

mod support;

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use support::{kirikae, run, text, Emulator, PROD_CLIENT};

const TAG: &str = "owner=cc-deps";

/// Runs Python with the emulator's package, `sys.argv[1]` the endpoint; `c(service)` is a client
/// acting in the prod account, `cc_make(type, desired)` creates through Cloud Control and
/// returns the identifier. World builders start with [`ALIAS`].
fn python(emu: &Emulator, code: &str) -> String {
    let extra = "def cc_make(t, d):\n    return c('cloudcontrol').create_resource(TypeName=t, DesiredState=json.dumps(d))['ProgressEvent']['Identifier']\n\
                 TAGS = [{'Key': 'owner', 'Value': 'cc-deps'}]\n";
    emu.python(&format!("{PROD_CLIENT}{extra}{code}"), &[])
}

/// The prod account's alias, which apply confirms.
const ALIAS: &str = "c('iam').create_account_alias(AccountAlias='shop-prod')\n";

fn scan(config: &Path, plan: &Path, regions: &[&str]) -> Value {
    let mut args = vec![
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
    ];
    for r in regions {
        args.extend(["--region", r]);
    }
    let o = run(config, &args);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = run(config, &["sweep", "mark", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap()
}

fn apply(config: &Path, plan: &Path) -> Value {
    let (code, report) = apply_code(config, plan);
    assert_eq!(code, Some(0), "{report}");
    report
}

fn apply_code(config: &Path, plan: &Path) -> (Option<i32>, Value) {
    let o = kirikae()
        .args([
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
        ])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    let report = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    (o.status.code(), report)
}

/// The emulator's Cloud Control deletion log: (type, identifier) of each new request, in order.
fn deletions(emu: &Emulator) -> Vec<(String, String)> {
    let log: Value = serde_json::from_str(&python(
        emu,
        "import urllib.request\nprint(urllib.request.urlopen(sys.argv[1] + '/_kirikae/cloudcontrol/log').read().decode())",
    ))
    .unwrap();
    log["deletes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["New"] == true)
        .map(|d| {
            (
                d["TypeName"].as_str().unwrap().to_string(),
                d["Identifier"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn item<'a>(plan: &'a Value, kind: &str) -> &'a Value {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {plan}"))
}

#[test]
fn a_rule_on_a_bus_is_deleted_before_the_bus_it_names() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let rule = python(
        &emu,
        &[
            ALIAS,
            "cc_make('AWS::Events::EventBus', {'Name': 'cc-old-bus', 'Tags': TAGS})\n\
             print(cc_make('AWS::Events::Rule', {'Name': 'cc-old-rule', 'EventBusName': 'cc-old-bus', \
             'EventPattern': {'source': ['old']}, 'Tags': TAGS}))",
        ]
        .concat(),
    );
    let plan_path = dir.path().join("deps.json");
    let plan = scan(&config, &plan_path, &[]);
    let bus = item(&plan, "cloudcontrol:AWS::Events::EventBus");
    let r = item(&plan, "cloudcontrol:AWS::Events::Rule");
    assert_eq!(r["id"], rule.as_str());
    // The plan carries the edge the rule's EventBusName gives, and show names it.
    assert_eq!(r["depends_on"], serde_json::json!([bus["arn"]]), "{plan}");
    assert_eq!(bus["depends_on"], serde_json::json!([]), "{plan}");
    let o = run(&config, &["sweep", "show", plan_path.to_str().unwrap()]);
    let (shown, _) = text(&o);
    assert!(
        shown.contains("before: cc-old-bus") && !shown.contains("no dependencies known"),
        "{shown}"
    );

    let report = apply(&config, &plan_path);
    assert_eq!(report["deleted"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(
        deletions(&emu),
        [
            ("AWS::Events::Rule".to_string(), rule.clone()),
            (
                "AWS::Events::EventBus".to_string(),
                "cc-old-bus".to_string()
            )
        ]
    );
}

#[test]
fn a_rest_api_with_a_resource_outside_the_plan_is_held_back_and_survives() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let ids: Value = serde_json::from_str(&python(
        &emu,
        &[
            ALIAS,
            "held = cc_make('AWS::ApiGateway::RestApi', {'Name': 'cc-old-api', 'Tags': TAGS})\n\
         free = cc_make('AWS::ApiGateway::RestApi', {'Name': 'cc-old-free', 'Tags': TAGS})\n\
         ag = c('apigateway')\n\
         root = ag.get_resources(restApiId=held)['items'][0]['id']\n\
         kid = ag.create_resource(restApiId=held, parentId=root, pathPart='orders')['id']\n\
         print(json.dumps({'held': held, 'free': free, 'kid': kid}))",
        ]
        .concat(),
    ))
    .unwrap();
    let (held, free, kid) = (
        ids["held"].as_str().unwrap(),
        ids["free"].as_str().unwrap(),
        ids["kid"].as_str().unwrap(),
    );
    let plan_path = dir.path().join("apis.json");
    let plan = scan(&config, &plan_path, &[]);
    let planned: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(planned, [free], "{plan}");
    let why = plan["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["arn"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/restapis/{held}"))
        })
        .unwrap_or_else(|| panic!("the held-back API is not listed: {plan}"))["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("held back")
            && why.contains(&format!("AWS::ApiGateway::Resource {held}|{kid}")),
        "{why}"
    );

    let report = apply(&config, &plan_path);
    assert_eq!(report["deleted"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        deletions(&emu),
        [("AWS::ApiGateway::RestApi".to_string(), free.to_string())]
    );
    let alive = python(
        &emu,
        &format!(
            "print(json.dumps([r['id'] for r in c('apigateway').get_resources(restApiId='{held}')['items']]))"
        ),
    );
    assert!(alive.contains(kid), "{alive}");
}

#[test]
fn an_iam_user_seen_from_two_regions_is_deleted_once_from_the_first() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    python(
        &emu,
        &[
            ALIAS,
            "cc_make('AWS::IAM::User', {'UserName': 'cc-old-user', 'Tags': TAGS})",
        ]
        .concat(),
    );
    let plan_path = dir.path().join("global.json");
    let plan = scan(&config, &plan_path, &["ap-northeast-1", "us-east-1"]);
    let users: Vec<&Value> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "cloudcontrol:AWS::IAM::User")
        .collect();
    assert_eq!(users.len(), 1, "{plan}");
    assert_eq!(users[0]["region"], "ap-northeast-1");
    let from = users[0]["properties"]["deleted_from"].as_str().unwrap();
    assert!(
        from.starts_with("ap-northeast-1") && from.contains("also found in us-east-1"),
        "{from}"
    );
    let o = run(&config, &["sweep", "show", plan_path.to_str().unwrap()]);
    assert!(
        text(&o).0.contains("deleted from: ap-northeast-1"),
        "{:?}",
        text(&o)
    );

    let report = apply(&config, &plan_path);
    assert_eq!(report["deleted"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        deletions(&emu),
        [("AWS::IAM::User".to_string(), "cc-old-user".to_string())]
    );
}

#[test]
fn throttled_cloud_control_calls_back_off_under_the_shared_limit_and_finish() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    python(
        &emu,
        &[ALIAS, "for i in range(6):\n    cc_make('AWS::SSM::Parameter', {'Name': f'/cc-old/p{i}', 'Type': 'String', 'Value': 'x', 'Tags': TAGS})\n\
         cc_make('AWS::IAM::User', {'UserName': 'cc-old-user', 'Tags': TAGS})"].concat(),
    );
    let plan_path = dir.path().join("throttled.json");
    scan(&config, &plan_path, &["ap-northeast-1", "us-east-1"]);
    // More throttles in a row than the SDK's own retries take: kirikae's limiter backs off.
    for op in ["DeleteResource", "GetResourceRequestStatus"] {
        emu.fault(&format!(
            r#"{{"service":"cloudcontrolapi","operation":"{op}","nth":1,"times":6,"error":"ThrottlingException","status":400,"message":"Rate exceeded"}}"#
        ));
    }
    let report = apply(&config, &plan_path);
    assert_eq!(report["deleted"].as_array().unwrap().len(), 7, "{report}");
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(emu.fault_hits(), [6, 6]);
    assert_eq!(deletions(&emu).len(), 7);
}

#[test]
fn a_conflict_is_retried_while_others_progress_then_stops_with_the_reason() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    python(
        &emu,
        &[ALIAS, "for i in range(2):\n    cc_make('AWS::SSM::Parameter', {'Name': f'/cc-old/p{i}', 'Type': 'String', 'Value': 'x', 'Tags': TAGS})"].concat(),
    );
    let plan_path = dir.path().join("conflict.json");
    scan(&config, &plan_path, &[]);
    // The first deletion request conflicts; the other item goes, then the first is sent again.
    emu.fault(r#"{"service":"cloudcontrolapi","operation":"DeleteResource","nth":1,"times":1,"error":"ResourceConflictException","status":400,"message":"the resource is being modified"}"#);
    let report = apply(&config, &plan_path);
    assert_eq!(report["deleted"].as_array().unwrap().len(), 2, "{report}");
    let audit = std::fs::read_to_string(dir.path().join("conflict.audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let retried = lines
        .iter()
        .find(|l| l["result"] == "failed")
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(
        retried["reason"]
            .as_str()
            .unwrap()
            .contains("looks like a dependency"),
        "{audit}"
    );
    let tokens: Vec<&str> = lines
        .iter()
        .filter(|l| l["arn"] == retried["arn"] && l["result"] == "started")
        .map(|l| l["client_token"].as_str().unwrap())
        .collect();
    assert!(tokens.len() == 2 && tokens[0] != tokens[1], "{audit}");

    // Alone in its plan, an item that keeps conflicting stops once nothing else is under way.
    python(
        &emu,
        "cc_make('AWS::SSM::Parameter', {'Name': '/cc-old/stuck', 'Type': 'String', 'Value': 'x', 'Tags': TAGS})",
    );
    let stuck = dir.path().join("stuck.json");
    scan(&config, &stuck, &[]);
    emu.fault(r#"{"service":"cloudcontrolapi","operation":"DeleteResource","nth":1,"times":0,"error":"ResourceConflictException","status":400,"message":"the resource is being modified"}"#);
    let (code, report) = apply_code(&config, &stuck);
    assert_ne!(code, Some(0), "{report}");
    let why = report["failed"][0]["reason"].as_str().unwrap_or("");
    assert!(
        why.contains("ResourceConflictException") && why.contains("none is left"),
        "{report}"
    );
}
