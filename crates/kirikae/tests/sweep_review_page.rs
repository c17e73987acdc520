//! The sweep review page in headless Chromium (Debian's `chromium`), driven the way a reviewer
//! uses it: real mouse clicks on the column headers, typing into the tag filter, picking from the
//! type, state and held-back lists; what the test reads is what the browser shows (visible rows,
//! their order, the counter). The page is opened from a file:// URL; the browser sends every
//! non-loopback request to a recording proxy on loopback and resolves no names, and the test
//! checks that the page asked for nothing but itself.
//!
//! The driver is `support/review_browser.py` (standard library only: the DevTools protocol over
//! --remote-debugging-pipe). Screenshots and the page stay in `target/tmp/sweep-review-page/`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::collections::BTreeMap;

use browser::{assert_no_network, browse, chromium_own, ids, out_dir, rows, visible};
use kirikae_sweep::{Found, Integrity, MarkStatus, Plan, PlanAccount, PlanItem, ReviewOptions};
use serde_json::{json, Value};

const ACCOUNT: &str = "111111111111";
const REGION: &str = "ap-northeast-1";
const NOW: i64 = 1_790_000_000;
const DAY: i64 = 86_400;
const HOSTILE_TAG: &str = "<script>window.__pwned=1</script>";
const HOSTILE_NAME: &str = "<img src=x onerror=\"window.__pwned=2\">";
const JAPANESE_NAME: &str = "旧システムの共有ボリューム";
const SWITCH_ROLE: &str = "https://signin.aws.amazon.com/switchrole?account=111111111111&roleName=KirikaeAdmin&displayName=prod-main";

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

fn ec2(kind: &str, id: &str, what: &str) -> Found {
    Found::new(kind, REGION, id, arn("ec2", &format!("{what}/{id}")))
}

fn tagged(f: Found, age_days: Option<i64>, state: Option<&str>, extra: &[(&str, &str)]) -> Found {
    let mut tags = vec![("owner".to_string(), "old-monolith".to_string())];
    tags.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut f = f.tags_from(tags);
    f.created = age_days.map(|d| NOW - d * DAY - 3600);
    f.state = state.map(str::to_string);
    f
}

fn uses(mut f: Found, arns: &[&str]) -> Found {
    f.depends_on.extend(arns.iter().map(|a| a.to_string()));
    f
}

