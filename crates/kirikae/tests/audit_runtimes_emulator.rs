//! `kirikae audit runtimes` against the emulator: the story's world plus `seed audit`'s estate
//! (emulator/kirikae_emulator/audit_estate.py), where each old version has a fine twin.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{emulator_python, run, stdout_of, text, Emulator};

/// Seeds the story and the runtimes estate; returns the config and {name: ARN or id}.
fn world(emu: &Emulator, dir: &Path) -> (PathBuf, Value) {
    let config = emu.seed_story(dir);
    let seeded = stdout_of(
        emulator_python()
            .args(["-m", "kirikae_emulator", "seed", "audit", "--quiet"])
            .args(["--endpoint", &emu.url]),
        "seed audit",
    );
    (config, serde_json::from_str(&seeded).unwrap())
}

fn audit(config: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["audit", "runtimes"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let o = run(config, &all);
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (o.status.code(), v, err)
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

/// The findings on a resource whose ARN or id ends with `resource`.
fn on<'a>(v: &'a Value, resource: &str) -> Vec<&'a Value> {
    findings(v)
        .iter()
        .filter(|f| f["resource"].as_str().unwrap().ends_with(resource))
        .collect()
}

fn one<'a>(v: &'a Value, id: &str, resource: &str) -> &'a Value {
    let found = on(v, resource);
    assert_eq!(found.len(), 1, "{resource}: {found:?}\nall: {v:#}");
    assert_eq!(found[0]["check"], id, "{:#}", found[0]);
    found[0]
}

fn none(v: &Value, resource: &str) {
    let found = on(v, resource);
    assert!(found.is_empty(), "{resource} is fine, yet: {found:?}");
}

fn evidence(f: &Value) -> &str {
    f["evidence"].as_str().unwrap()
}

fn id<'a>(ids: &'a Value, name: &str) -> &'a str {
    ids[name].as_str().unwrap()
}

