//! `kirikae sweep` against the local emulator seeded with the story's world and its 191
//! leftovers in the prod account (`seed leftovers`: 36 types, tagged owner=old-monolith, next to
//! resources that are not leftovers, tagged app=shop).

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{edit, run, text, Emulator};

fn python(emu: &Emulator, code: &str, args: &[&str]) -> String {
    emu.python(code, args)
}

/// The story's world plus its leftovers; returns the config.
fn story_with_leftovers(emu: &Emulator, dir: &Path) -> std::path::PathBuf {
    let config = emu.seed_story(dir);
    let n = python(
        emu,
        "import sys; from kirikae_emulator.sweep_fixture import seed_leftovers; \
         print(seed_leftovers(sys.argv[1])['leftovers'])",
        &[],
    );
    assert_eq!(n, "191");
    config
}

/// The emulator's call counter: (total, {"service operation": n}, {"service operation code": n}).
fn calls(emu: &Emulator) -> Value {
    let out = python(
        emu,
        "import sys,urllib.request as u; print(u.urlopen(sys.argv[1]+'/_kirikae/calls').read().decode())",
        &[],
    );
    serde_json::from_str(&out).unwrap()
}

fn reset_calls(emu: &Emulator) {
    python(
        emu,
        "import sys,urllib.request as u; u.urlopen(u.Request(sys.argv[1]+'/_kirikae/calls', method='DELETE')).read()",
        &[],
    );
}

/// How many deletion calls the emulator answered since the last reset.
fn deletions(emu: &Emulator) -> u64 {
    let c = calls(emu);
    c["calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            k.contains(" Delete") || k.contains(" Terminate") || k.contains(" Release")
                // REST services (S3, Lambda) are counted by method and path shape.
                || k.contains(" DELETE ")
        })
        .map(|(_, v)| v.as_u64().unwrap())
        .sum()
}

fn json(o: &Output) -> Value {
    let (out, err) = text(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}{err}"))
}

