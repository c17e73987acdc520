//! The review page (`sweep show --output html`): what a reviewer opens before a deletion. One
//! self-contained HTML file that works from a `file://` URL and loads nothing: its
//! Content-Security-Policy allows only its own inline style and script (by hash), so even a
//! resource name that escaped the HTML escaping could neither run nor fetch anything.
//!
//! The page shows, from the plan alone:
//! - the plan's integrity (its digest) and what `apply` will refuse or require as a whole;
//! - totals per type, account and state, and how many items are held back;
//! - every item, filterable by type, tag, age and state and sortable by any column (the inline
//!   script); each with its console page through the account's switch-role link;
//! - the deletion order by dependency level, as `apply`'s dry run computes it;
//! - the items held back and why, for the reasons the plan itself shows (`apply` re-checks each
//!   item live and may hold back more: changed, tag removed, used by something outside the plan).
//!
//! Everything from the plan (names, tags, ids) is user data and goes through [`esc`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use kirikae_page::{csp_source, esc};

use crate::console_link::{console_url, through_switch_role};
use crate::{Integrity, MarkStatus, Plan, PlanItem};

const STYLE: &str = include_str!("review_page.css");
const SCRIPT: &str = include_str!("review_page.js");

/// What the page needs beyond the plan.
#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    /// The account's switch-role link ([`kirikae_aws::console::switch_role_url`]) when
    /// kirikae.toml names the plan's account; console links then go through it. `None`: plain
    /// console links (the reviewer must already be in the account).
    pub switch_role: Option<String>,
}

/// The page's Content-Security-Policy: nothing may load or connect; only the page's own style
/// and script (by hash) apply; forms and `<base>` are off.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; font-src 'none'; \
         connect-src 'none'; media-src 'none'; object-src 'none'; frame-src 'none'; \
         base-uri 'none'; form-action 'none'",
        csp_source(STYLE),
        csp_source(SCRIPT)
    )
}

/// Why the plan as a whole cannot be applied as it stands, or what it will require.
fn plan_notices(plan: &Plan, integrity: &Integrity) -> Vec<String> {
    let mut out = Vec::new();
    if *integrity != Integrity::Intact {
        out.push(format!(
            "apply refuses this plan as a whole: its digest says {}",
            integrity.describe()
        ));
    }
    if plan.account.protected {
        out.push(format!(
            "account {} is protected in kirikae.toml: apply deletes only with --confirm {}",
            plan.account.name,
            plan.account.alias.as_deref().unwrap_or("<its IAM alias>")
        ));
    }
    out
}

/// Items `apply` will hold back for what the plan itself shows, by ARN, with the reason; the
/// rules are `apply`'s (see [`crate::apply`]): not marked, an ARN of another account, deletion
/// protection (and what in the plan is part of a protected item), and what a held-back item
/// uses. Deletion protection holds unless `apply --disable-protection`.
pub fn held_back(plan: &Plan) -> BTreeMap<String, String> {
    let mut held: BTreeMap<String, String> = BTreeMap::new();
    let mut protected: HashMap<&str, &str> = HashMap::new(); // arn -> id
    for i in &plan.items {
        let f = &i.found;
        let field = f.arn.split(':').nth(4).unwrap_or("");
        let why = if matches!(i.mark, MarkStatus::NotYet) {
            format!(
                "not marked: apply skips it until `kirikae sweep mark` tags it {}={}",
                plan.tag_key, plan.id
            )
        } else if !field.is_empty() && field != plan.account.id {
            format!(
                "its ARN names another account than {}: apply leaves it alone",
                plan.account.id
            )
        } else if crate::resources::is_true(f, "deletion_protection") {
            protected.insert(&f.arn, &f.id);
            "deletion protection is on: apply keeps it (unless run with --disable-protection, \
             which turns it off and deletes it)"
                .to_string()
        } else {
            continue;
        };
        held.insert(f.arn.clone(), why);
    }
    // What in the plan is part of a protected item stays with it.
    let mut changed = !protected.is_empty();
    while changed {
        changed = false;
        for i in &plan.items {
            let f = &i.found;
            if held.contains_key(&f.arn) {
                continue;
            }
            if let Some(owner) = f.depends_on.iter().find_map(|d| protected.get(d.as_str())) {
                let why = format!(
                    "part of {owner}, whose deletion protection is on: it stays with it (apply \
                     --disable-protection deletes both)"
                );
                held.insert(f.arn.clone(), why);
                protected.insert(&f.arn, &f.id);
                changed = true;
            }
        }
    }
    // A held-back item keeps what it uses.
    let by_arn: HashMap<&str, &PlanItem> = plan
        .items
        .iter()
        .map(|i| (i.found.arn.as_str(), i))
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for i in &plan.items {
            if !held.contains_key(&i.found.arn) {
                continue;
            }
            for d in &i.found.depends_on {
                if by_arn.contains_key(d.as_str()) && !held.contains_key(d) {
                    held.insert(
                        d.clone(),
                        format!(
                            "used by {} {}, which is held back: it stays for it",
                            i.found.kind, i.found.id
                        ),
                    );
                    changed = true;
                }
            }
        }
    }
    held
}

