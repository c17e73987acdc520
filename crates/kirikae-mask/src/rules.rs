//! The rules file (TOML): for every table, the key column(s) and, for every column, a transform
//! or `keep`. Parameters are validated here, when the file is read; fitness for the live column
//! types is checked later against the schema (`check`).
//!
//! ```toml
//! [tables.users]
//! key = ["id"]                       # optional: the primary key by default
//! [tables.users.columns]
//! id = "keep"
//! email = { transform = "email", domain = "example.invalid" }
//! note = "null"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::transform::Transform;

/// The rules-file versions this kirikae reads (`version = 1`, or no `version`).
pub const SUPPORTED_VERSIONS: &[i64] = &[1];

#[derive(Debug, Clone)]
pub struct Rules {
    /// Where the rules came from (for messages).
    pub source: PathBuf,
    pub tables: BTreeMap<String, TableRules>,
}

#[derive(Debug, Clone)]
pub struct TableRules {
    pub name: String,
    /// The key used to chunk and to join back; `None` means the primary key.
    pub key: Option<Vec<String>>,
    pub columns: BTreeMap<String, ColumnRule>,
}

#[derive(Debug, Clone)]
pub struct ColumnRule {
    pub table: String,
    pub column: String,
    pub transform: Arc<dyn Transform>,
    /// The rule as written (a name or a table of parameters): two columns with equal specs map
    /// equal values alike, which is what a foreign key between them needs.
    pub spec: toml::Value,
    /// The line of the rule in the file.
    pub line: Option<usize>,
}

/// One thing wrong in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesProblem {
    /// e.g. `tables.users.columns.email`
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for RulesProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} (line {l}): {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read the rules file {}: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}", render(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<RulesProblem>,
    },
}

impl RulesError {
    pub fn problems(&self) -> &[RulesProblem] {
        match self {
            RulesError::Invalid { problems, .. } => problems,
            RulesError::Unreadable { .. } => &[],
        }
    }
}

fn render(path: &Path, problems: &[RulesProblem]) -> String {
    let mut s = format!(
        "{}: {} problem{} in the masking rules:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

impl Rules {
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|error| RulesError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        Rules::parse(&text, path)
    }

    /// For tests and docs: rules from a string.
    pub fn from_toml_str(text: &str) -> Result<Rules, RulesError> {
        Rules::parse(text, Path::new("<rules>"))
    }

    pub fn parse(text: &str, path: &Path) -> Result<Rules, RulesError> {
        let mut problems = Vec::new();
        let line = |parts: &[&str]| kirikae_config::line_of_key(text, parts);
        let invalid = |problems| RulesError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let doc: toml::Table = match text.parse() {
            Ok(d) => d,
            Err(e) => {
                let e: toml::de::Error = e;
                return Err(invalid(vec![RulesProblem {
                    key: String::new(),
                    line: e.span().map(|s| text[..s.start].matches('\n').count() + 1),
                    message: format!("not valid TOML: {}", e.message().trim()),
                }]));
            }
        };
        for key in doc.keys() {
            if key != "tables" && key != "version" {
                problems.push(RulesProblem {
                    key: key.clone(),
                    line: line(&[key]),
                    message: "unknown key: a rules file has `version` and [tables.<name>] sections"
                        .into(),
                });
            }
        }
        match doc.get("version") {
            None => {}
            Some(toml::Value::Integer(v)) if SUPPORTED_VERSIONS.contains(v) => {}
            Some(v) => problems.push(RulesProblem {
                key: "version".into(),
                line: line(&["version"]),
                message: format!(
                    "unsupported rules version {v}: this kirikae reads version {} (a file \
                     written for another version may mean something else by its rules)",
                    SUPPORTED_VERSIONS
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
        let mut tables = BTreeMap::new();
        let empty = toml::Table::new();
        let raw_tables = match doc.get("tables") {
            None => &empty,
            Some(toml::Value::Table(t)) => t,
            Some(_) => {
                problems.push(RulesProblem {
                    key: "tables".into(),
                    line: line(&["tables"]),
                    message: "expected [tables.<name>] sections".into(),
                });
                &empty
            }
        };
        for (tname, tvalue) in raw_tables {
            let tkey = format!("tables.{tname}");
            let Some(t) = tvalue.as_table() else {
                problems.push(RulesProblem {
                    key: tkey,
                    line: line(&["tables", tname]),
                    message: "expected a table with `key` and `columns`".into(),
                });
                continue;
            };
            for k in t.keys() {
                if k != "key" && k != "columns" {
                    problems.push(RulesProblem {
                        key: format!("{tkey}.{k}"),
                        line: line(&["tables", tname, k]),
                        message: "unknown key: a table has `key` and `columns`".into(),
                    });
                }
            }
            let key = match t.get("key") {
                None => None,
                Some(toml::Value::Array(a)) if !a.is_empty() && a.iter().all(|v| v.is_str()) => {
                    Some(
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    )
                }
                Some(_) => {
                    problems.push(RulesProblem {
                        key: format!("{tkey}.key"),
                        line: line(&["tables", tname, "key"]),
                        message: "expected a list of column names, such as [\"id\"]".into(),
                    });
                    None
                }
            };
            let mut columns = BTreeMap::new();
            match t.get("columns") {
                Some(toml::Value::Table(cols)) => {
                    for (cname, cvalue) in cols {
                        let ckey = format!("{tkey}.columns.{cname}");
                        let cline = line(&["tables", tname, "columns", cname]);
                        match crate::transforms::build(cvalue) {
                            Ok(transform) => {
                                columns.insert(
                                    cname.clone(),
                                    ColumnRule {
                                        table: tname.clone(),
                                        column: cname.clone(),
                                        transform,
                                        spec: cvalue.clone(),
                                        line: cline,
                                    },
                                );
                            }
                            Err(message) => problems.push(RulesProblem {
                                key: ckey,
                                line: cline,
                                message,
                            }),
                        }
                    }
                }
                _ => problems.push(RulesProblem {
                    key: format!("{tkey}.columns"),
                    line: line(&["tables", tname]),
                    message: "expected [tables.<name>.columns] with a rule for every column".into(),
                }),
            }
            tables.insert(
                tname.clone(),
                TableRules {
                    name: tname.clone(),
                    key,
                    columns,
                },
            );
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Rules {
            source: path.to_path_buf(),
            tables,
        })
    }

    pub fn table(&self, name: &str) -> Option<&TableRules> {
        self.tables.get(name)
    }
}

impl TableRules {
    pub fn column(&self, name: &str) -> Option<&ColumnRule> {
        self.columns.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "[tables.t.columns]\nid = \"keep\"\n";

    #[test]
    fn version_1_or_none_is_read() {
        assert!(Rules::from_toml_str(TABLE).is_ok());
        assert!(Rules::from_toml_str(&format!("version = 1\n{TABLE}")).is_ok());
    }

    #[test]
    fn an_unknown_version_is_refused_with_the_supported_list() {
        for v in ["2", "0", "-1", "\"1\"", "1.0", "99999999999"] {
            let e = Rules::from_toml_str(&format!("version = {v}\n{TABLE}")).unwrap_err();
            let p = e.problems();
            assert_eq!(p.len(), 1, "{v}: {p:?}");
            assert_eq!(p[0].key, "version");
            assert_eq!(p[0].line, Some(1));
            assert!(
                p[0].message.contains("unsupported rules version")
                    && p[0].message.contains("reads version 1"),
                "{v}: {}",
                p[0].message
            );
        }
    }
}