#[test]
fn runtimes_finds_each_old_version_and_not_its_fine_twin_with_severity_by_account() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = world(&emu, dir.path());

    let (code, v, err) = audit(&config, &["--as-of", "2026-10-01"]);
    assert_eq!(code, Some(1), "high findings in prod: {err}");
    // 40 days after the table's date: no warning.
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(v["lifecycle"]["origin"], "built in");
    assert_eq!(v["lifecycle"]["date"], "2026-08-22");
    assert_eq!(v["lifecycle"]["as_of"], "2026-10-01");
    assert!(v["lifecycle"]["stale_days"].is_null());

    // Lambda: python3.8 deprecated, python3.13 fine; high in prod, medium in dev.
    let f = one(&v, "RT-001", ":function:orders-legacy");
    assert_eq!(
        (&f["severity"], &f["account"]),
        (&"high".into(), &"prod".into())
    );
    let e = evidence(f);
    for part in [
        "orders-legacy runs Python 3.8 (python3.8): deprecated since 2024-10-14",
        "updates blocked from 2027-03-03",
        "lifecycle table built in of 2026-08-22",
        "https://endoflife.date/aws-lambda",
    ] {
        assert!(e.contains(part), "{part} not in {e}");
    }
    assert!(f["fix"].as_str().unwrap().contains("python"), "{f}");
    assert!(!f["why"].as_str().unwrap().is_empty());
    none(&v, ":function:orders-api");
    assert_eq!(
        one(&v, "RT-001", ":function:orders-legacy-dev")["severity"],
        "medium"
    );

    // MySQL 5.7, Multi-AZ db.r6g.large, in its third year of Extended Support (from 2026-03-01):
    // 2 vCPUs × 0.200 × 730 h × 2 (standby) = USD 584; the dates from RDS's own API.
    let f = one(&v, "RT-003", ":db:reports-legacy");
    assert_eq!(f["severity"], "high");
    let e = evidence(f);
    for part in [
        "reports-legacy runs mysql 5.7.44 (rds-mysql 5.7): in Extended Support since 2024-02-29",
        "about USD 584/month",
        "× 2 (Multi-AZ standby)",
        "year 3",
        "RDS DescribeDBMajorEngineVersions in ap-northeast-1 for mysql 5.7",
    ] {
        assert!(e.contains(part), "{part} not in {e}");
    }
    none(&v, ":db:billing-current");
    // PostgreSQL 13 in dev, first year: 2 × 0.100 × 730 = 146; one step lower than in prod.
    let f = one(&v, "RT-003", ":db:reports-dev-pg");
    assert_eq!(f["severity"], "medium");
    assert!(evidence(f).contains("about USD 146/month"), "{f}");
    // The story's Aurora MySQL 3 cluster is in standard support.
    none(&v, ":db:shop-prod-1");

    // ElastiCache Redis OSS 5 past standard support (2026-01-31), 7 fine.
    let f = one(&v, "RT-003", ":cluster:sessions-legacy");
    assert!(
        evidence(f).contains("in Extended Support since 2026-01-31"),
        "{f}"
    );
    none(&v, ":cluster:sessions-current");

    // Amazon Linux 2 (ended 2026-06-30) vs Amazon Linux 2023.
    let f = one(&v, "RT-006", id(&ids, "batch-al2"));
    assert!(
        evidence(f).contains("Amazon Linux 2 support ended 2026-06-30"),
        "{f}"
    );
    none(&v, id(&ids, "batch-al2023"));

    // EKS: Kubernetes 1.31 in Extended Support (billed per cluster-hour), 1.36 fine.
    let f = one(&v, "RT-009", ":cluster/platform-legacy");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["resource"], id(&ids, "platform-legacy"));
    let e = evidence(f);
    for part in [
        "platform-legacy runs Kubernetes 1.31 (EKS): in Extended Support since 2025-11-26, until 2026-11-26",
        "about USD 365/month more than in standard support",
        "USD 0.60 instead of 0.10 per cluster-hour",
        "https://endoflife.date/amazon-eks",
    ] {
        assert!(e.contains(part), "{part} not in {e}");
    }
    assert!(
        f["fix"].as_str().unwrap().contains("lifecycle table: 1.36"),
        "{f}"
    );
    none(&v, ":cluster/platform-current");

    // The same day gives the same report.
    let (_, again, _) = audit(&config, &["--as-of", "2026-10-01"]);
    assert_eq!(findings(&again), findings(&v));

    // Earlier: python3.8 is only "soon" (135 days), MySQL 5.7 in its first years (USD 292).
    let (_, early, _) = audit(&config, &["--as-of", "2024-06-01"]);
    let f = one(&early, "RT-005", ":function:orders-legacy");
    assert_eq!(f["severity"], "medium");
    assert!(
        evidence(f).contains("deprecated on 2024-10-14, in 135 days"),
        "{f}"
    );
    let f = one(&early, "RT-003", ":db:reports-legacy");
    assert!(evidence(f).contains("about USD 292/month"), "{f}");
    assert!(evidence(f).contains("years 1-2"), "{f}");
    none(&early, ":db:reports-dev-pg");
    // Kubernetes 1.31 was not even released then: nothing to say.
    none(&early, ":cluster/platform-legacy");
    // Amazon Linux 2 was still supported then, but its AMI (named 2.0.2018...) was old already.
    let f = one(&early, "RT-007", id(&ids, "batch-al2"));
    assert_eq!(f["severity"], "low");
    assert!(
        evidence(f).contains("days old on 2024-06-01 (more than 365)"),
        "{f}"
    );

    // Later: python3.8's updates are blocked (critical); the table is 222 days older: it says so.
    let (code, late, err) = audit(&config, &["--as-of", "2027-04-01"]);
    assert_eq!(code, Some(1));
    let f = one(&late, "RT-002", ":function:orders-legacy");
    assert_eq!(f["severity"], "critical");
    assert_eq!(
        one(&late, "RT-002", ":function:orders-legacy-dev")["severity"],
        "high"
    );
    assert_eq!(late["lifecycle"]["stale_days"], 222);
    // Kubernetes 1.31's Extended Support ended 2026-11-26: AWS upgrades it; 1.36's standard
    // support ends 2027-08-02, in 123 days.
    let f = one(&late, "RT-010", ":cluster/platform-legacy");
    assert_eq!(f["severity"], "critical");
    assert!(
        evidence(f).contains("Extended Support ended 2026-11-26"),
        "{f}"
    );
    let f = one(&late, "RT-005", ":cluster/platform-current");
    assert!(
        evidence(f).contains("standard support ends (Extended Support is billed per cluster-hour from the day after) on 2027-08-02, in 123 days"),
        "{f}"
    );
    assert!(
        err.contains(
            "warning: the lifecycle table (built in, 2026-08-22) is 222 days older than 2027-04-01"
        ) && err.contains("--lifecycle FILE"),
        "{err}"
    );

    // --fail-on by account: dev alone has medium findings only.
    let (code, dev, _) = audit(&config, &["--as-of", "2026-10-01", "--account", "dev"]);
    assert_eq!(code, Some(0), "{dev:#}");
    assert!(findings(&dev).iter().all(|f| f["account"] == "dev"));
    assert!(!findings(&dev).is_empty());

    // The table for people names the table and the day.
    let o = run(&config, &["audit", "runtimes", "--as-of", "2026-10-01"]);
    let (out, _) = text(&o);
    for line in [
        "Runtimes: ",
        "RT-003 engine version in Extended Support:",
        "Judged as of 2026-10-01 by the lifecycle table built in of 2026-08-22",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }

    // A day that is not one: bad input, nothing audited.
    let o = run(&config, &["audit", "runtimes", "--as-of", "2026-02-30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("--as-of \"2026-02-30\" is not a date"),
        "{}",
        text(&o).1
    );
}