/// The deletion level (1: what nothing else in the plan uses) of each item that is not held
/// back, by ARN, as `apply`'s dry run reports its waves.
pub fn levels(plan: &Plan, held: &BTreeMap<String, String>) -> HashMap<String, usize> {
    let todo: Vec<crate::Found> = plan
        .items
        .iter()
        .filter(|i| !held.contains_key(&i.found.arn))
        .map(|i| i.found.clone())
        .collect();
    let mut out = HashMap::new();
    for (level, wave) in crate::apply::waves(&todo).iter().enumerate() {
        for &i in wave {
            out.insert(todo[i].arn.clone(), level + 1);
        }
    }
    out
}

fn age_days(item: &PlanItem, now: i64) -> Option<i64> {
    item.found
        .created
        .map(|c| now.saturating_sub(c).max(0) / 86_400)
}

fn state_key(item: &PlanItem) -> &str {
    item.found.state.as_deref().unwrap_or("-")
}

fn mark_text(m: &MarkStatus) -> String {
    match m {
        MarkStatus::NotYet => "not marked yet".into(),
        MarkStatus::TaggingApi => "tagged".into(),
        MarkStatus::TypeApi => "tagged (own API)".into(),
        MarkStatus::CannotTag(why) => format!("cannot carry a tag: {why}"),
    }
}

fn count_table(s: &mut String, id: &str, title: &str, counts: &BTreeMap<String, usize>) {
    let _ = write!(
        s,
        "<table id=\"{id}\"><thead><tr><th>{title}</th><th>items</th></tr></thead><tbody>"
    );
    for (k, n) in counts {
        let _ = write!(s, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(k));
    }
    s.push_str("</tbody></table>\n");
}

fn options(values: impl IntoIterator<Item = String>) -> String {
    let mut s = String::from("<option value=\"\">all</option>");
    for v in values {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", esc(&v));
    }
    s
}

