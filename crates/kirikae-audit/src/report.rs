//! The audit report (`kirikae audit report --out report.html`): one self-contained page with
//! every account side by side. It works from a `file://` URL and loads nothing: no script, no
//! font, no image; its Content-Security-Policy allows only its own inline style (by hash).
//!
//! Each account's column shows its findings by part and severity, and its cost as a stacked bar
//! chart per month (drawn by `plotters` to inline SVG). Parts come from the finding model
//! ([`Check::part`]): a new part's findings appear without a change here. Everything from AWS or
//! kirikae.toml (names, tags, evidence) goes through [`esc`].

use std::collections::BTreeMap;
use std::fmt::Write;

use kirikae_page::{csp_source, esc};
use plotters::prelude::*;

use crate::cost::AccountCost;
use crate::finding::{Check, Finding, Severity};
use crate::run::AuditReport;

const STYLE: &str = include_str!("report.css");
/// Services drawn by name in a chart; the rest are one "other" segment.
const CHART_SERVICES: usize = 5;
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x6f, 0xb4),
    RGBColor(0xe0, 0x7b, 0x1a),
    RGBColor(0x2c, 0x9a, 0x4b),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x7d, 0x4f, 0xa8),
    RGBColor(0x8a, 0x8a, 0x8a),
];

/// The page's Content-Security-Policy: nothing may load or connect; only its own style applies.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src 'none'; img-src 'none'; \
         font-src 'none'; connect-src 'none'; object-src 'none'; frame-src 'none'; \
         base-uri 'none'; form-action 'none'",
        csp_source(STYLE)
    )
}

