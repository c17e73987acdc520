//! `json`: JSON documents with rules per path; other keys are kept.
//!
//! ```toml
//! profile = { transform = "json", paths = { "$.email" = { transform = "email" }, "$.name" = { transform = "person_name" }, "$.phones[*]" = "phone" } }
//! ```
//!
//! Paths: `$`, then `.key`, `[n]` (array index) or `[*]` (every element). A rule applies to the
//! value's text (numbers and booleans as written, objects and arrays as their JSON text); a result
//! that reads as the original's type (a number for a number) keeps that type, otherwise it is a
//! string; NULL becomes JSON null. A value that is not JSON becomes JSON `null` (never kept).
//! Rust only (no SQL form).

use std::sync::Arc;

use serde_json::Value;

use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Every,
}

#[derive(Debug)]
struct PathRule {
    path: String,
    steps: Vec<Step>,
    transform: Arc<dyn Transform>,
}

#[derive(Debug)]
pub struct Json {
    rules: Vec<PathRule>,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    for k in params.keys() {
        if k != "paths" {
            return Err(format!("json: unknown parameter `{k}`, expected `paths`"));
        }
    }
    let Some(toml::Value::Table(paths)) = params.get("paths") else {
        return Err("json: expected `paths = { \"$.key\" = { transform = \"...\" }, ... }`".into());
    };
    let mut rules = Vec::new();
    for (path, rule) in paths {
        let steps = parse_path(path)?;
        let transform = super::build(rule).map_err(|e| format!("json: path {path:?}: {e}"))?;
        if transform.name() == "json" {
            return Err(format!(
                "json: path {path:?}: a json rule inside json is not supported"
            ));
        }
        rules.push(PathRule {
            path: path.clone(),
            steps,
            transform,
        });
    }
    Ok(Arc::new(Json { rules }))
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| {
        format!("json: path {path:?} {why} (expected e.g. \"$.profile.name\", \"$.phones[0]\", \"$.items[*].email\")")
    };
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| bad("does not start with `$`"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                if key.is_empty() {
                    return Err(bad("has an empty key"));
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(c) => inner.push(c),
                        None => return Err(bad("has an unclosed `[`")),
                    }
                }
                steps.push(if inner == "*" {
                    Step::Every
                } else {
                    Step::Index(
                        inner
                            .parse()
                            .map_err(|_| bad("has an index that is not a number or *"))?,
                    )
                });
            }
            _ => return Err(bad("is malformed")),
        }
    }
    if steps.is_empty() {
        return Err(bad(
            "names the whole document: use a transform on the column instead",
        ));
    }
    Ok(steps)
}

fn visit(v: &mut Value, steps: &[Step], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = steps.split_first() else {
        f(v);
        return;
    };
    match (first, v) {
        (Step::Key(k), Value::Object(m)) => {
            if let Some(child) = m.get_mut(k) {
                visit(child, rest, f);
            }
        }
        (Step::Index(i), Value::Array(a)) => {
            if let Some(child) = a.get_mut(*i) {
                visit(child, rest, f);
            }
        }
        (Step::Every, Value::Array(a)) => {
            for child in a {
                visit(child, rest, f);
            }
        }
        (Step::Every, Value::Object(m)) => {
            for child in m.values_mut() {
                visit(child, rest, f);
            }
        }
        _ => {}
    }
}

fn mask_leaf(v: &mut Value, t: &dyn Transform, row: &RowView<'_>, prf: &Prf) {
    let text = match &mut *v {
        Value::Null => return,
        Value::String(s) => std::mem::take(s),
        other => other.to_string(),
    };
    let out = t.apply(Some(&text), row, prf);
    *v = match (out, &*v) {
        (None, _) => Value::Null,
        (Some(s), Value::Number(_)) => match serde_json::from_str::<Value>(&s) {
            Ok(n @ Value::Number(_)) => n,
            _ => Value::String(s),
        },
        (Some(s), Value::Bool(_)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Some(s), _) => Value::String(s),
    };
}

impl Transform for Json {
    fn name(&self) -> &'static str {
        "json"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match column.kind {
            ColumnKind::Json | ColumnKind::Text => {}
            _ => return Err(super::wrong_type("json", "a JSON or text column", column)),
        }
        // The rules see JSON strings: check them against an unbounded text column.
        let text = Column {
            kind: ColumnKind::Text,
            max_chars: None,
            ..column.clone()
        };
        for r in &self.rules {
            r.transform
                .check(&text)
                .map_err(|e| format!("json path {:?}: {e}", r.path))?;
        }
        Ok(())
    }
    fn reads(&self) -> Vec<String> {
        let mut cols = Vec::new();
        for r in &self.rules {
            for c in r.transform.reads() {
                if !cols.contains(&c) {
                    cols.push(c);
                }
            }
        }
        cols
    }
    fn apply(&self, value: Option<&str>, row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let Ok(mut doc) = serde_json::from_str::<Value>(value?) else {
            return Some("null".into());
        };
        for r in &self.rules {
            visit(&mut doc, &r.steps, &mut |v| {
                mask_leaf(v, r.transform.as_ref(), row, prf)
            });
        }
        Some(doc.to_string())
    }
    fn sql(&self, _ctx: &SqlContext<'_>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(rule: &str) -> Result<Arc<dyn Transform>, String> {
        let t: toml::Table = toml::from_str(&format!("r = {rule}")).unwrap();
        super::super::build(&t["r"])
    }

    #[test]
    fn paths_are_masked_and_other_keys_kept() {
        let prf = Prf::from_secret(b"k");
        let t = json(
            r#"{ transform = "json", paths = { "$.email" = { transform = "email" }, "$.profile.name" = { transform = "person_name" }, "$.phones[*]" = "phone", "$.age" = { transform = "number_noise", absolute = 2 } } }"#,
        )
        .unwrap();
        let doc = r#"{"email":"hanako@corp.jp","profile":{"name":"山田 花子","city":"港区"},"phones":["090-1234-5678","03-1234-5678"],"age":40,"id":7}"#;
        let out: Value = serde_json::from_str(&t.apply_one(Some(doc), &prf).unwrap()).unwrap();
        let email = super::super::email::Email::from_params(&toml::Table::new())
            .unwrap()
            .mask("hanako@corp.jp", &prf);
        assert_eq!(out["email"], Value::String(email));
        assert_ne!(out["profile"]["name"], "山田 花子");
        assert_eq!(out["profile"]["city"], "港区");
        assert_eq!(out["id"], 7);
        assert!(out["age"].is_number() && out["age"] != 40);
        let p0 = out["phones"][0].as_str().unwrap();
        assert!(p0.starts_with("090-") && p0 != "090-1234-5678", "{p0}");
        assert_eq!(t.apply_one(Some("not json"), &prf).unwrap(), "null");
        assert_eq!(t.apply_one(None, &prf), None);
    }

    #[test]
    fn bad_paths_and_rules_are_refused() {
        let e = |r: &str| json(r).unwrap_err();
        assert!(e(r#"{ transform = "json", paths = { "email" = "email" } }"#).contains("`$`"));
        assert!(e(r#"{ transform = "json", paths = { "$.a[x]" = "email" } }"#).contains("index"));
        assert!(e(r#"{ transform = "json", paths = { "$.a" = "nope" } }"#)
            .contains("unknown transform"));
        assert!(e(r#"{ transform = "json", path = {} }"#).contains("path"));
    }
}