/// The page. `now`: seconds since the epoch, for ages.
pub fn render(plan: &Plan, now: i64, integrity: &Integrity, opts: &ReviewOptions) -> String {
    let held = held_back(plan);
    let levels = levels(plan, &held);
    let mut items: Vec<&PlanItem> = plan.items.iter().collect();
    // Deletion order first, then type and id: the order a reviewer reads the plan in.
    items.sort_by(|a, b| {
        let la = levels.get(&a.found.arn).copied().unwrap_or(usize::MAX);
        let lb = levels.get(&b.found.arn).copied().unwrap_or(usize::MAX);
        (la, &a.found.kind, &a.found.id).cmp(&(lb, &b.found.kind, &b.found.id))
    });
    let id_of: HashMap<&str, &PlanItem> = plan
        .items
        .iter()
        .map(|i| (i.found.arn.as_str(), i))
        .collect();

    let mut s = String::new();
    head(&mut s, plan, integrity);
    totals(&mut s, plan, &held, &levels);
    filters(&mut s, plan);

    // The items.
    let _ = writeln!(
        s,
        "<h2>Items</h2>\n<table id=\"items\"><thead><tr>\
         <th data-sort=\"level\"><button type=\"button\">level</button></th>\
         <th data-sort=\"type\"><button type=\"button\">type</button></th>\
         <th data-sort=\"region\"><button type=\"button\">region</button></th>\
         <th data-sort=\"id\"><button type=\"button\">id</button></th>\
         <th data-sort=\"name\"><button type=\"button\">name</button></th>\
         <th data-sort=\"state\"><button type=\"button\">state</button></th>\
         <th data-sort=\"age\"><button type=\"button\">age (days)</button></th>\
         <th>tags</th><th>properties</th><th>deleted before</th><th>mark</th>\
         <th>held back</th><th>console</th></tr></thead><tbody>"
    );
    for i in &items {
        let f = &i.found;
        let level = levels.get(&f.arn);
        let why = held.get(&f.arn);
        let tags_json = serde_json::to_string(&f.tags).unwrap_or_else(|_| "{}".into());
        let tags_html: String = f
            .tags
            .iter()
            .map(|(k, v)| format!("<span>{}={}</span>", esc(k), esc(v)))
            .collect();
        let props: Vec<String> = f
            .properties
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let before: Vec<String> = f
            .depends_on
            .iter()
            .filter_map(|d| id_of.get(d.as_str()))
            .map(|d| d.found.id.clone())
            .collect();
        let link = console_url(f, &plan.account.id);
        let href = match &opts.switch_role {
            Some(sr) => through_switch_role(sr, &link.url),
            None => link.url.clone(),
        };
        let level_text = match level {
            Some(l) => l.to_string(),
            None => "held".to_string(),
        };
        let _ = writeln!(
            s,
            "<tr data-arn=\"{arn}\" data-type=\"{kind}\" data-region=\"{region}\" data-id=\"{id}\" \
             data-name=\"{name}\" data-state=\"{state}\" data-age=\"{age}\" data-level=\"{lvl}\" \
             data-held=\"{heldflag}\" data-tags=\"{tags}\"{class}>\
             <td>{level_text}</td><td>{kind}</td><td>{region}</td><td><code title=\"{arn}\">{id}</code></td>\
             <td>{name}</td><td>{state_text}</td><td class=\"num\">{age}</td><td class=\"tags\">{tags_html}</td>\
             <td>{props}</td><td>{before}</td><td>{mark}</td><td class=\"why\">{why}</td>\
             <td><a href=\"{href}\" target=\"_blank\" rel=\"noopener noreferrer\" title=\"{via}\">{label}</a></td></tr>",
            arn = esc(&f.arn),
            kind = esc(&f.kind),
            region = esc(&f.region),
            id = esc(&f.id),
            name = esc(f.name.as_deref().unwrap_or("")),
            state = esc(state_key(i)),
            state_text = esc(f.state.as_deref().unwrap_or("")),
            age = age_days(i, now).map(|a| a.to_string()).unwrap_or_default(),
            lvl = level.map(|l| l.to_string()).unwrap_or_default(),
            heldflag = if why.is_some() { "yes" } else { "no" },
            tags = esc(&tags_json),
            class = if why.is_some() { " class=\"held\"" } else { "" },
            props = esc(&props.join(" ")),
            before = esc(&before.join(" ")),
            mark = esc(&mark_text(&i.mark)),
            why = esc(why.map(String::as_str).unwrap_or("")),
            href = esc(&href),
            via = if opts.switch_role.is_some() {
                "through the account's switch-role link"
            } else {
                "kirikae.toml does not name this account's role: switch to the account first"
            },
            label = if link.deep { "open" } else { "service home" },
        );
    }
    s.push_str("</tbody></table>\n");

    deletion_order(&mut s, &items, &levels);
    held_section(&mut s, &items, &held);
    unknown(&mut s, plan);
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body></html>\n");
    s
}