/// `audit all` or `report` with `--as-of` and `--lifecycle`: their runtimes findings.
fn runtimes_of(config: &Path, args: &[&str]) -> (Vec<Value>, Value) {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let o = run(config, &all);
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let runtimes = findings(&v)
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("RT-"))
        .cloned()
        .collect();
    (runtimes, v["lifecycle"].clone())
}

#[test]
fn all_and_report_judge_runtimes_on_the_day_and_table_given() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = world(&emu, dir.path());
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\n",
    )
    .unwrap();

    // `all` and a report made with the same --as-of find the same runtimes findings.
    let (first, note) = runtimes_of(&config, &["all", "--as-of", "2026-10-01"]);
    assert_eq!(note["as_of"], "2026-10-01");
    assert!(!first.is_empty());
    let page = dir.path().join("first.html");
    let page_arg = page.to_str().unwrap();
    let (again, _) = runtimes_of(
        &config,
        &["report", "--out", page_arg, "--as-of", "2026-10-01"],
    );
    assert_eq!(again, first);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            "runtimes judged as of 2026-10-01 by the lifecycle table built in of 2026-08-22"
        ),
        "{html}"
    );
    let second = dir.path().join("second.html");
    let (_, _) = runtimes_of(
        &config,
        &[
            "report",
            "--out",
            second.to_str().unwrap(),
            "--as-of",
            "2026-10-01",
        ],
    );
    let judged = |p: &Path| {
        let h = std::fs::read_to_string(p).unwrap();
        let start = h.find("<main").unwrap();
        h[start..].to_string()
    };
    // The page's findings are the same too (only its time stamp and cost of the day differ).
    let runtimes_rows = |h: String| -> Vec<String> {
        h.split("<article")
            .filter(|a| a.contains("data-check=\"RT-"))
            .map(str::to_string)
            .collect()
    };
    let rows = runtimes_rows(judged(&page));
    assert!(rows.len() >= first.len(), "{rows:#?}");
    assert_eq!(rows, runtimes_rows(judged(&second)));

    // A later day finds more: python3.8's updates blocked, Kubernetes 1.31 past its support.
    let (later, note) = runtimes_of(
        &config,
        &[
            "report",
            "--out",
            second.to_str().unwrap(),
            "--as-of",
            "2027-04-01",
        ],
    );
    assert_eq!(note["stale_days"], 222);
    assert!(later.len() > first.len(), "{later:#?}");
    let checks = |fs: &[Value]| -> Vec<String> {
        fs.iter()
            .map(|f| format!("{} {}", f["check"], f["resource"]))
            .collect()
    };
    let later_checks = checks(&later).join("\n");
    assert!(
        later_checks.contains("\"RT-002\" \"arn:aws:lambda:"),
        "{later_checks}"
    );
    assert!(
        later_checks.contains("\"RT-010\" \"arn:aws:eks:"),
        "{later_checks}"
    );
    assert!(!checks(&first).join("\n").contains("RT-010"));

    // --lifecycle with `all`: the file's table, its path in the output.
    let table = dir.path().join("lifecycle.json");
    std::fs::write(
        &table,
        r#"{"schema": 1, "date": "2026-09-20", "rows": [
            {"product": "lambda", "cycle": "python3.13", "end_standard": "2026-06-30", "end_extended": "2026-12-31", "source": "https://example.test/lambda"}
        ]}"#,
    )
    .unwrap();
    let path = table.to_str().unwrap();
    let (v, note) = runtimes_of(
        &config,
        &["all", "--as-of", "2026-10-01", "--lifecycle", path],
    );
    assert_eq!(note["origin"], path);
    assert!(
        v.iter().any(|f| f["check"] == "RT-001"
            && f["resource"]
                .as_str()
                .unwrap()
                .ends_with(":function:orders-api")),
        "{v:#?}"
    );
    // A bad --as-of stops `report` before anything is audited or written.
    let bad = dir.path().join("bad.html");
    let o = run(
        &config,
        &[
            "audit",
            "report",
            "--out",
            bad.to_str().unwrap(),
            "--as-of",
            "2026-02-30",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!bad.exists());
}