fn scan(config: &Path, out: &Path, tag: &str) -> Value {
    let o = run(
        config,
        &[
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
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    json(&o)
}

fn mark(config: &Path, plan: &Path) {
    let o = run(config, &["sweep", "mark", plan.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("Tagged 191 items"), "{out}");
    assert!(
        out.contains("Resource Group: arn:aws:resource-groups:"),
        "{out}"
    );
}

fn apply_json(config: &Path, plan: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "apply", plan.to_str().unwrap(), "--output", "json"];
    args.extend_from_slice(extra);
    run(config, &args)
}

#[test]
fn the_story_scan_mark_show_apply_deletes_exactly_the_191() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let plan = dir.path().join("plan.json");

    let scanned = scan(&config, &plan, "owner=old-monolith");
    assert_eq!(scanned["items"], 191, "{scanned}");
    let keep_before = scan(&config, &dir.path().join("keep.json"), "app=shop")["items"]
        .as_u64()
        .unwrap();
    assert!(keep_before >= 8, "{keep_before}");
    let plan_json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let plan_id = plan_json["id"].as_str().unwrap().to_string();
    let kinds: std::collections::BTreeSet<&str> = plan_json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert!(kinds.len() >= 12, "{kinds:?}");
    // The NAT gateway names its subnet and address; the instances their security groups.
    let nat = plan_json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "ec2:nat-gateway")
        .unwrap();
    let deps: Vec<&str> = nat["depends_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(deps.iter().any(|d| d.contains(":subnet/")), "{deps:?}");
    assert!(deps.iter().any(|d| d.contains(":elastic-ip/")), "{deps:?}");
    for kind in [
        "lambda:function",
        "cloudwatch:alarm",
        "ecr:repository",
        "autoscaling:group",
        "elasticache:cluster",
    ] {
        assert!(kinds.contains(kind), "{kind} not in {kinds:?}");
    }
    let item = |kind: &str, id: &str| -> &Value {
        plan_json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == kind && i["id"] == id)
            .unwrap_or_else(|| panic!("{kind} {id} not in the plan"))
    };
    let deps_of = |i: &Value| -> Vec<String> {
        i["depends_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect()
    };
    // The group goes before its launch template, its subnets and the instance it launched.
    let group = deps_of(item("autoscaling:group", "old-web"));
    assert!(
        group.iter().any(|d| d.contains(":launch-template/")),
        "{group:?}"
    );
    assert_eq!(
        group.iter().filter(|d| d.contains(":subnet/")).count(),
        2,
        "{group:?}"
    );
    assert!(group.iter().any(|d| d.contains(":instance/")), "{group:?}");
    // A function goes before its role and, in a VPC, its subnets and security group.
    let function = deps_of(item("lambda:function", "old-report-0"));
    assert!(
        function.iter().any(|d| d.ends_with(":role/old-batch-0")),
        "{function:?}"
    );
    assert!(
        function.iter().any(|d| d.contains(":subnet/")),
        "{function:?}"
    );
    assert!(
        function.iter().any(|d| d.contains(":security-group/")),
        "{function:?}"
    );
    let cache = deps_of(item("elasticache:cluster", "old-sessions"));
    assert!(
        cache.iter().any(|d| d.contains(":security-group/")),
        "{cache:?}"
    );
    let repo = item("ecr:repository", "old/service-0");
    assert_eq!(repo["properties"]["images"], "1", "{repo}");

    mark(&config, &plan);

    // Review: a table, CSV and one self-contained HTML page.
    let o = run(&config, &["sweep", "show", plan.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert!(out.contains("191 items"), "{out}");
    assert!(out.contains("ec2:nat-gateway: 1"), "{out}");
    let o = run(
        &config,
        &["sweep", "show", plan.to_str().unwrap(), "--output", "csv"],
    );
    assert_eq!(text(&o).0.lines().count(), 192);
    let page = dir.path().join("review.html");
    let o = run(
        &config,
        &[
            "sweep",
            "show",
            plan.to_str().unwrap(),
            "--output",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("old-vpc"));
    // The review page (its behaviour in a browser: sweep_review_page.rs): loads nothing, and
    // says so to the browser; every item a row with its console page through the prod
    // account's switch-role link; the plan sealed; a deletion order and the totals.
    assert!(
        html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;;"
        ),
        "no CSP"
    );
    assert!(!html.contains(" src=") && !html.contains("<link") && !html.contains("url("));
    assert_eq!(html.matches("<tr data-arn=").count(), 191);
    let prod_id = plan_json["account"]["id"].as_str().unwrap();
    let switch_role = format!(
        "href=\"https://signin.aws.amazon.com/switchrole?account={prod_id}&amp;roleName=ops&amp;displayName=shop-prod&amp;redirect_uri=https%3A%2F%2F"
    );
    assert_eq!(html.matches(&switch_role).count(), 191, "console links");
    assert!(html.contains("data-integrity=\"intact\""));
    assert!(html.contains("<b id=\"t-items\">191</b>"));
    assert!(html.contains("<li value=\"1\" data-level=\"1\"><details><summary>level 1 ("));
    assert!(
        html.contains("--confirm shop-prod"),
        "the protected account's notice"
    );
    // ... and in headless Chromium: every item listed, the VPCs filtered out of them, nothing
    // requested but the page.
    let shown = browser::out_dir().join("emulator-review.html");
    std::fs::copy(&page, &shown).unwrap();
    let vpcs = plan_json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "ec2:vpc")
        .count();
    assert!(vpcs > 0);
    let mut steps = Vec::new();
    browser::visible(&mut steps, "all");
    steps.push(serde_json::json!({"choose": "#f-type", "value": "ec2:vpc"}));
    browser::visible(&mut steps, "vpcs");
    steps.push(serde_json::json!({"screenshot": browser::out_dir().join("emulator-review.png")}));
    let report = browser::browse(&shown, Value::Array(steps));
    browser::assert_no_network(&report, &shown);
    assert_eq!(browser::rows(&report, "all").len(), 191);
    let rows = browser::rows(&report, "vpcs");
    assert_eq!(rows.len(), vpcs);
    assert!(rows.iter().all(|r| r[1] == "ec2:vpc"));

    // A resource that is not a leftover gets the plan's tag after the plan was made.
    python(
        &emu,
        "import sys,boto3; c=boto3.client('s3',region_name='ap-northeast-1',endpoint_url=sys.argv[1],\
         aws_access_key_id='AKIAKIRIKAEBOOTSTRAP',aws_secret_access_key='x'*40); \
         c.meta.events.register('before-sign', lambda request, **_: request.headers.__setitem__('x-moto-account-id','111111111111')); \
         c.put_bucket_tagging(Bucket='old-shop-assets',Tagging={'TagSet':[{'Key':'app','Value':'shop'},{'Key':'kirikae:sweep','Value':sys.argv[2]}]})",
        &[&plan_id],
    );

    // A dry run deletes nothing; a protected account needs its real alias.
    reset_calls(&emu);
    let o = apply_json(&config, &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(json(&o)["dry_run"], true);
    let o = run(
        &config,
        &["sweep", "apply", plan.to_str().unwrap(), "--yes"],
    );
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("--confirm shop-prod"), "{:?}", text(&o));
    // A wrong alias is refused like a missing one (exit 2: nothing ran), as in `refresh run`.
    // With --output json the refusal is a JSON error on stdout.
    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-dev"]);
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    let refusal = json(&o);
    assert_eq!(refusal["error"]["kind"], "not_confirmed", "{refusal}");
    let message = refusal["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not match"), "{refusal}");
    assert_eq!(deletions(&emu), 0);

    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-prod"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert_eq!(report["deleted"].as_array().unwrap().len(), 191, "{report}");
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 0, "{report}");
    let c = calls(&emu);
    assert_eq!(c["errors"], serde_json::json!({}), "no error at all: {c}");
    let reason = |kind: &str, id: &str| -> String {
        report["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["type"] == kind && d["id"] == id)
            .unwrap_or_else(|| panic!("{kind} {id} not deleted: {report}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("ecr:repository", "old/service-0").contains("its 1 images"));

    // Nothing else was touched: the shop (and the bucket tagged after the plan) is all there.
    let keep_after = scan(&config, &dir.path().join("keep2.json"), "app=shop")["items"]
        .as_u64()
        .unwrap();
    assert_eq!(keep_after, keep_before);
    let rescan = scan(
        &config,
        &dir.path().join("again.json"),
        "owner=old-monolith",
    );
    assert_eq!(rescan["items"], 0, "{rescan}");

    // The audit log has one line per deletion with the description before deletion.
    let log = std::fs::read_to_string(dir.path().join("plan.audit.jsonl")).unwrap();
    let deleted: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["action"] == "delete" && l["result"] == "deleted")
        .collect();
    assert_eq!(deleted.len(), 191);
    assert!(log.contains("\"description\":\"ec2:vpc "), "{log}");
    // What a deletion did besides the call is logged before it is confirmed.
    assert!(
        log.lines().any(|l| l.contains("\"action\":\"prepare\"")
            && l.contains(":autoScalingGroupName/old-web\"")
            && l.contains("terminates its 1 instances")),
        "{log}"
    );
}

#[test]
fn an_apply_killed_halfway_resumes_without_deleting_anything_twice() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let plan = dir.path().join("plan.json");
    scan(&config, &plan, "owner=old-monolith");
    mark(&config, &plan);

    reset_calls(&emu);
    let mut c = support::kirikae();
    let o = c
        .args([
            "sweep",
            "apply",
            plan.to_str().unwrap(),
            "--yes",
            "--confirm",
            "shop-prod",
        ])
        .arg("--config")
        .arg(&config)
        .env("KIRIKAE_SWEEP_KILL_AFTER", "90")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(137), "{:?}", text(&o));
    let log = std::fs::read_to_string(dir.path().join("plan.audit.jsonl")).unwrap();
    assert!(!log.contains("\"finished\""), "killed before the end");

    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-prod"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    let second = report["deleted"].as_array().unwrap().len();
    let earlier = report["already_gone"].as_array().unwrap().len();
    assert!(second > 0 && second < 191, "{report}");
    assert_eq!(second + earlier, 191, "{report}");
    // Deleting twice would have drawn an error at the emulator (NotFound, or a cluster's
    // InvalidDBClusterStateFault while `deleting`). A deletion still in flight when the kill came
    // is listed as under way (a cluster `deleting` from the moment its DeleteDBCluster is
    // accepted) and confirmed, not sent again.
    let c = calls(&emu);
    assert_eq!(c["errors"], serde_json::json!({}), "no call failed: {c}");
    let log = std::fs::read_to_string(dir.path().join("plan.audit.jsonl")).unwrap();
    // Each item was deleted once over both runs (a call cut off by the kill is sent again only
    // if it never reached AWS: the re-check found the item still there).
    let mut deleted = std::collections::HashSet::new();
    let mut gone = std::collections::HashSet::new();
    for l in log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        let arn = l["arn"].as_str().unwrap_or("").to_string();
        if l["action"] == "delete" && l["result"] == "deleted" {
            assert!(deleted.insert(arn.clone()), "twice: {l}");
        }
        if l["action"] == "delete" && (l["result"] == "deleted" || l["result"] == "gone") {
            gone.insert(arn);
        }
    }
    assert_eq!(gone.len(), 191);
}