fn head(s: &mut String, plan: &Plan, integrity: &Integrity) {
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kirikae sweep {id}</title>\n<style>{STYLE}</style></head><body>\n\
         <h1>kirikae sweep plan <code>{id}</code></h1>\n",
        csp = esc(&content_security_policy()),
        id = esc(&plan.id),
    );
    let account = plan.account.alias.as_deref().unwrap_or(&plan.account.name);
    let _ = writeln!(
        s,
        "<p class=\"meta\">account <b>{}</b> ({}){} · regions {} · {} items · tag <code>{}={}</code> \
         · scanned {} with <code>{}</code></p>",
        esc(account),
        esc(&plan.account.id),
        if plan.account.protected {
            " <b>[protected]</b>"
        } else {
            ""
        },
        esc(&plan.regions.join(", ")),
        plan.items.len(),
        esc(&plan.tag_key),
        esc(&plan.id),
        esc(&plan.created),
        esc(&plan.selectors.join(" "))
    );
    let (class, state) = match integrity {
        Integrity::Intact => ("sealed", "intact"),
        Integrity::Unsealed => ("unsealed", "unsealed"),
        Integrity::NoKey { .. } => ("unsealed", "no-key"),
        Integrity::OtherKey { .. } => ("unsealed", "other-key"),
        Integrity::Changed(_) => ("unsealed", "changed"),
    };
    let key = plan
        .digest
        .as_ref()
        .map(|d| format!(" · {} sealed by key {}", d.algorithm, d.key_id))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "<p id=\"integrity\" class=\"banner {class}\" data-integrity=\"{state}\">Digest: {}{}</p>",
        esc(&integrity.describe()),
        esc(&key)
    );
    for n in plan_notices(plan, integrity) {
        let _ = writeln!(s, "<p class=\"banner notice\">{}</p>", esc(&n));
    }
    if let Some(g) = &plan.group {
        let _ = writeln!(s, "<p>Resource Group: <code>{}</code></p>", esc(g));
    }
}

fn totals(
    s: &mut String,
    plan: &Plan,
    held: &BTreeMap<String, String>,
    levels: &HashMap<String, usize>,
) {
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_account: BTreeMap<String, usize> = BTreeMap::new();
    let account = match &plan.account.alias {
        Some(a) => format!("{} ({a}, {})", plan.account.name, plan.account.id),
        None => format!("{} ({})", plan.account.name, plan.account.id),
    };
    for i in &plan.items {
        *by_type.entry(i.found.kind.clone()).or_default() += 1;
        *by_state.entry(state_key(i).to_string()).or_default() += 1;
        // An ARN's account field, when it has one and it is not the plan's, is shown apart.
        let field = i.found.arn.split(':').nth(4).unwrap_or("");
        let acct = if field.is_empty() || field == plan.account.id {
            account.clone()
        } else {
            field.to_string()
        };
        *by_account.entry(acct).or_default() += 1;
    }
    let depth = levels.values().max().copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "<h2>Totals</h2>\n<p id=\"summary\"><b id=\"t-items\">{}</b> items: <b id=\"t-delete\">{}</b> \
         to delete in <b id=\"t-levels\">{depth}</b> dependency levels, <b id=\"t-held\">{}</b> held \
         back{}</p>\n<div class=\"totals\">",
        plan.items.len(),
        plan.items.len() - held.len(),
        held.len(),
        if plan.unknown.is_empty() {
            String::new()
        } else {
            format!(
                "; {} more found by tag, of types kirikae does not know (listed only, never deleted)",
                plan.unknown.len()
            )
        }
    );
    count_table(s, "t-type", "type", &by_type);
    count_table(s, "t-account", "account", &by_account);
    count_table(s, "t-state", "state", &by_state);
    s.push_str("</div>\n");
}