/// 30 items of 19 types in three dependency levels, five held back (not marked, another
/// account's ARN, deletion protection, part of a protected cluster, used by it), with a hostile
/// tag value and name and Japanese text.
fn fixture() -> Plan {
    let vpc = ec2("ec2:vpc", "vpc-0a1", "vpc");
    let sub_a = ec2("ec2:subnet", "subnet-0a", "subnet");
    let sub_c = ec2("ec2:subnet", "subnet-0c", "subnet");
    let sg = ec2("ec2:security-group", "sg-0a1", "security-group");
    let cluster_arn = arn("rds", "cluster:old-db");
    let subnet_group_arn = arn("rds", "subgrp:old-db-subnets");
    let found = vec![
        tagged(vpc.clone(), Some(900), Some("available"), &[]).prop("cidr", "10.0.0.0/16"),
        tagged(
            uses(sub_a.clone(), &[vpc.arn.as_str()]),
            Some(900),
            Some("available"),
            &[],
        ),
        tagged(
            uses(sub_c.clone(), &[vpc.arn.as_str()]),
            Some(899),
            Some("available"),
            &[],
        ),
        tagged(uses(sg.clone(), &[vpc.arn.as_str()]), Some(800), None, &[]),
        tagged(
            uses(
                ec2("ec2:internet-gateway", "igw-0a1", "internet-gateway"),
                &[vpc.arn.as_str()],
            ),
            Some(900),
            Some("attached"),
            &[],
        ),
        tagged(
            uses(
                ec2("ec2:route-table", "rtb-0a1", "route-table"),
                &[vpc.arn.as_str(), sub_a.arn.as_str()],
            ),
            Some(850),
            None,
            &[],
        ),
        tagged(
            uses(
                ec2("ec2:instance", "i-0aaa", "instance"),
                &[sub_a.arn.as_str(), sg.arn.as_str()],
            ),
            Some(400),
            Some("stopped"),
            &[("Name", "old-batch")],
        ),
        tagged(
            uses(
                ec2("ec2:instance", "i-0bbb", "instance"),
                &[sub_c.arn.as_str(), sg.arn.as_str()],
            ),
            Some(30),
            Some("running"),
            &[("Name", "old-web")],
        ),
        tagged(
            ec2("ec2:volume", "vol-01", "volume"),
            Some(700),
            Some("available"),
            &[],
        )
        .prop("size_gib", 100),
        tagged(
            ec2("ec2:volume", "vol-02", "volume"),
            Some(365),
            Some("available"),
            &[("Name", JAPANESE_NAME), ("担当", "山田")],
        ),
        tagged(
            ec2("ec2:volume", "vol-03", "volume"),
            Some(12),
            Some("in-use"),
            &[("note", HOSTILE_TAG)],
        ),
        tagged(
            ec2("ec2:volume", "vol-04", "volume"),
            Some(200),
            Some("available"),
            &[("team", "data")],
        ),
        tagged(
            ec2("ec2:volume", "vol-05", "volume"),
            None,
            Some("available"),
            &[],
        ),
        tagged(
            ec2("ec2:snapshot", "snap-01", "snapshot"),
            Some(1000),
            Some("completed"),
            &[],
        ),
        tagged(
            ec2("ec2:snapshot", "snap-02", "snapshot"),
            Some(5),
            Some("completed"),
            &[],
        ),
        tagged(
            ec2("ec2:elastic-ip", "eipalloc-01", "elastic-ip"),
            None,
            None,
            &[],
        ),
        tagged(
            Found::new("s3:bucket", REGION, "old-logs", "arn:aws:s3:::old-logs"),
            Some(1200),
            None,
            &[],
        ),
        {
            let mut f = tagged(
                Found::new("s3:bucket", REGION, "old-assets", "arn:aws:s3:::old-assets"),
                Some(1100),
                None,
                &[],
            );
            f.name = Some(HOSTILE_NAME.to_string());
            f
        },
        tagged(
            uses(
                Found::new("rds:cluster", REGION, "old-db", cluster_arn.clone()),
                &[subnet_group_arn.as_str()],
            ),
            Some(600),
            Some("available"),
            &[],
        )
        .prop("deletion_protection", "true"),
        tagged(
            uses(
                Found::new(
                    "rds:db-instance",
                    REGION,
                    "old-db-1",
                    arn("rds", "db:old-db-1"),
                ),
                &[cluster_arn.as_str()],
            ),
            Some(600),
            Some("available"),
            &[],
        ),
        tagged(
            Found::new(
                "rds:subnet-group",
                REGION,
                "old-db-subnets",
                subnet_group_arn.clone(),
            ),
            Some(600),
            Some("Complete"),
            &[],
        ),
        tagged(
            Found::new(
                "sqs:queue",
                REGION,
                "https://sqs.ap-northeast-1.amazonaws.com/111111111111/old-jobs",
                arn("sqs", "old-jobs"),
            ),
            Some(300),
            None,
            &[],
        ),
        tagged(
            Found::new(
                "logs:log-group",
                REGION,
                "/old/app",
                arn("logs", "log-group:/old/app"),
            ),
            Some(500),
            None,
            &[],
        ),
        tagged(
            Found::new(
                "logs:log-group",
                REGION,
                "/old/batch",
                arn("logs", "log-group:/old/batch"),
            ),
            Some(450),
            None,
            &[],
        ),
        tagged(
            Found::new(
                "lambda:function",
                REGION,
                "old-cron",
                arn("lambda", "function:old-cron"),
            ),
            Some(420),
            Some("Active"),
            &[],
        ),
        tagged(
            Found::new(
                "iam:role",
                REGION,
                "old-cron-role",
                format!("arn:aws:iam::{ACCOUNT}:role/old-cron-role"),
            ),
            Some(420),
            None,
            &[],
        ),
        tagged(
            Found::new(
                "kms:key",
                REGION,
                "1234abcd-12ab",
                arn("kms", "key/1234abcd-12ab"),
            ),
            Some(700),
            Some("Enabled"),
            &[],
        ),
        tagged(
            ec2("ec2:key-pair", "key-0old", "key-pair"),
            Some(1300),
            None,
            &[],
        ),
        tagged(
            Found::new(
                "sns:topic",
                REGION,
                "arn:aws:sns:ap-northeast-1:222222222222:shared-alerts",
                "arn:aws:sns:ap-northeast-1:222222222222:shared-alerts",
            ),
            None,
            None,
            &[],
        ),
        tagged(
            Found::new(
                "cloudcontrol:AWS::Glue::Job",
                REGION,
                "old-etl",
                arn("glue", "job/old-etl"),
            ),
            Some(250),
            None,
            &[],
        ),
    ];
    let items = found
        .into_iter()
        .map(|f| PlanItem {
            description: f.describe(),
            fingerprint: f.fingerprint("kirikae:sweep"),
            mark: if f.id == "key-0old" {
                MarkStatus::NotYet
            } else {
                MarkStatus::TaggingApi
            },
            digest: None,
            found: f,
        })
        .collect();
    let mut unknown_tags = BTreeMap::new();
    unknown_tags.insert("owner".to_string(), "old-monolith".to_string());
    Plan {
        format: kirikae_sweep::PLAN_FORMAT.to_string(),
        id: "sweep-20261206-review".to_string(),
        created: "2026-12-06T05:00:00Z".to_string(),
        account: PlanAccount {
            name: "prod".to_string(),
            id: ACCOUNT.to_string(),
            alias: Some("prod-main".to_string()),
            protected: true,
        },
        regions: vec![REGION.to_string()],
        tag_key: "kirikae:sweep".to_string(),
        selectors: vec!["owner=old-monolith".to_string()],
        items,
        unknown: vec![kirikae_sweep::UnknownResource {
            arn: arn("appflow", "flow/old-flow"),
            resource_type: "appflow:flow".to_string(),
            tags: unknown_tags,
            reason: None,
        }],
        group: None,
        digest: None,
    }
}