#[test]
fn a_newer_table_and_rds_own_dates_win_over_the_built_in_table() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = world(&emu, dir.path());

    // (az) Healthy targets: two in 1a and none in 1c is uneven; one in each is fine.
    let o = run(
        &config,
        &["audit", "az", "--account", "prod", "--output", "json"],
    );
    let (out, err) = text(&o);
    let az: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let f = one(&az, "AZ-007", id(&ids, "web-uneven-tg"));
    assert_eq!(f["severity"], "medium");
    assert_eq!(
        evidence(f),
        "web-uneven behind web-uneven: healthy targets ap-northeast-1a: 2, ap-northeast-1c: 0"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("in ap-northeast-1c"),
        "{f}"
    );
    none(&az, id(&ids, "web-even-tg"));

    // AWS says MySQL 8.4's standard support ended early (the emulator's RDS answers so): the
    // live API wins over the table's 2029-07-31.
    let body = r#"{"versions": [{"engine": "mysql", "major": "8.4", "standard": ["2024-11-21", "2026-01-31"], "extended": ["2026-02-01", "2029-01-31"]}]}"#;
    emu.post("/_kirikae/rds/major-engine-versions", body);

    let (_, v, _) = audit(&config, &["--as-of", "2026-10-01"]);
    let f = one(&v, "RT-003", ":db:billing-current");
    let e = evidence(f);
    assert!(
        e.contains("in Extended Support since 2026-01-31, until 2029-01-31"),
        "{e}"
    );
    assert!(e.contains("RDS DescribeDBMajorEngineVersions"), "{e}");

    // --lifecycle FILE: a table where python3.13 is already deprecated; its path is the source.
    let table = dir.path().join("lifecycle.json");
    std::fs::write(
        &table,
        r#"{"schema": 1, "date": "2026-09-20", "rows": [
            {"product": "lambda", "cycle": "python3.13", "end_standard": "2026-06-30", "end_extended": "2026-12-31", "source": "https://example.test/lambda"},
            {"product": "lambda", "cycle": "python3.8", "end_standard": "2024-10-14", "end_extended": "2027-03-03", "source": "https://example.test/lambda"}
        ]}"#,
    )
    .unwrap();
    let path = table.to_str().unwrap();
    let (_, v, err) = audit(&config, &["--as-of", "2026-10-01", "--lifecycle", path]);
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(v["lifecycle"]["origin"], path);
    assert_eq!(v["lifecycle"]["date"], "2026-09-20");
    let e = evidence(one(&v, "RT-001", ":function:orders-api"));
    assert!(e.contains("deprecated since 2026-06-30"), "{e}");
    assert!(
        e.contains(&format!("lifecycle table {path} of 2026-09-20")),
        "{e}"
    );
    assert!(e.contains("https://example.test/lambda"), "{e}");
    // A product the file does not cover is not judged (no guess from another table).
    none(&v, ":cluster:sessions-legacy");

    // A table that is not one: bad input naming the file and what is wrong.
    std::fs::write(
        &table,
        r#"{"schema": 1, "date": "2026-09-20", "rows": [{"product": "lambda", "cycle": "python3.8", "end_standard": "2024-10-14"}]}"#,
    )
    .unwrap();
    let o = run(&config, &["audit", "runtimes", "--lifecycle", path]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(path) && err.contains("lambda python3.8: no source"),
        "{err}"
    );
}

