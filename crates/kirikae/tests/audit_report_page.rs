//! `kirikae audit report --out report.html` on the story's estate (the emulator, with the
//! story's bill in Cost Explorer), opened in headless Chromium (support/browser.rs): the
//! accounts are columns side by side, each with its findings and a cost chart whose bars the
//! browser draws, and the page asks for nothing but itself. The page and its screenshot stay in
//! `target/tmp/audit-report-page/`.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::Path;

use browser::{assert_no_network, browse};
use serde_json::{json, Value};
use support::{run, text, Emulator};

fn out_dir() -> std::path::PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-report-page");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn result<T: serde::de::DeserializeOwned>(report: &Value, name: &str) -> T {
    let text = report["results"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: {report}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

#[test]
fn the_report_shows_every_account_side_by_side_with_findings_and_cost_bars_and_loads_nothing() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let t = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        t + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\ncost_account = \"jump\"\n",
    )
    .unwrap();
    let out = out_dir();
    let page = out.join("report.html");
    let shot = out.join("report.png");
    let _ = std::fs::remove_file(&page);
    let _ = std::fs::remove_file(&shot);
    eprintln!(
        "report page and screenshot: {} ({})",
        page.display(),
        shot.display()
    );

    let o = run(
        &config,
        &[
            "audit",
            "report",
            "--out",
            page.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "critical findings: {stderr}");
    assert!(stderr.contains("wrote the report to"), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let requests = v["cost_explorer"]["requests"].as_u64().unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    // The SVG namespace is a name, not a request; any other URL would be one.
    let rest = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !rest.contains("http://") && !rest.contains("https://"),
        "a URL in the page"
    );

    let report = browse(
        &page,
        json!([
            {"eval": "JSON.stringify(Array.from(document.querySelectorAll('section.account')).map(function(s){var r=s.getBoundingClientRect();return [s.dataset.account, Math.round(r.left), Math.round(r.top), Math.round(r.width)];}))", "name": "columns"},
            {"eval": "JSON.stringify(Array.from(document.querySelectorAll('section.account')).map(function(s){return [s.dataset.account, Array.from(s.querySelectorAll('figure.cost svg rect')).filter(function(r){var b=r.getBoundingClientRect();var f=(r.getAttribute('fill')||'').toLowerCase();return b.width>0&&b.height>0&&f!=='#ffffff'&&f!=='white'&&!r.closest('.legend');}).length];}))", "name": "bars"},
            {"eval": "JSON.stringify(Array.from(document.querySelectorAll('section.account[data-account=\"prod\"] article.finding')).filter(function(a){return a.getClientRects().length>0;}).map(function(a){return a.querySelector('.head').textContent+' | '+a.querySelector('.res').textContent;}))", "name": "prod_findings"},
            {"eval": "JSON.stringify(Array.from(document.querySelectorAll('section.account[data-account=\"dev\"] .part h3')).map(function(h){return h.textContent;}))", "name": "dev_parts"},
            {"eval": "JSON.stringify([document.getElementById('ce-requests').textContent])", "name": "requests"},
            {"eval": "JSON.stringify([document.scripts.length, document.styleSheets.length])", "name": "assets"},
            {"screenshot": shot},
        ]),
    );
    assert_no_network(&report, &page);
    assert!(shot.exists(), "no screenshot");

    // prod, dev and the payer (its TAG-004) as columns side by side: one row, left to right.
    let columns: Vec<(String, i64, i64, i64)> = result(&report, "columns");
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["dev", "prod", "jump"], "{columns:?}");
    assert!(
        columns.iter().all(|c| c.2 == columns[0].2 && c.3 > 300),
        "{columns:?}"
    );
    assert!(
        columns[0].1 < columns[1].1 && columns[1].1 < columns[2].1,
        "{columns:?}"
    );

    // A bar segment per month and service drawn in each account with cost (7 months).
    let bars: Vec<(String, u64)> = result(&report, "bars");
    for (account, n) in &bars {
        if account == "jump" {
            assert_eq!(*n, 0, "the payer has no cost of its own here");
        } else {
            assert!(*n >= 7, "{account}: {n} bars");
        }
    }

    // Findings a user acts on, where they belong.
    let prod: Vec<String> = result(&report, "prod_findings");
    assert!(
        prod.iter()
            .any(|f| f.contains("COST-003") && f.contains("ExtendedSupport")),
        "{prod:?}"
    );
    assert!(
        prod.iter()
            .any(|f| f.contains("AZ-004") && f.contains("cluster:shop-prod")),
        "{prod:?}"
    );
    let dev_parts: Vec<String> = result(&report, "dev_parts");
    assert!(
        dev_parts.iter().any(|p| p.starts_with("Cost")),
        "{dev_parts:?}"
    );

    let shown: Vec<String> = result(&report, "requests");
    assert_eq!(
        shown[0],
        format!(
            "Cost Explorer requests: {requests} ({:.2} USD)",
            requests as f64 * 0.01
        )
    );
    let assets: (u64, u64) = result(&report, "assets");
    assert_eq!(assets, (0, 1), "no script, the one inline style");
}
