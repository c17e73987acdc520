//! The cost part's tables: one per account, months as columns, services then the cost tag's
//! values as rows.

use kirikae_audit::{CostReport, Series};

use crate::render::Table;

/// Services shown by name per account; the rest are summed as "other services".
const TOP_SERVICES: usize = 8;

fn cell(a: f64) -> String {
    if a == 0.0 {
        "-".to_string()
    } else {
        format!("{a:.2}")
    }
}

pub fn tables(cost: &CostReport) -> anyhow::Result<()> {
    let mut header = vec!["USD".to_string()];
    header.extend(cost.months.iter().zip(&cost.estimated).map(|(m, e)| {
        if *e {
            format!("{m} (est.)")
        } else {
            m.to_string()
        }
    }));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    for account in &cost.accounts {
        outln!(
            "Cost of {} ({}), answered by {}:",
            account.account,
            account.account_id,
            account.answered_by
        )?;
        let mut t = Table::new(&header);
        let row = |name: String, amounts: &[f64]| {
            let mut r = vec![name];
            r.extend(amounts.iter().map(|a| cell(*a)));
            r
        };
        for s in account.services.iter().take(TOP_SERVICES) {
            t.row(row(s.name.clone(), &s.amounts));
        }
        if account.services.len() > TOP_SERVICES {
            let mut other = vec![0.0; cost.months.len()];
            for s in &account.services[TOP_SERVICES..] {
                for (o, a) in other.iter_mut().zip(&s.amounts) {
                    *o += a;
                }
            }
            t.row(row("other services".into(), &other));
        }
        t.row(row("total".into(), &account.totals));
        for s in &account.tag_values {
            t.row(row(tag_label(&cost.tag, s), &s.amounts));
        }
        let shares: Vec<String> = (0..cost.months.len())
            .map(|i| {
                account
                    .untagged_percent(i)
                    .map_or("-".into(), |p| format!("{p:.0} %"))
            })
            .collect();
        let mut r = vec![format!("untagged share ({})", cost.tag)];
        r.extend(shares);
        t.row(r);
        out!("{}", t.render())?;
        outln!()?;
    }
    Ok(())
}

fn tag_label(tag: &str, s: &Series) -> String {
    if s.name.is_empty() {
        format!("{tag}: (untagged)")
    } else {
        format!("{tag}={}", s.name)
    }
}
