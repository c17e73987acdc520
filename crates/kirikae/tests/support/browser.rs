//! Headless Chromium for the review page's tests (sweep_review_page.rs, sweep_emulator.rs):
//! runs support/review_browser.py (the DevTools protocol over a pipe, standard library only) and
//! reads what the browser showed and requested.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{repo_root, venv_bin};

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweep-review-page");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Chromium's own background calls (network time, component updates, variations, account
/// check), made with an empty page too and not switchable off in this build: they go to Google's
/// service domains, reach the proxy and go no further. Which hosts varies from run to run
/// (`clients2.google.com`, `update.googleapis.com`, `redirector.gvt1.com`, ...), so they are
/// told by domain. The page's own requests are checked separately, in the DevTools log of the
/// page, which lists nothing but the page itself.
pub fn chromium_own(request_line: &str) -> bool {
    // "CONNECT host:443 HTTP/1.1" or "GET http://host/path HTTP/1.1"
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    let target = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .unwrap_or(target);
    let host = target
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    [
        "google.com",
        "googleapis.com",
        "gvt1.com",
        "gvt2.com",
        "gstatic.com",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// Opens `page` in headless Chromium, runs `steps` (see support/review_browser.py), returns the
/// driver's report.
pub fn browse(page: &Path, steps: Value) -> Value {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium package)"
    );
    let profile = tempfile::tempdir().unwrap();
    let spec = json!({
        "chromium": CHROMIUM,
        "profile": profile.path(),
        "url": format!("file://{}", page.display()),
        "steps": steps,
    });
    let spec_file = profile.path().join("..").join(format!(
        "review-spec-{}.json",
        profile.path().file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let out = Command::new(venv_bin("python"))
        .arg(repo_root().join("crates/kirikae/tests/support/review_browser.py"))
        .arg(&spec_file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&spec_file);
    assert!(
        out.status.success(),
        "the browser driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rows the browser shows, in order: [id, type, age, state, held].
pub const VISIBLE: &str = "JSON.stringify(Array.from(document.querySelectorAll('#items tbody tr'))\
    .filter(function(r){return r.getClientRects().length>0;})\
    .map(function(r){return [r.dataset.id,r.dataset.type,r.dataset.age,r.dataset.state,r.dataset.held];}))";

pub fn visible(steps: &mut Vec<Value>, name: &str) {
    steps.push(json!({"eval": VISIBLE, "name": name}));
    steps.push(json!({"eval": "document.getElementById('shown').textContent", "name": format!("{name}.shown")}));
}

pub fn rows(report: &Value, name: &str) -> Vec<Vec<String>> {
    let text = report["results"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: {report}"));
    let rows: Vec<Vec<String>> = serde_json::from_str(text).unwrap();
    let shown = report["results"][format!("{name}.shown")].as_str().unwrap();
    assert_eq!(
        shown,
        rows.len().to_string(),
        "{name}: the counter says {shown}"
    );
    rows
}

pub fn ids(rows: &[Vec<String>]) -> Vec<&str> {
    rows.iter().map(|r| r[0].as_str()).collect()
}

/// The page asked for nothing but itself: the DevTools log of the page's requests, the proxy
/// every other request goes to, and the browser's log (a CSP refusal shows there).
pub fn assert_no_network(report: &Value, page: &Path) {
    let own = format!("file://{}", page.display());
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(
        requests,
        vec![own.as_str()],
        "the page requested more than itself"
    );
    let proxied: Vec<&str> = report["proxy_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .filter(|l| !chromium_own(l))
        .collect();
    assert!(
        proxied.is_empty(),
        "requests reached the proxy: {proxied:?}"
    );
    assert_eq!(report["exceptions"], json!([]), "script errors: {report}");
    let log = report["log"].to_string();
    assert!(
        !log.contains("Content Security Policy"),
        "CSP refused something: {log}"
    );
}
