//! `mask check`: the rules against the live schema, fail closed. Every problem is listed, each
//! with a stable id (so scripts and people can tell them apart), the table and column, and
//! what to do. `run` performs the same check first and stops on any problem.
//!
//! Foreign keys: a foreign key column and the column it references hold the same values, so
//! they must stay equal after masking. The rule: for each pair (child column, referenced
//! column), either both are `keep`, or both have the *same rule* (same transform, same
//! parameters) that reads no other column of the row (the output then depends only on the
//! value and the key, identically in every table), and that rule preserves uniqueness (the
//! referenced side is a key). A nullable child column may also be `null` (a NULL reference
//! holds). Anything else is reported as `breaks_foreign_key`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::rules::{Rules, TableRules};
use crate::schema::{Schema, Table};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable id: `table_without_rules`, `column_without_rule`, `unknown_table`,
    /// `unknown_column`, `type_mismatch`, `breaks_unique_index`, `breaks_foreign_key`,
    /// `no_key`, `bad_key`, `bad_reference`, `reads_itself`.
    pub id: &'static str,
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The line of the rule in the rules file, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}.{}", self.table, c)?,
            None => write!(f, "{}", self.table)?,
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        write!(f, ": {} [{}]", self.message, self.id)
    }
}

fn problem(id: &'static str, table: &str, column: Option<&str>, message: String) -> Problem {
    Problem {
        id,
        table: table.to_string(),
        column: column.map(str::to_string),
        line: None,
        message,
    }
}

/// Every problem of the rules against the schema (empty: the rules are complete and fit).
///
/// This also lets each transform see its live column (`Transform::check`), which some need
/// before writing their SQL form; run it before planning.
pub fn check(rules: &Rules, schema: &Schema) -> Vec<Problem> {
    let mut out = Vec::new();
    for table in &schema.tables {
        let Some(tr) = rules.table(&table.name) else {
            out.push(problem(
                "table_without_rules",
                &table.name,
                None,
                format!(
                    "table has no rules: add [tables.{}] with a rule for each of its {} columns \
                     (`kirikae mask init` writes a starter file)",
                    table.name,
                    table.columns.len()
                ),
            ));
            continue;
        };
        check_table(tr, table, &mut out);
    }
    for (name, tr) in &rules.tables {
        if schema.table(name).is_none() {
            let mut p = problem(
                "unknown_table",
                name,
                None,
                "the rules name a table that does not exist in the database".into(),
            );
            p.line = tr.columns.values().next().and_then(|c| c.line);
            out.push(p);
        }
    }
    check_foreign_keys(rules, schema, &mut out);
    out
}