fn filters(s: &mut String, plan: &Plan) {
    let types: std::collections::BTreeSet<String> =
        plan.items.iter().map(|i| i.found.kind.clone()).collect();
    let states: std::collections::BTreeSet<String> = plan
        .items
        .iter()
        .map(|i| state_key(i).to_string())
        .collect();
    let _ = writeln!(
        s,
        "<form id=\"filters\" hidden>\
         <label>type <select id=\"f-type\">{}</select></label>\
         <label>state <select id=\"f-state\">{}</select></label>\
         <label>tag (key=value, key, =value) <input id=\"f-tag\" type=\"search\" autocomplete=\"off\"></label>\
         <label>age at least (days) <input id=\"f-age-min\" type=\"number\" min=\"0\"></label>\
         <label>age at most (days) <input id=\"f-age-max\" type=\"number\" min=\"0\"></label>\
         <label>held back <select id=\"f-held\"><option value=\"\">all</option>\
         <option value=\"no\">to delete</option><option value=\"yes\">held back</option></select></label>\
         <button id=\"f-reset\" type=\"button\">show all</button>\
         <span>showing <b id=\"shown\">{n}</b> of {n}</span></form>\
         <noscript><p>Filters and sorting need JavaScript; every item is listed below.</p></noscript>",
        options(types),
        options(states),
        n = plan.items.len()
    );
}

fn deletion_order(s: &mut String, items: &[&PlanItem], levels: &HashMap<String, usize>) {
    let mut by_level: BTreeMap<usize, Vec<&PlanItem>> = BTreeMap::new();
    for i in items {
        if let Some(l) = levels.get(&i.found.arn) {
            by_level.entry(*l).or_default().push(i);
        }
    }
    s.push_str(
        "<h2>Deletion order</h2>\n<p>By dependency level, as <code>apply</code>'s dry run reports \
         it: level 1 holds what nothing else in the plan uses; an item goes as soon as every item \
         that uses it is gone, so levels overlap in a real run.</p>\n<ol class=\"levels\" id=\"order\">\n",
    );
    for (level, items) in &by_level {
        let list: Vec<String> = items
            .iter()
            .map(|i| {
                format!(
                    "<code>{}</code> {}{}",
                    esc(&i.found.kind),
                    esc(&i.found.id),
                    i.found
                        .name
                        .as_deref()
                        .filter(|n| *n != i.found.id)
                        .map(|n| format!(" ({})", esc(n)))
                        .unwrap_or_default()
                )
            })
            .collect();
        // A long level reads as its types first; its items unfold on a click.
        let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
        for i in items {
            *per_type.entry(i.found.kind.as_str()).or_default() += 1;
        }
        let types: Vec<String> = per_type
            .iter()
            .map(|(t, n)| format!("{} {n}", esc(t)))
            .collect();
        let _ = writeln!(
            s,
            "<li value=\"{level}\" data-level=\"{level}\"><details{}><summary>level {level} \
             ({} items): {}</summary>{}</details></li>",
            if items.len() <= 12 { " open" } else { "" },
            items.len(),
            types.join(", "),
            list.join(", ")
        );
    }
    s.push_str("</ol>\n");
}

fn held_section(s: &mut String, items: &[&PlanItem], held: &BTreeMap<String, String>) {
    let _ = writeln!(
        s,
        "<h2>Held back ({})</h2>\n<p>What the plan itself shows <code>apply</code> will not delete. \
         <code>apply</code> checks every item again before deleting and may hold back more (changed \
         since the scan, tag removed, used by something outside the plan).</p>",
        held.len()
    );
    if held.is_empty() {
        s.push_str("<p id=\"held\">Nothing.</p>\n");
        return;
    }
    s.push_str("<table id=\"held\"><thead><tr><th>type</th><th>id</th><th>name</th><th>why</th></tr></thead><tbody>\n");
    for i in items {
        if let Some(why) = held.get(&i.found.arn) {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"why\">{}</td></tr>",
                esc(&i.found.kind),
                esc(&i.found.id),
                esc(i.found.name.as_deref().unwrap_or("")),
                esc(why)
            );
        }
    }
    s.push_str("</tbody></table>\n");
}