/// A part's heading: its name in the finding model (`az`, `tags`, `cost`, ...).
fn part_title(part: &str) -> String {
    match part {
        "az" => "Availability Zones".to_string(),
        "tags" => "Tags".to_string(),
        "cost" => "Cost".to_string(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

fn part_name(check: &Check) -> String {
    serde_json::to_value(check.part)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The whole page. `generated` is a UTC time stamp; `accounts` the audited accounts in order
/// (a column each, even without findings); `judged` the day and table the runtimes part judged
/// by, when it ran.
pub fn render(
    report: &AuditReport,
    accounts: &[(String, String)],
    generated: &str,
    judged: Option<&str>,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>kirikae audit</title><style>{STYLE}</style></head><body>",
        esc(&content_security_policy())
    );
    let _ = write!(
        h,
        "<header><h1>kirikae audit</h1><p>Generated {} · {} findings in {} accounts",
        esc(generated),
        report.findings.len(),
        accounts.len()
    );
    if let Some(judged) = judged {
        let _ = write!(h, " · <span id=\"judged\">{}</span>", esc(judged));
    }
    if let Some(usage) = &report.cost_explorer {
        let _ = write!(
            h,
            " · <span id=\"ce-requests\">{}</span>",
            esc(&usage.to_string())
        );
    }
    h.push_str("</p></header>");
    if !report.errors.is_empty() {
        h.push_str("<section class=\"errors\"><h2>Could not be audited</h2><ul>");
        for e in &report.errors {
            let _ = write!(
                h,
                "<li><b>{}</b> in {}: {}</li>",
                esc(&e.account),
                esc(&e.region),
                esc(&e.error)
            );
        }
        h.push_str("</ul></section>");
    }
    h.push_str("<main class=\"accounts\">");
    for (name, id) in accounts {
        column(&mut h, report, name, id);
    }
    h.push_str("</main>");
    zones(&mut h, report, accounts);
    h.push_str("</body></html>\n");
    h
}

fn column(h: &mut String, report: &AuditReport, name: &str, id: &str) {
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.account == name)
        .collect();
    let _ = write!(
        h,
        "<section class=\"account\" data-account=\"{}\"><h2>{} <small>{}</small></h2>",
        esc(name),
        esc(name),
        esc(id)
    );
    h.push_str("<p class=\"counts\">");
    for s in Severity::ALL {
        let n = findings.iter().filter(|f| f.severity == s).count();
        if n > 0 {
            let _ = write!(h, "<span class=\"sev {s}\">{n} {s}</span> ");
        }
    }
    if findings.is_empty() {
        h.push_str("no findings");
    }
    h.push_str("</p>");
    if let Some(cost) = report.cost.as_ref().and_then(|c| {
        c.accounts
            .iter()
            .find(|a| a.account == name)
            .map(|a| (c, a))
    }) {
        chart_block(h, cost.0, cost.1);
    }
    let mut parts: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        parts
            .entry(part_name(Check::get(f.check)))
            .or_default()
            .push(f);
    }
    for (part, mut list) in parts {
        list.sort_by(|a, b| (a.severity, a.check).cmp(&(b.severity, b.check)));
        let _ = write!(
            h,
            "<div class=\"part\" data-part=\"{}\"><h3>{} <small>{}</small></h3>",
            esc(&part),
            esc(&part_title(&part)),
            list.len()
        );
        for f in list {
            let _ = write!(
                h,
                "<article class=\"finding {sev}\" data-check=\"{check}\"><p class=\"head\">\
                 <span class=\"sev {sev}\">{sev}</span> <b>{check}</b> {title}</p>\
                 <p class=\"res\">{resource} <small>{region}</small></p>\
                 <p>{evidence}</p><p class=\"fix\">Fix: {fix}</p>\
                 <details><summary>Why it matters</summary><p>{why}</p></details></article>",
                sev = f.severity,
                check = esc(f.check),
                title = esc(f.title),
                resource = esc(&f.resource),
                region = esc(&f.region),
                evidence = esc(&f.evidence),
                fix = esc(&f.fix),
                why = esc(f.why),
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</section>");
}

/// The chart and its legend (HTML, so the names wrap and stay searchable).
fn chart_block(h: &mut String, cost: &crate::cost::CostReport, account: &AccountCost) {
    let (names, svg) = chart(cost, account);
    h.push_str("<figure class=\"cost\">");
    h.push_str(&svg);
    h.push_str("<figcaption><ul class=\"legend\">");
    for (i, n) in names.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let _ = write!(
            h,
            "<li><svg width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" \
             fill=\"#{:02x}{:02x}{:02x}\"/></svg> {}</li>",
            c.0,
            c.1,
            c.2,
            esc(n)
        );
    }
    let last = cost.months.len().saturating_sub(2);
    if let Some(share) = account.untagged_percent(last) {
        let _ = write!(
            h,
            "</ul>USD per month; the last bar is the month to date. Untagged `{}` in {}: \
             {share:.0} %</figcaption></figure>",
            esc(&cost.tag),
            cost.months[last]
        );
    } else {
        h.push_str("</ul>USD per month; the last bar is the month to date.</figcaption></figure>");
    }
}

/// A stacked bar per month: the account's top services, then the rest as "other".
fn chart(cost: &crate::cost::CostReport, account: &AccountCost) -> (Vec<String>, String) {
    let n = cost.months.len();
    let mut series: Vec<(String, Vec<f64>)> = account
        .services
        .iter()
        .take(CHART_SERVICES)
        .map(|s| (s.name.clone(), s.amounts.clone()))
        .collect();
    if account.services.len() > CHART_SERVICES {
        let mut other = vec![0.0; n];
        for s in &account.services[CHART_SERVICES..] {
            for (o, a) in other.iter_mut().zip(&s.amounts) {
                *o += a;
            }
        }
        series.push(("other services".into(), other));
    }
    let top = account.totals.iter().copied().fold(0.0, f64::max).max(1.0) * 1.1;
    let months: Vec<String> = cost.months.iter().map(|m| m.to_string()).collect();
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (460, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    months
                        .get(i as usize)
                        .map(|m| m[2..].to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("USD")
            .draw()?;
        let mut bottoms = vec![0.0; n];
        for (k, (_, amounts)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = amounts
                .iter()
                .enumerate()
                .filter(|(_, a)| **a > 0.0)
                .map(|(i, a)| {
                    let x = i as f64;
                    let r = Rectangle::new(
                        [(x - 0.35, bottoms[i]), (x + 0.35, bottoms[i] + a)],
                        colour.filled(),
                    );
                    bottoms[i] += a;
                    r
                })
                .collect();
            chart.draw_series(bars)?;
        }
        root.present()?;
        Ok(())
    })();
    if let Err(e) = drawn {
        svg = format!("<p>chart not drawn: {}</p>", esc(&e.to_string()));
    }
    (series.into_iter().map(|(n, _)| n).collect(), svg)
}

/// The AZ name → id mapping of every account, per region (an AZ name is another AZ in another
/// account).
fn zones(h: &mut String, report: &AuditReport, accounts: &[(String, String)]) {
    if report.zones.is_empty() {
        return;
    }
    let mut regions: BTreeMap<&str, Vec<&crate::run::ZoneMap>> = BTreeMap::new();
    for z in &report.zones {
        regions.entry(z.region.as_str()).or_default().push(z);
    }
    h.push_str("<section class=\"zones\"><h2>AZ ids per account</h2>");
    for (region, maps) in regions {
        let _ = write!(
            h,
            "<table><caption>{}</caption><tr><th>AZ name</th>",
            esc(region)
        );
        let cols: Vec<&&crate::run::ZoneMap> = accounts
            .iter()
            .filter_map(|(a, _)| maps.iter().find(|m| &m.account == a))
            .collect();
        for m in &cols {
            let _ = write!(h, "<th>{}</th>", esc(&m.account));
        }
        h.push_str("</tr>");
        let mut names: Vec<&str> = cols
            .iter()
            .flat_map(|m| m.zones.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let _ = write!(h, "<tr><td>{}</td>", esc(name));
            for m in &cols {
                let id = m
                    .zones
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("-", |(_, id)| id.as_str());
                let _ = write!(h, "<td>{}</td>", esc(id));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Place;

    #[test]
    fn user_data_is_escaped_and_the_page_allows_only_its_style() {
        let place = Place {
            account: "prod".into(),
            account_id: "111111111111".into(),
            protected: true,
            region: "ap-northeast-1".into(),
        };
        let hostile = "<script>window.__pwned=1</script>";
        let report = AuditReport {
            findings: vec![place.finding(
                "TAG-002",
                format!("arn:aws:ec2:ap-northeast-1:111111111111:instance/{hostile}"),
                format!("env = {hostile}"),
                "fix \"it\"".into(),
            )],
            zones: Vec::new(),
            quotas: Vec::new(),
            errors: Vec::new(),
            cost: None,
            cost_explorer: None,
        };
        let page = render(
            &report,
            &[
                ("prod".into(), "111111111111".into()),
                ("dev".into(), "2".into()),
            ],
            "2026-12-06T00:00:00Z",
            Some("runtimes judged as of <2026-10-01>"),
        );
        assert!(
            page.contains("<span id=\"judged\">runtimes judged as of &lt;2026-10-01&gt;</span>")
        );
        assert!(!page.contains(hostile));
        assert!(page.contains("env = &lt;script&gt;window.__pwned=1&lt;/script&gt;"));
        assert!(page.contains("fix &quot;it&quot;"));
        assert!(!page.contains("<script"));
        // Every account is a column, with or without findings.
        assert!(page.contains("data-account=\"dev\""));
        assert!(page.contains("no findings"));
        let csp = content_security_policy();
        assert!(csp.contains("script-src 'none'") && csp.contains("default-src 'none'"));
        assert!(csp.contains(&format!("style-src {};", csp_source(STYLE))));
    }
}