fn check_table(tr: &TableRules, table: &Table, out: &mut Vec<Problem>) {
    for c in &table.columns {
        let Some(rule) = tr.column(&c.name) else {
            out.push(problem(
                "column_without_rule",
                &table.name,
                Some(&c.name),
                format!(
                    "column ({}) has no rule: add `{} = \"keep\"` or a transform under \
                     [tables.{}.columns]",
                    c.sql_type, c.name, table.name
                ),
            ));
            continue;
        };
        if let Err(e) = rule.transform.check(c) {
            let mut p = problem("type_mismatch", &table.name, Some(&c.name), e);
            p.line = rule.line;
            out.push(p);
        }
        for read in rule.transform.reads() {
            if read == c.name && rule.transform.name() == "template" {
                // The template would be evaluated on the row's original: the column's value
                // would be written back as it is, or inside a longer text.
                let mut p = problem(
                    "reads_itself",
                    &table.name,
                    Some(&c.name),
                    format!(
                        "the template reads {{{}}}, the column it writes: each row would keep its \
                         original value; build it from other columns only",
                        c.name
                    ),
                );
                p.line = rule.line;
                out.push(p);
            }
            if table.column(&read).is_none() {
                let mut p = problem(
                    "bad_reference",
                    &table.name,
                    Some(&c.name),
                    format!(
                        "the rule reads column {read}, which {} does not have",
                        table.name
                    ),
                );
                p.line = rule.line;
                out.push(p);
            }
        }
    }
    for (name, rule) in &tr.columns {
        if table.column(name).is_none() {
            let mut p = problem(
                "unknown_column",
                &table.name,
                Some(name),
                format!(
                    "the rules name a column that {} does not have (its columns: {})",
                    table.name,
                    table
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            p.line = rule.line;
            out.push(p);
        }
    }
    if let Err(cycle) = crate::plan::column_order(tr, table) {
        out.push(problem(
            "bad_reference",
            &table.name,
            None,
            format!(
                "the rules read each other in a cycle: {}",
                cycle.join(" -> ")
            ),
        ));
    }
    // Unique indexes and the primary key.
    let mut uniques: Vec<(&str, &Vec<String>)> =
        table.unique.iter().map(|u| ("a unique index", u)).collect();
    if !table.primary_key.is_empty() {
        uniques.push(("the primary key", &table.primary_key));
    }
    for (what, cols) in uniques {
        for col in cols {
            let Some(rule) = tr.column(col) else { continue };
            let t = &rule.transform;
            let nulls_ok = what == "a unique index" && t.name() == "null";
            if !t.preserves_uniqueness() && !nulls_ok {
                let mut p = problem(
                    "breaks_unique_index",
                    &table.name,
                    Some(col),
                    format!(
                        "column is in {what} ({}), but `{}` can map different values to the \
                         same one: use a transform that keeps values unique (email, hash with \
                         length 32) or `keep`",
                        cols.join(", "),
                        t.name()
                    ),
                );
                p.line = rule.line;
                out.push(p);
            }
        }
    }
    // The key used to chunk the table.
    match &tr.key {
        None if table.primary_key.is_empty() => out.push(problem(
            "no_key",
            &table.name,
            None,
            format!(
                "table has no primary key: kirikae copies tables by key ranges, so name a unique, \
                 NOT NULL column (or columns) with `key = [\"...\"]` under [tables.{}]",
                table.name
            ),
        )),
        None => {}
        Some(key) => {
            for k in key {
                match table.column(k) {
                    None => out.push(problem(
                        "bad_key",
                        &table.name,
                        Some(k),
                        "`key` names a column that does not exist".into(),
                    )),
                    Some(c) if c.nullable => out.push(problem(
                        "bad_key",
                        &table.name,
                        Some(k),
                        "`key` columns must be NOT NULL".into(),
                    )),
                    _ => {}
                }
            }
            let unique = table.primary_key == *key || table.unique.iter().any(|u| u == key);
            if !unique {
                out.push(problem(
                    "bad_key",
                    &table.name,
                    None,
                    format!(
                        "`key = [{}]` is not the primary key or a unique index: chunks by a \
                         non-unique key could copy a row twice or miss it",
                        key.join(", ")
                    ),
                ));
            }
        }
    }
}

fn check_foreign_keys(rules: &Rules, schema: &Schema, out: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    for table in &schema.tables {
        for fk in &table.foreign_keys {
            let (Some(child), Some(parent)) =
                (rules.table(&fk.table), rules.table(&fk.referenced_table))
            else {
                continue;
            };
            for (c, p) in fk.columns.iter().zip(&fk.referenced_columns) {
                let (Some(cr), Some(pr)) = (child.column(c), parent.column(p)) else {
                    continue;
                };
                let both_keep = cr.transform.is_keep() && pr.transform.is_keep();
                let same_mapping = cr.spec == pr.spec
                    && cr.transform.reads().is_empty()
                    && cr.transform.preserves_uniqueness();
                let child_nulled = cr.transform.name() == "null";
                if both_keep || same_mapping || child_nulled {
                    continue;
                }
                if !seen.insert((fk.table.clone(), fk.name.clone(), c.clone())) {
                    continue;
                }
                let mut pr_ = problem(
                    "breaks_foreign_key",
                    &fk.table,
                    Some(c),
                    format!(
                        "foreign key {} references {}.{p}: both columns must be `keep`, or have \
                         the same rule that keeps values unique and reads no other column \
                         (found {} and {})",
                        fk.name,
                        fk.referenced_table,
                        describe(&cr.spec),
                        describe(&pr.spec)
                    ),
                );
                pr_.line = cr.line;
                out.push(pr_);
            }
        }
    }
}

fn describe(spec: &toml::Value) -> String {
    match spec {
        toml::Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// Problems grouped by table, for rendering.
pub fn by_table(problems: &[Problem]) -> BTreeMap<&str, Vec<&Problem>> {
    let mut m: BTreeMap<&str, Vec<&Problem>> = BTreeMap::new();
    for p in problems {
        m.entry(p.table.as_str()).or_default().push(p);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnKind};

    fn schema() -> Schema {
        let text = |name: &str| Column {
            name: name.into(),
            sql_type: "varchar(50)".into(),
            kind: ColumnKind::Text,
            nullable: true,
            max_chars: Some(50),
        };
        let mut t = Table::new("people".into(), 0);
        t.columns = vec![
            Column {
                name: "id".into(),
                sql_type: "int(11)".into(),
                kind: ColumnKind::Integer,
                nullable: false,
                max_chars: None,
            },
            text("name"),
            text("login"),
        ];
        t.primary_key = vec!["id".into()];
        Schema { tables: vec![t] }
    }

    fn problems(name: &str, login: &str) -> Vec<Problem> {
        let rules = Rules::from_toml_str(&format!(
            "[tables.people.columns]\nid = \"keep\"\nname = {name}\nlogin = {login}\n"
        ))
        .unwrap();
        check(&rules, &schema())
    }

    #[test]
    fn a_template_that_reads_its_own_column_is_refused() {
        for template in ["{name}", "x-{name}", "{login}{name}"] {
            let p = problems(
                &format!("{{ transform = \"template\", template = \"{template}\" }}"),
                "\"keep\"",
            );
            assert_eq!(p.len(), 1, "{template}: {p:?}");
            assert_eq!(p[0].id, "reads_itself");
            assert_eq!(p[0].column.as_deref(), Some("name"));
            assert_eq!(p[0].line, Some(3));
            assert!(p[0].message.contains("keep its original value"), "{}", p[0]);
        }
        // Built from other columns only: fine.
        let p = problems(
            "{ transform = \"person_name\" }",
            "{ transform = \"template\", template = \"{name}@example.invalid\" }",
        );
        assert!(p.is_empty(), "{p:?}");
    }
}