fn unknown(s: &mut String, plan: &Plan) {
    if plan.unknown.is_empty() {
        return;
    }
    s.push_str("<h2>Found by tag, type unknown to kirikae (listed only, never deleted)</h2>\n<table id=\"unknown\"><thead><tr><th>type</th><th>ARN</th><th>tags</th><th>why</th></tr></thead><tbody>\n");
    for u in &plan.unknown {
        let tags: String = u
            .tags
            .iter()
            .map(|(k, v)| format!("<span>{}={}</span>", esc(k), esc(v)))
            .collect();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"tags\">{tags}</td><td>{}</td></tr>",
            esc(&u.resource_type),
            esc(&u.arn),
            esc(u.reason.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Found, PlanAccount};

    fn plan(items: Vec<(Found, MarkStatus)>) -> Plan {
        Plan {
            format: crate::PLAN_FORMAT.into(),
            id: "p1".into(),
            created: "t".into(),
            account: PlanAccount {
                name: "prod".into(),
                id: "111111111111".into(),
                alias: None,
                protected: false,
            },
            regions: vec!["r1".into()],
            tag_key: "kirikae:sweep".into(),
            selectors: vec![],
            items: items
                .into_iter()
                .map(|(found, mark)| PlanItem {
                    description: found.describe(),
                    fingerprint: found.fingerprint("kirikae:sweep"),
                    mark,
                    digest: None,
                    found,
                })
                .collect(),
            unknown: vec![],
            group: None,
            digest: None,
        }
    }

    fn found(kind: &str, id: &str, uses: &[&str]) -> Found {
        let mut f = Found::new(kind, "r1", id, format!("arn:aws:x:r1:111111111111:{id}"));
        f.depends_on = uses
            .iter()
            .map(|u| format!("arn:aws:x:r1:111111111111:{u}"))
            .collect();
        f
    }

    #[test]
    fn user_data_is_escaped_everywhere_it_appears() {
        let hostile = "<script>alert(1)</script>\"'&";
        let f = found("ec2:volume", hostile, &[])
            .tags_from([(hostile.to_string(), hostile.to_string())]);
        let page = render(
            &plan(vec![(f, MarkStatus::TaggingApi)]),
            0,
            &Integrity::Intact,
            &ReviewOptions::default(),
        );
        assert!(!page.contains("<script>alert"), "{page}");
        assert_eq!(
            page.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    }

    #[test]
    fn the_csp_allows_exactly_the_inline_style_and_script() {
        let page = render(
            &plan(vec![]),
            0,
            &Integrity::Unsealed,
            &ReviewOptions::default(),
        );
        let csp = content_security_policy();
        assert!(page.contains(&format!("content=\"{}\"", esc(&csp))));
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(csp.starts_with(&format!(
            "default-src 'none'; style-src {}; script-src {};",
            csp_source(STYLE),
            csp_source(SCRIPT)
        )));
        assert!(page.contains("data-integrity=\"unsealed\""));
        assert!(page.contains("apply refuses this plan as a whole"));
    }

    #[test]
    fn held_back_items_keep_what_they_use_and_levels_leave_them_out() {
        let p = plan(vec![
            (
                found("ec2:instance", "i-1", &["subnet-1"]),
                MarkStatus::TaggingApi,
            ),
            (
                found("ec2:subnet", "subnet-1", &["vpc-1"]),
                MarkStatus::TaggingApi,
            ),
            (found("ec2:vpc", "vpc-1", &[]), MarkStatus::TaggingApi),
            (
                found("rds:cluster", "db-1", &["subnet-1"]).prop("deletion_protection", "true"),
                MarkStatus::TaggingApi,
            ),
            (
                found("rds:db-instance", "db-1-a", &["db-1"]),
                MarkStatus::TaggingApi,
            ),
            (found("ec2:volume", "vol-1", &[]), MarkStatus::NotYet),
        ]);
        let held = held_back(&p);
        let why = |id: &str| held[&format!("arn:aws:x:r1:111111111111:{id}")].clone();
        assert_eq!(held.len(), 5, "{held:?}");
        assert!(why("db-1").starts_with("deletion protection is on"));
        assert!(why("db-1-a").starts_with("part of db-1"));
        assert!(why("subnet-1").starts_with("used by rds:cluster db-1"));
        assert!(why("vpc-1").starts_with("used by ec2:subnet subnet-1"));
        assert!(why("vol-1").starts_with("not marked"));
        let levels = levels(&p, &held);
        assert_eq!(levels.len(), 1);
        assert_eq!(levels["arn:aws:x:r1:111111111111:i-1"], 1);
    }
}