#[test]
fn throttling_on_one_call_in_ten_still_completes() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let plan = dir.path().join("plan.json");
    scan(&config, &plan, "owner=old-monolith");
    mark(&config, &plan);

    // Every 10th AWS call from here on is throttled (each fault counts calls on its own).
    for n in (10..=2000).step_by(10) {
        emu.fault(&format!(
            r#"{{"service":"*","nth":{n},"times":1,"error":"Throttling","status":503,"message":"Rate exceeded"}}"#
        ));
    }
    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-prod", "-v"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert_eq!(report["deleted"].as_array().unwrap().len(), 191, "{report}");
    let hits: u64 = emu.fault_hits().iter().sum();
    assert!(hits >= 20, "throttled {hits} times");

    // Off a terminal the deletion's progress is plain lines (done / pending / failed), and -v
    // logs every request in the prod account, the throttled ones with their retries.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("sweep apply: 0/191 done, 0 pending, 0 failed")),
        "{err}"
    );
    // ... and the last of them is the final state, whenever the periodic ones happened to fall.
    assert!(
        err.lines()
            .any(|l| l.starts_with("sweep apply: 191/191 done, 0 pending, 0 failed")),
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    let requests: Vec<&str> = err.lines().filter(|l| l.contains("aws request")).collect();
    assert!(
        requests
            .iter()
            .filter(|l| l.contains("operation=GetCallerIdentity "))
            .count()
            >= 1,
        "{err}"
    );
    let in_prod = requests
        .iter()
        .filter(|l| l.contains("account=111111111111 "))
        .count();
    assert!(in_prod >= 191, "{in_prod} requests logged in prod:\n{err}");
    let field = |name: &str| -> u64 {
        let prefix = format!("{name}=");
        requests
            .iter()
            .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix(prefix.as_str())))
            .map(|v| v.parse::<u64>().unwrap())
            .sum()
    };
    // Every injected fault made its call try again: the retries show in `attempts`. Which of
    // them the SDK classifies as throttling (`throttles`) depends on the service's error format,
    // and which services the faults hit depends on the order of the concurrent deletions.
    let retries = field("attempts") - requests.len() as u64;
    assert!(
        retries >= hits.min(20),
        "{retries} retries logged for {hits} injected throttles:\n{err}"
    );
    let throttled = field("throttles");
    assert!(
        (1..=retries).contains(&throttled),
        "{throttled} throttles logged for {retries} retries"
    );
}