#[test]
fn the_detector_sees_a_page_that_loads_something() {
    // The network check below can fail: a page with one image from elsewhere is caught twice.
    let dir = out_dir();
    let page = dir.join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\
         <img src=\"http://kirikae-review.invalid/pixel.png\"></body></html>",
    )
    .unwrap();
    let report = browse(&page, json!([]));
    let requests = report["requests"].to_string();
    assert!(requests.contains("kirikae-review.invalid"), "{report}");
    let proxied = report["proxy_requests"].to_string();
    assert!(proxied.contains("kirikae-review.invalid"), "{report}");
    assert!(!chromium_own(
        "GET http://kirikae-review.invalid/pixel.png HTTP/1.1"
    ));
    // Chromium's own calls are told by Google's service domains, not by a look-alike name
    assert!(chromium_own("CONNECT redirector.gvt1.com:443 HTTP/1.1"));
    assert!(!chromium_own("CONNECT notgoogle.com:443 HTTP/1.1"));
    assert!(!chromium_own(
        "GET http://google.com.kirikae-review.invalid/ HTTP/1.1"
    ));
}

#[test]
fn a_reviewer_filters_and_sorts_the_plan_and_the_page_loads_nothing() {
    let plan = fixture();
    assert_eq!(plan.items.len(), 30);
    let html = kirikae_sweep::show::html(
        &plan,
        NOW,
        &Integrity::Intact,
        &ReviewOptions {
            switch_role: Some(SWITCH_ROLE.to_string()),
        },
    );
    let dir = out_dir();
    let page = dir.join("review.html");
    std::fs::write(&page, &html).unwrap();
    let first_shot = dir.join("review.png");
    let filtered_shot = dir.join("review-filtered.png");
    let _ = std::fs::remove_file(&first_shot);
    let _ = std::fs::remove_file(&filtered_shot);
    eprintln!(
        "review page and screenshots: {} ({}, {})",
        page.display(),
        first_shot.display(),
        filtered_shot.display()
    );

    let mut steps = vec![
        json!({"eval": "document.characterSet", "name": "charset"}),
        json!({"eval": "document.getElementById('integrity').dataset.integrity + ' | ' + document.getElementById('integrity').textContent", "name": "integrity"}),
        json!({"eval": "[document.getElementById('t-items').textContent, document.getElementById('t-delete').textContent, document.getElementById('t-levels').textContent, document.getElementById('t-held').textContent].join(' ')", "name": "totals"}),
        json!({"eval": "JSON.stringify(Array.from(document.querySelectorAll('#t-type tbody tr, #t-state tbody tr, #t-account tbody tr')).map(function(r){return r.textContent;}))", "name": "count_tables"}),
        json!({"eval": "JSON.stringify(Array.from(document.querySelectorAll('#order li')).map(function(l){return l.textContent;}))", "name": "order"}),
        json!({"eval": "JSON.stringify(Array.from(document.querySelectorAll('#held tbody tr')).map(function(r){return [r.cells[1].textContent, r.cells[3].textContent];}))", "name": "held"}),
        json!({"eval": "document.scripts.length + ' ' + document.querySelectorAll('img').length + ' ' + String(window.__pwned)", "name": "hostile"}),
        json!({"eval": "document.querySelector('tr[data-id=\"vol-03\"] td.tags').textContent", "name": "hostile_tag"}),
        json!({"eval": "document.querySelector('tr[data-id=\"old-assets\"]').cells[4].textContent", "name": "hostile_name"}),
        json!({"eval": "document.querySelector('tr[data-id=\"vol-02\"]').cells[4].textContent + ' | ' + document.querySelector('tr[data-id=\"vol-02\"] td.tags').textContent", "name": "japanese"}),
        json!({"eval": "document.querySelector('tr[data-id=\"vol-01\"] a').href", "name": "volume_link"}),
        json!({"eval": "document.querySelector('tr[data-id=\"old-etl\"] a').textContent + ' ' + document.querySelector('tr[data-id=\"old-etl\"] a').href", "name": "fallback_link"}),
        json!({"eval": "Array.from(document.querySelectorAll('.banner.notice')).map(function(p){return p.textContent;}).join(' | ')", "name": "notices"}),
        json!({"screenshot": first_shot}),
    ];
    visible(&mut steps, "initial");
    // What a reviewer does: the volumes only; then those of one team by tag.
    steps.push(json!({"choose": "#f-type", "value": "ec2:volume"}));
    visible(&mut steps, "volumes");
    steps.push(json!({"type": "#f-tag", "text": "team=data"}));
    visible(&mut steps, "volumes_team");
    steps.push(json!({"clear": "#f-tag"}));
    steps.push(json!({"type": "#f-tag", "text": "担当=山田"}));
    visible(&mut steps, "volumes_japanese_tag");
    steps.push(json!({"clear": "#f-tag"}));
    steps.push(json!({"type": "#f-tag", "text": format!("note={HOSTILE_TAG}")}));
    visible(&mut steps, "volumes_hostile_tag");
    steps.push(json!({"click": "#f-reset"}));
    visible(&mut steps, "reset");
    // Old enough, and in a given state.
    steps.push(json!({"type": "#f-age-min", "text": "365"}));
    steps.push(json!({"choose": "#f-state", "value": "available"}));
    visible(&mut steps, "old_available");
    steps.push(json!({"click": "#f-reset"}));
    // What is held back.
    steps.push(json!({"choose": "#f-held", "value": "yes"}));
    visible(&mut steps, "held_rows");
    steps.push(json!({"click": "#f-reset"}));
    // Sorting: by age (twice: descending), by type.
    steps.push(json!({"click": "th[data-sort=age] button"}));
    visible(&mut steps, "by_age");
    steps.push(json!({"click": "th[data-sort=age] button"}));
    visible(&mut steps, "by_age_desc");
    steps.push(json!({"eval": "document.querySelector('th[data-sort=age]').getAttribute('aria-sort')", "name": "aria"}));
    steps.push(json!({"click": "th[data-sort=type] button"}));
    visible(&mut steps, "by_type");
    // Sorted and filtered at once, for the second screenshot.
    steps.push(json!({"type": "#f-age-min", "text": "100"}));
    visible(&mut steps, "by_type_old");
    steps.push(json!({"screenshot": filtered_shot}));

    let report = browse(&page, Value::Array(steps));
    let r = &report["results"];
    assert_no_network(&report, &page);

    // The page as it opens.
    assert_eq!(r["charset"], "UTF-8");
    let integrity = r["integrity"].as_str().unwrap();
    assert!(
        integrity.starts_with("intact | Digest: intact"),
        "{integrity}"
    );
    assert_eq!(
        r["totals"], "30 25 3 5",
        "items, to delete, levels, held back"
    );
    let counts = r["count_tables"].as_str().unwrap();
    for c in [
        "ec2:volume5",
        "ec2:subnet2",
        "available9",
        "prod (prod-main, 111111111111)29",
        "2222222222221",
    ] {
        assert!(counts.contains(c), "{c} in {counts}");
    }
    let order: Vec<String> = serde_json::from_str(r["order"].as_str().unwrap()).unwrap();
    assert_eq!(order.len(), 3, "{order:?}");
    assert!(
        order[0].starts_with("level 1 (21 items)") && order[0].contains("i-0aaa"),
        "{order:?}"
    );
    assert!(
        order[1].starts_with("level 2 (3 items)") && order[1].contains("sg-0a1"),
        "{order:?}"
    );
    assert!(
        order[2].starts_with("level 3 (1 items)") && order[2].contains("vpc-0a1"),
        "{order:?}"
    );
    let held: Vec<(String, String)> = serde_json::from_str(r["held"].as_str().unwrap()).unwrap();
    let held: BTreeMap<String, String> = held.into_iter().collect();
    assert_eq!(
        held.keys().map(String::as_str).collect::<Vec<_>>(),
        vec![
            "arn:aws:sns:ap-northeast-1:222222222222:shared-alerts",
            "key-0old",
            "old-db",
            "old-db-1",
            "old-db-subnets"
        ]
    );
    assert!(held["key-0old"].contains("not marked"), "{held:?}");
    assert!(
        held["old-db"].contains("deletion protection is on"),
        "{held:?}"
    );
    assert!(held["old-db-1"].contains("part of old-db"), "{held:?}");
    assert!(
        held["old-db-subnets"].contains("used by rds:cluster old-db"),
        "{held:?}"
    );
    assert!(
        held["arn:aws:sns:ap-northeast-1:222222222222:shared-alerts"].contains("another account")
    );
    let notices = r["notices"].as_str().unwrap();
    assert!(notices.contains("--confirm prod-main"), "{notices}");

    // User data is text: the hostile tag and name neither ran nor made elements.
    assert_eq!(
        r["hostile"], "1 0 undefined",
        "scripts, images, window.__pwned"
    );
    assert_eq!(
        r["hostile_tag"],
        format!("note={HOSTILE_TAG}owner=old-monolith")
    );
    assert_eq!(r["hostile_name"], HOSTILE_NAME);
    assert_eq!(
        r["japanese"],
        format!("{JAPANESE_NAME} | Name={JAPANESE_NAME}owner=old-monolith担当=山田")
    );
    // Console links go through the account's switch-role link.
    let link = r["volume_link"].as_str().unwrap();
    assert_eq!(
        link,
        format!(
            "{SWITCH_ROLE}&redirect_uri=https%3A%2F%2Fap-northeast-1.console.aws.amazon.com%2Fec2%2Fhome%3Fregion%3Dap-northeast-1%23VolumeDetails%3AvolumeId%3Dvol-01"
        )
    );
    let fallback = r["fallback_link"].as_str().unwrap();
    assert!(
        fallback.starts_with("service home https://signin.aws.amazon.com/switchrole?"),
        "{fallback}"
    );
    assert!(fallback.ends_with("redirect_uri=https%3A%2F%2Fap-northeast-1.console.aws.amazon.com%2Fglue%2Fhome%3Fregion%3Dap-northeast-1"), "{fallback}");

    // Opened: every item, in deletion order (level 1 first, held back last).
    let initial = rows(&report, "initial");
    assert_eq!(initial.len(), 30);
    assert_eq!(initial.last().unwrap()[4], "yes");
    let vpc_at = ids(&initial).iter().position(|i| *i == "vpc-0a1").unwrap();
    let sub_at = ids(&initial)
        .iter()
        .position(|i| *i == "subnet-0a")
        .unwrap();
    assert!(sub_at < vpc_at, "a subnet goes before its VPC: {initial:?}");

    // Filters.
    assert_eq!(
        ids(&rows(&report, "volumes")),
        vec!["vol-01", "vol-02", "vol-03", "vol-04", "vol-05"]
    );
    assert_eq!(ids(&rows(&report, "volumes_team")), vec!["vol-04"]);
    assert_eq!(ids(&rows(&report, "volumes_japanese_tag")), vec!["vol-02"]);
    assert_eq!(ids(&rows(&report, "volumes_hostile_tag")), vec!["vol-03"]);
    assert_eq!(rows(&report, "reset").len(), 30);
    let old = rows(&report, "old_available");
    assert_eq!(
        ids(&old),
        vec![
            "vol-01",
            "vol-02",
            "subnet-0a",
            "subnet-0c",
            "vpc-0a1",
            "old-db",
            "old-db-1"
        ],
        "{old:?}"
    );
    assert!(old
        .iter()
        .all(|r| r[2].parse::<i64>().unwrap() >= 365 && r[3] == "available"));
    let held_rows = rows(&report, "held_rows");
    assert_eq!(held_rows.len(), 5);
    assert!(held_rows.iter().all(|r| r[4] == "yes"));

    // Sorting.
    let ages = |rows: &[Vec<String>]| -> Vec<Option<i64>> {
        rows.iter().map(|r| r[2].parse().ok()).collect()
    };
    let by_age = ages(&rows(&report, "by_age"));
    let known: Vec<i64> = by_age.iter().flatten().copied().collect();
    assert!(known.windows(2).all(|w| w[0] <= w[1]), "{by_age:?}");
    assert_eq!(known.len(), 27);
    assert!(
        by_age[27..].iter().all(Option::is_none),
        "no age last: {by_age:?}"
    );
    assert_eq!(known[0], 5);
    let by_age_desc = ages(&rows(&report, "by_age_desc"));
    let known: Vec<i64> = by_age_desc.iter().flatten().copied().collect();
    assert!(known.windows(2).all(|w| w[0] >= w[1]), "{by_age_desc:?}");
    assert_eq!(known[0], 1300);
    assert_eq!(r["aria"], "descending");
    let by_type = rows(&report, "by_type");
    let types: Vec<&str> = by_type.iter().map(|r| r[1].as_str()).collect();
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(types, sorted);
    let by_type_old = rows(&report, "by_type_old");
    assert!(by_type_old
        .iter()
        .all(|r| r[2].parse::<i64>().is_ok_and(|a| a >= 100)));
    assert_eq!(by_type_old.len(), 24, "{by_type_old:?}");

    for shot in [&first_shot, &filtered_shot] {
        let png = std::fs::read(shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{}",
            shot.display()
        );
    }
}