#[test]
fn quotas_side_by_side_with_usage_differences_and_refresh_headroom() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (config, ids) = world(&emu, dir.path());

    let o = run(&config, &["audit", "quotas", "--output", "json"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let on_quota = |id: &str, arn: &str| -> Vec<&Value> {
        findings(&v)
            .iter()
            .filter(|f| f["check"] == id && f["resource"] == arn)
            .collect()
    };

    // prod: 28 of 32 On-Demand vCPUs in use (AWS/Usage), applied over the default 5.
    let vcpu = id(&ids, "prod-vcpu-quota");
    let f = on_quota("QUOTA-002", vcpu);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "high");
    let e = evidence(f[0]);
    assert!(
        e.contains("28/32 (applied; default 5) = 88 % (usage AWS/Usage)"),
        "{e}"
    );
    assert!(
        f[0]["fix"]
            .as_str()
            .unwrap()
            .contains("--service-code ec2 --quota-code L-1216C47A --desired-value 64"),
        "{}",
        f[0]
    );
    // DB instances at the default 40 with a handful used: fine.
    let instances = id(&ids, "prod-db-instances-quota");
    assert!(
        findings(&v).iter().all(|f| f["resource"] != instances),
        "{v:#}"
    );

    // dev: DB clusters applied at what dev has: used up (high in dev), no room for the
    // refresh into dev, and lower than prod's 80.
    let clusters = id(&ids, "dev-db-clusters-quota");
    let f = on_quota("QUOTA-001", clusters);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(
        (&f[0]["severity"], &f[0]["account"]),
        (&"high".into(), &"dev".into())
    );
    assert!(
        evidence(f[0]).contains("(applied; default 40) = 100 % (usage counted)"),
        "{}",
        f[0]
    );
    let f = on_quota("QUOTA-004", clusters);
    assert_eq!(f.len(), 1, "{v:#}");
    assert!(
        evidence(f[0]).starts_with(
            "refresh staging needs one more DB clusters in dev (the new cluster it restores)"
        ),
        "{}",
        f[0]
    );
    let f = on_quota("QUOTA-003", clusters);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "info");
    assert!(
        evidence(f[0]).contains("in dev while prod has 80 (applied)"),
        "{}",
        f[0]
    );
    // prod's higher value is not a finding of its own.
    let prod_clusters = clusters.replace(":222222222222:", ":111111111111:");
    assert!(findings(&v)
        .iter()
        .all(|f| f["resource"] != prod_clusters.as_str() || f["check"] != "QUOTA-003"));

    // Side by side: both accounts, applied and default.
    let quotas = v["quotas"].as_array().unwrap();
    let accounts: Vec<&str> = quotas
        .iter()
        .map(|q| q["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["dev", "prod"]);
    let prod_db = quotas[1]["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "DB clusters")
        .unwrap();
    assert_eq!(
        (prod_db["applied"].as_f64(), prod_db["default"].as_f64()),
        (Some(80.0), Some(40.0))
    );

    let o = run(&config, &["audit", "quotas"]);
    let (out, _) = text(&o);
    for line in [
        "Service Quotas in ap-northeast-1",
        "DB clusters",
        "applied 100 %",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
}