#[test]
fn changed_items_are_skipped_and_users_outside_the_plan_explained_without_a_failing_call() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let plan = dir.path().join("plan.json");
    scan(&config, &plan, "owner=old-monolith");
    mark(&config, &plan);
    let plan_json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let items = plan_json["items"].as_array().unwrap();
    let find = |kind: &str, name: &str| -> String {
        items
            .iter()
            .find(|i| i["type"] == kind && i["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name} not in the plan"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let stopped = find("ec2:instance", "old-app-3");
    let admin_sg = find("ec2:security-group", "old-admin");
    let subnet = find("ec2:subnet", "old-subnet-1");
    let queue = find("sqs:queue", "old-jobs-0");

    // After the review: someone starts a stopped instance again, removes the plan's tag from a
    // queue, and launches a new instance (not in the plan) into the old subnet and group.
    let outsider = python(
        &emu,
        "import sys,boto3\n\
         def c(s):\n\
         \x20   x=boto3.client(s,region_name='ap-northeast-1',endpoint_url=sys.argv[1],aws_access_key_id='AKIAKIRIKAEBOOTSTRAP',aws_secret_access_key='x'*40)\n\
         \x20   x.meta.events.register('before-sign', lambda request, **_: request.headers.__setitem__('x-moto-account-id','111111111111'))\n\
         \x20   return x\n\
         ec2=c('ec2')\n\
         ec2.start_instances(InstanceIds=[sys.argv[2]])\n\
         c('sqs').untag_queue(QueueUrl=sys.argv[5],TagKeys=['kirikae:sweep'])\n\
         ami=ec2.describe_images(Owners=['amazon'],MaxResults=5)['Images'][0]['ImageId']\n\
         r=ec2.run_instances(ImageId=ami,MinCount=1,MaxCount=1,SubnetId=sys.argv[4],SecurityGroupIds=[sys.argv[3]])\n\
         print(r['Instances'][0]['InstanceId'])",
        &[&stopped, &admin_sg, &subnet, &queue],
    );

    reset_calls(&emu);
    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-prod"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |id: &str| -> &str {
        skipped
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r.as_str())
            .unwrap_or_else(|| panic!("{id} not skipped: {report}"))
    };
    assert!(
        reason(&stopped).contains("state stopped -> running"),
        "{}",
        reason(&stopped)
    );
    assert!(reason(&queue).contains("no longer carries the tag"));
    assert!(
        reason(&admin_sg).contains(&outsider) && reason(&admin_sg).contains("not in the plan"),
        "{}",
        reason(&admin_sg)
    );
    assert!(reason(&subnet).contains(&outsider), "{}", reason(&subnet));
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
    // What was not kept is gone, and no call was wasted on a deletion that had to fail.
    let deleted = report["deleted"].as_array().unwrap().len();
    assert_eq!(deleted + skipped.len(), 191, "{report}");
    assert!(deleted > 150, "{report}");
    let c = calls(&emu);
    assert_eq!(c["errors"], serde_json::json!({}), "{c}");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// `kirikae sweep apply <plan> <extra>`: (exit code, stderr).
fn apply_refused(config: &Path, plan: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["sweep", "apply", plan.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(config, &args);
    (o.status.code(), text(&o).1)
}

#[test]
fn protection_and_the_account_come_from_kirikae_toml_and_the_live_account_not_the_plan() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let prod_block = "alias = \"shop-prod\"\nprotected = true\n";
    let unprotected = "alias = \"shop-prod\"\n";

    // (a) Scanned and marked while kirikae.toml lacked `protected = true` for production; applied
    // once it is back. This plan deleted 191 resources with --yes alone before.
    edit(&config, prod_block, unprotected);
    let stale = dir.path().join("stale.json");
    scan(&config, &stale, "owner=old-monolith");
    assert_eq!(read_json(&stale)["account"]["protected"], false);
    mark(&config, &stale);
    edit(&config, unprotected, prod_block);
    reset_calls(&emu);
    for extra in [&["--yes"][..], &["--yes", "--confirm", "shop-prod"], &[]] {
        let (code, err) = apply_refused(&config, &stale, extra);
        assert_eq!(code, Some(2), "{extra:?}: {err}");
        assert!(
            err.contains("the plan says account 111111111111 is not protected")
                && err.contains("([accounts.prod]) says it is protected"),
            "{extra:?}: {err}"
        );
    }

    // A plan scanned with the protection, for the rest.
    let plan = dir.path().join("plan.json");
    scan(&config, &plan, "owner=old-monolith");
    assert_eq!(read_json(&plan)["account"]["protected"], true);
    mark(&config, &plan);

    // (b) The plan edited to say the account is not protected.
    let edited = dir.path().join("edited.json");
    let text_of = std::fs::read_to_string(&plan).unwrap();
    assert!(text_of.contains("\"protected\": true"));
    std::fs::write(
        &edited,
        text_of.replace("\"protected\": true", "\"protected\": false"),
    )
    .unwrap();
    let (code, err) = apply_refused(&config, &edited, &["--yes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("edited.json was changed after scan: its account, protection"),
        "{err}"
    );

    // (e) A plan whose account id is not in kirikae.toml.
    edit(&config, "id = \"111111111111\"", "id = \"333333333333\"");
    let (code, err) = apply_refused(&config, &plan, &["--yes", "--confirm", "shop-prod"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("account 111111111111 is not in"), "{err}");
    edit(&config, "id = \"333333333333\"", "id = \"111111111111\"");

    // A second entry with production's id and no protection: neither scan nor apply go on.
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{original}\n[accounts.prod-old]\nid = \"111111111111\"\nrole = \"ops\"\n"),
    )
    .unwrap();
    let (code, err) = apply_refused(&config, &plan, &["--yes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("prod-old"), "{err}");
    let o = run(
        &config,
        &[
            "sweep",
            "scan",
            "--account",
            "prod-old",
            "--tag",
            "owner=old-monolith",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("prod-old"), "{:?}", text(&o));
    std::fs::write(&config, &original).unwrap();

    // kirikae.toml names another alias than the live account's: refused with both.
    edit(&config, "alias = \"shop-prod\"", "alias = \"shop-prd\"");
    // (the plan's alias is checked against kirikae.toml first, so scan one with this config)
    let other_alias = dir.path().join("other-alias.json");
    scan(&config, &other_alias, "owner=old-monolith");
    let (code, err) = apply_refused(&config, &other_alias, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the alias \"shop-prd\", but its IAM alias is \"shop-prod\""),
        "{err}"
    );
    std::fs::write(&config, &original).unwrap();
    assert_eq!(deletions(&emu), 0, "nothing was deleted by a refused plan");

    // (f) The plan as scanned, with kirikae.toml as it was: a wrong or missing alias is still
    // refused, the right one deletes the 191.
    let (code, err) = apply_refused(&config, &plan, &["--yes"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--confirm shop-prod"), "{err}");
    let o = apply_json(&config, &plan, &["--yes", "--confirm", "shop-prod"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    assert_eq!(report["deleted"].as_array().unwrap().len(), 191, "{report}");
}

#[test]
fn a_plan_changed_by_hand_after_scan_is_refused_naming_the_item() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = story_with_leftovers(&emu, dir.path());
    let plan = dir.path().join("plan.json");
    scan(&config, &plan, "owner=old-monolith");
    mark(&config, &plan);
    let keep = dir.path().join("keep.json");
    let keep_before = scan(&config, &keep, "app=shop")["items"].as_u64().unwrap();
    let sealed = read_json(&plan);
    let plan_id = sealed["id"].as_str().unwrap().to_string();
    let shop_volume = read_json(&keep)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "ec2:volume" && i["name"] == "shop-spare")
        .expect("the shop's spare volume")
        .clone();
    let volume_id = shop_volume["id"].as_str().unwrap().to_string();

    // The issue's probe: a resource that is not a leftover, tagged with the plan's tag by hand
    // and added to the plan file by hand (its item as kirikae scanned it, so its fingerprint is
    // right). This deleted the shop's volume before.
    python(
        &emu,
        "import sys,boto3; c=boto3.client('ec2',region_name='ap-northeast-1',endpoint_url=sys.argv[1],\
         aws_access_key_id='AKIAKIRIKAEBOOTSTRAP',aws_secret_access_key='x'*40); \
         c.meta.events.register('before-sign', lambda request, **_: request.headers.__setitem__('x-moto-account-id','111111111111')); \
         c.create_tags(Resources=[sys.argv[2]],Tags=[{'Key':'kirikae:sweep','Value':sys.argv[3]}])",
        &[&volume_id, &plan_id],
    );
    let mut added_item = shop_volume.clone();
    added_item["mark"] = sealed["items"][0]["mark"].clone();
    reset_calls(&emu);

    // (c) An item added by hand, with no digest of its own or with the digest of another plan.
    let added = dir.path().join("added.json");
    for digest in [Value::Null, shop_volume["digest"].clone()] {
        let mut v = sealed.clone();
        let mut item = added_item.clone();
        match &digest {
            Value::Null => {
                item.as_object_mut().unwrap().remove("digest");
            }
            d => item["digest"] = d.clone(),
        }
        v["items"].as_array_mut().unwrap().push(item);
        write_json(&added, &v);
        let (code, err) = apply_refused(&config, &added, &["--yes", "--confirm", "shop-prod"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "added.json was changed after scan: item ec2:volume {volume_id}"
            )) && err.contains("scan` again"),
            "{err}"
        );
    }
    // Review still works, and says so; mark refuses to seal the change in.
    let o = run(&config, &["sweep", "show", added.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("Digest: CHANGED after scan"), "{out}");
    let o = run(&config, &["sweep", "mark", added.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(
        text(&o).1.contains("was changed after scan"),
        "{:?}",
        text(&o)
    );
    let o = run(&config, &["sweep", "show", plan.to_str().unwrap()]);
    assert!(text(&o).0.contains("Digest: intact"), "{:?}", text(&o));

    // (d) An item's fields changed by hand: a leftover volume's item pointed at the shop's.
    let changed = dir.path().join("changed.json");
    let mut v = sealed.clone();
    let victim = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i["type"] == "ec2:volume")
        .unwrap();
    let was = v["items"][victim]["id"].as_str().unwrap().to_string();
    for field in ["id", "arn", "name", "fingerprint", "tags", "properties"] {
        v["items"][victim][field] = shop_volume[field].clone();
    }
    write_json(&changed, &v);
    let (code, err) = apply_refused(&config, &changed, &["--yes", "--confirm", "shop-prod"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "item ec2:volume {volume_id} differs from what scan wrote"
        )),
        "{was}: {err}"
    );

    // A plan without digests (as older kirikae versions wrote them): re-scan.
    let old = dir.path().join("old.json");
    let mut v = sealed.clone();
    v.as_object_mut().unwrap().remove("digest");
    for item in v["items"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("digest");
    }
    write_json(&old, &v);
    let (code, err) = apply_refused(&config, &old, &["--yes", "--confirm", "shop-prod"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("it has no digest"), "{err}");
    assert_eq!(deletions(&emu), 0, "a changed plan deleted something");

    // Behind the digest, apply still compares each item with what scan saw: someone holding
    // the plan key (who can re-seal anything) adds the shop's volume with a fingerprint that is
    // not the volume's. It is skipped as changed; the 191 go.
    let resealed = dir.path().join("resealed.json");
    let mut v = sealed.clone();
    let mut item = added_item.clone();
    item["fingerprint"] = Value::String("0000000000000000".into());
    v["items"].as_array_mut().unwrap().push(item);
    write_json(&resealed, &v);
    let mut p = kirikae_sweep::Plan::load(&resealed).unwrap();
    let key = kirikae_sweep::PlanKey::load(&dir.path().join("state"))
        .unwrap()
        .expect("scan made the plan key in the state directory");
    p.seal(&key);
    p.save(&resealed).unwrap();
    let o = apply_json(&config, &resealed, &["--yes", "--confirm", "shop-prod"]);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    assert_eq!(report["deleted"].as_array().unwrap().len(), 191, "{report}");
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{report}");
    assert_eq!(skipped[0]["id"], volume_id.as_str());
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("changed since the plan was made"),
        "{report}"
    );
    let keep_after = scan(&config, &dir.path().join("keep2.json"), "app=shop")["items"]
        .as_u64()
        .unwrap();
    assert_eq!(keep_after, keep_before, "the shop is all there");
}
