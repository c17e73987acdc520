//! `kirikae audit report --out FILE`: writes kirikae-audit's page and says where.

use std::path::Path;

use anyhow::Context as _;
use kirikae_audit::{AuditReport, Scope};

/// Writes the page for the accounts of `scope` (a column each, in kirikae.toml's order);
/// `judged` names the day and lifecycle table of the runtimes part.
pub fn write(
    out: &Path,
    report: &AuditReport,
    scope: &Scope,
    judged: Option<&str>,
) -> anyhow::Result<()> {
    let mut accounts: Vec<(String, String)> = Vec::new();
    for p in &scope.places {
        if !accounts.iter().any(|(a, _)| a == &p.account) {
            accounts.push((p.account.clone(), p.account_id.clone()));
        }
    }
    // Findings of an answering account outside the scope (the payer's TAG-004) get a column.
    for f in &report.findings {
        if !accounts.iter().any(|(a, _)| a == &f.account) {
            accounts.push((f.account.clone(), f.account_id.clone()));
        }
    }
    let generated = kirikae_aws::format_utc(std::time::SystemTime::now());
    let page = kirikae_audit::report::render(report, &accounts, &generated, judged);
    std::fs::write(out, page)
        .with_context(|| format!("cannot write the report to {}", out.display()))?;
    crate::progress::eprint_line(&format!("kirikae: wrote the report to {}", out.display()));
    Ok(())
}
