//! `show`: a plan for review, grouped by account, region, service and type, with counts, age
//! and tags; as a text table, CSV, or one self-contained HTML page (no external assets).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::{Integrity, MarkStatus, Plan, PlanItem};

fn age_days(item: &PlanItem, now: i64) -> Option<i64> {
    // `created` comes from the plan file: saturating, whatever a hand edit put there.
    item.found
        .created
        .map(|c| now.saturating_sub(c).max(0) / 86_400)
}

fn tags_text(item: &PlanItem) -> String {
    item.found
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn mark_text(m: &MarkStatus) -> String {
    match m {
        MarkStatus::NotYet => "not marked yet".into(),
        MarkStatus::TaggingApi => "tagged".into(),
        MarkStatus::TypeApi => "tagged (own API)".into(),
        MarkStatus::CannotTag(why) => format!("cannot carry a tag: {why}"),
    }
}

/// Items by region, then type (service is the type's prefix), in a stable order.
fn grouped(plan: &Plan) -> BTreeMap<(String, String), Vec<&PlanItem>> {
    let mut g: BTreeMap<(String, String), Vec<&PlanItem>> = BTreeMap::new();
    for item in &plan.items {
        g.entry((item.found.region.clone(), item.found.kind.clone()))
            .or_default()
            .push(item);
    }
    for items in g.values_mut() {
        items.sort_by(|a, b| a.found.id.cmp(&b.found.id));
    }
    g
}

fn in_plan_deps(plan: &Plan, item: &PlanItem) -> Vec<String> {
    item.found
        .depends_on
        .iter()
        .filter_map(|d| plan.items.iter().find(|i| &i.found.arn == d))
        .map(|i| i.found.id.clone())
        .collect()
}

fn heading(plan: &Plan) -> String {
    format!(
        "Plan {} · account {}{} ({}) · regions {} · {} items · tag {}={} · scanned {} with {}",
        plan.id,
        plan.account.alias.as_deref().unwrap_or(&plan.account.name),
        if plan.account.protected {
            " [protected]"
        } else {
            ""
        },
        plan.account.id,
        plan.regions.join(", "),
        plan.items.len(),
        plan.tag_key,
        plan.id,
        plan.created,
        plan.selectors.join(" ")
    )
}

/// `integrity`: what the plan's digest says (see [`Plan::integrity`]), shown under the heading.
pub fn table(plan: &Plan, now: i64, integrity: &Integrity) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", heading(plan));
    let _ = writeln!(s, "Digest: {}", integrity.describe());
    if let Some(g) = &plan.group {
        let _ = writeln!(s, "Resource Group: {g}");
    }
    let mut service = String::new();
    for ((region, kind), items) in grouped(plan) {
        let svc = kind.split(':').next().unwrap_or("").to_string();
        if svc != service {
            let n = plan
                .items
                .iter()
                .filter(|i| {
                    i.found.region == region && i.found.kind.starts_with(&format!("{svc}:"))
                })
                .count();
            let _ = writeln!(s, "\n{region} · {svc} ({n})");
            service = svc;
        }
        let ages: Vec<i64> = items.iter().filter_map(|i| age_days(i, now)).collect();
        let oldest = ages
            .iter()
            .max()
            .map(|a| format!(", oldest {a} days"))
            .unwrap_or_default();
        let _ = writeln!(s, "  {kind}: {}{oldest}", items.len());
        if crate::cloudcontrol::is_cloud_control(&kind) {
            let _ = writeln!(
                s,
                "    (through AWS Cloud Control: no dependencies known, deleted in the first wave)"
            );
        }
        for i in items {
            let age = age_days(i, now)
                .map(|a| format!("{a}d"))
                .unwrap_or_else(|| "-".into());
            let deps = in_plan_deps(plan, i);
            let _ = writeln!(
                s,
                "    {:<24} {:<24} {:<12} {:>5}  {}{}{}",
                i.found.id,
                i.found.name.as_deref().unwrap_or("-"),
                i.found.state.as_deref().unwrap_or("-"),
                age,
                tags_text(i),
                if deps.is_empty() {
                    String::new()
                } else {
                    format!("  before: {}", deps.join(","))
                },
                match &i.mark {
                    MarkStatus::CannotTag(_) | MarkStatus::NotYet =>
                        format!("  [{}]", mark_text(&i.mark)),
                    _ => String::new(),
                }
            );
        }
    }
    if !plan.unknown.is_empty() {
        let _ = writeln!(
            s,
            "\nFound by tag, type unknown to kirikae: listed only, never deleted ({}):",
            plan.unknown.len()
        );
        for u in &plan.unknown {
            let _ = writeln!(s, "  {:<20} {}", u.resource_type, u.arn);
            if let Some(why) = &u.reason {
                let _ = writeln!(s, "  {:<20} ({why})", "");
            }
        }
    }
    s
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

pub fn csv(plan: &Plan, now: i64) -> String {
    let mut s = String::from(
        "account_id,account_alias,region,service,type,id,arn,name,state,created,age_days,tags,deletes_before,mark,fingerprint\n",
    );
    for ((_, _), items) in grouped(plan) {
        for i in items {
            let row = [
                plan.account.id.clone(),
                plan.account.alias.clone().unwrap_or_default(),
                i.found.region.clone(),
                i.found.kind.split(':').next().unwrap_or("").to_string(),
                i.found.kind.clone(),
                i.found.id.clone(),
                i.found.arn.clone(),
                i.found.name.clone().unwrap_or_default(),
                i.found.state.clone().unwrap_or_default(),
                i.found.created.map(|c| c.to_string()).unwrap_or_default(),
                age_days(i, now).map(|a| a.to_string()).unwrap_or_default(),
                tags_text(i),
                in_plan_deps(plan, i).join(" "),
                mark_text(&i.mark),
                i.fingerprint.clone(),
            ];
            let line: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            s.push_str(&line.join(","));
            s.push('\n');
        }
    }
    s
}

fn esc(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html(plan: &Plan, now: i64, integrity: &Integrity) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kirikae sweep {id}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}h1{{font-size:1.4em}}h2{{font-size:1.15em;margin-top:1.6em}}\
table{{border-collapse:collapse;margin:.5em 0 1em}}td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:left;font-size:.9em;vertical-align:top}}\
th{{background:#f3f3f3}}.warn{{color:#a40}}.meta{{color:#555}}code{{font-size:.9em}}\
</style></head><body>\n<h1>kirikae sweep plan <code>{id}</code></h1>\n<p class=\"meta\">{head}</p>\n",
        id = esc(&plan.id),
        head = esc(&heading(plan))
    );
    let _ = writeln!(
        s,
        "<p{}>Digest: {}</p>",
        if *integrity == Integrity::Intact {
            ""
        } else {
            " class=\"warn\""
        },
        esc(&integrity.describe())
    );
    if let Some(g) = &plan.group {
        let _ = writeln!(s, "<p>Resource Group: <code>{}</code></p>", esc(g));
    }
    let groups = grouped(plan);
    s.push_str("<h2>Summary</h2>\n<table><tr><th>region</th><th>service</th><th>type</th><th>count</th><th>oldest (days)</th></tr>\n");
    for ((region, kind), items) in &groups {
        let oldest = items
            .iter()
            .filter_map(|i| age_days(i, now))
            .max()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td><a href=\"#{k}\">{k}</a></td><td>{}</td><td>{}</td></tr>",
            esc(region),
            esc(kind.split(':').next().unwrap_or("")),
            items.len(),
            oldest,
            k = esc(kind)
        );
    }
    let _ = writeln!(
        s,
        "<tr><th colspan=\"3\">total</th><th>{}</th><th></th></tr></table>",
        plan.items.len()
    );
    for ((region, kind), items) in &groups {
        let _ = writeln!(
            s,
            "<h2 id=\"{k}\">{k} · {} ({})</h2>\n<table><tr><th>id</th><th>name</th><th>state</th><th>age (days)</th><th>tags</th><th>properties</th><th>deleted before</th><th>mark</th></tr>",
            esc(region),
            items.len(),
            k = esc(kind)
        );
        for i in items {
            let props: Vec<String> = i
                .found
                .properties
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let warn = matches!(i.mark, MarkStatus::CannotTag(_) | MarkStatus::NotYet);
            let _ = writeln!(
                s,
                "<tr><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
                esc(&i.found.arn),
                esc(&i.found.id),
                esc(i.found.name.as_deref().unwrap_or("")),
                esc(i.found.state.as_deref().unwrap_or("")),
                age_days(i, now).map(|a| a.to_string()).unwrap_or_default(),
                esc(&tags_text(i)),
                esc(&props.join(" ")),
                esc(&in_plan_deps(plan, i).join(" ")),
                if warn { " class=\"warn\"" } else { "" },
                esc(&mark_text(&i.mark))
            );
        }
        s.push_str("</table>\n");
    }
    if !plan.unknown.is_empty() {
        s.push_str("<h2>Found by tag, type unknown to kirikae (listed only, never deleted)</h2>\n<table><tr><th>type</th><th>ARN</th><th>tags</th><th>why</th></tr>\n");
        for u in &plan.unknown {
            let tags: Vec<String> = u.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&u.resource_type),
                esc(&u.arn),
                esc(&tags.join(" ")),
                esc(u.reason.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creation_time_edited_to_an_extreme_is_shown_without_a_panic() {
        // `created` is read from the plan file; `now - created` overflowed (a panic) before.
        let text = r#"{"format":"kirikae-sweep-plan/1","id":"p","created":"t",
            "account":{"name":"prod","id":"111111111111"},"regions":["r"],"tag_key":"k",
            "selectors":[],"items":[{"type":"ec2:volume","region":"r","id":"vol-1","arn":"a",
            "created":-9223372036854775808,"description":"d","fingerprint":"f",
            "mark":{"by":"not_yet"}}]}"#;
        let plan: Plan = serde_json::from_str(text).unwrap();
        let out = table(&plan, i64::MAX, &Integrity::Unsealed);
        assert!(out.contains("no digest"), "{out}");
        assert!(csv(&plan, i64::MAX).contains("vol-1"));
        assert!(html(&plan, i64::MIN, &Integrity::Unsealed).contains("vol-1"));
    }
}