#[test]
fn markup_that_slipped_past_the_escaping_could_neither_run_nor_load() {
    // Defence in depth: were a name ever written unescaped, the page's CSP (its own style and
    // script, by hash) still stops an injected script and an injected image.
    let html = kirikae_sweep::show::html(
        &fixture(),
        NOW,
        &Integrity::Intact,
        &ReviewOptions::default(),
    );
    let injected = html.replacen(
        "<body>",
        "<body><script>window.__pwned=3</script><img src=\"http://kirikae-review.invalid/leak.png\">",
        1,
    );
    assert_ne!(injected, html);
    let page = out_dir().join("injected.html");
    std::fs::write(&page, injected).unwrap();
    let report = browse(
        &page,
        json!([
            {"eval": "String(window.__pwned)", "name": "pwned"},
            {"eval": "document.getElementById('shown').textContent", "name": "shown"},
        ]),
    );
    assert_eq!(report["results"]["pwned"], "undefined", "{report}");
    assert_eq!(
        report["results"]["shown"], "30",
        "the page's own script still runs"
    );
    // The image is attempted (DevTools lists it) and blocked before it leaves the browser.
    let proxied = report["proxy_requests"].to_string();
    assert!(!proxied.contains("kirikae-review.invalid"), "{report}");
    let log = report["log"].to_string();
    assert!(
        log.contains("Executing inline script violates the following Content Security Policy"),
        "{log}"
    );
    assert!(
        log.contains("Loading the image 'http://kirikae-review.invalid/leak.png' violates"),
        "{log}"
    );
}
