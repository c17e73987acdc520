//! `show`: a plan for review, grouped by account, region, service and type, with counts, age
//! and tags; as a text table, CSV, or the review page (one self-contained HTML file that loads
//! nothing: see [`crate::review_page`]).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::review_page::ReviewOptions;
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
                "    (through AWS Cloud Control: edges from the properties it returned; identity \
                 and network types go last in their region)"
            );
        }
        for i in items {
            let age = age_days(i, now)
                .map(|a| format!("{a}d"))
                .unwrap_or_else(|| "-".into());
            let deps = in_plan_deps(plan, i);
            let _ = writeln!(
                s,
                "    {:<24} {:<24} {:<12} {:>5}  {}{}{}{}",
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
                match i.found.properties.get("deleted_from") {
                    Some(r) => format!("  deleted from: {r}"),
                    None => String::new(),
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

/// The review page: see [`crate::review_page`].
pub fn html(plan: &Plan, now: i64, integrity: &Integrity, opts: &ReviewOptions) -> String {
    crate::review_page::render(plan, now, integrity, opts)
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
        assert!(html(
            &plan,
            i64::MIN,
            &Integrity::Unsealed,
            &ReviewOptions::default()
        )
        .contains("vol-1"));
    }
}
