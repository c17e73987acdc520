//! The transform interface. One file per transform under `transforms/`, each declaring its
//! parameters (validated when the rules file is read), the column types it accepts (checked
//! against the live schema before any row is touched), its Rust form and, when it has one, its
//! SQL form. The two forms must give byte-identical output on both engines (golden tests).

use std::fmt;

use crate::prf::Prf;
use crate::schema::Column;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    MySql,
    Postgres,
}

impl Dialect {
    /// A string literal safe to embed in SQL.
    pub fn string_literal(&self, s: &str) -> String {
        match self {
            Dialect::MySql => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("''"),
                        '\\' => out.push_str("\\\\"),
                        '\0' => out.push_str("\\0"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
            // standard_conforming_strings is on by default since PostgreSQL 9.1.
            Dialect::Postgres => format!("'{}'", s.replace('\'', "''")),
        }
    }

    /// A quoted identifier.
    pub fn ident(&self, s: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", s.replace('`', "``")),
            Dialect::Postgres => format!("\"{}\"", s.replace('"', "\"\"")),
        }
    }

    /// The canonical text of a column value (what the Rust path sees for the same cell).
    pub fn as_text(&self, expr: &str) -> String {
        match self {
            Dialect::MySql => format!("CAST({expr} AS CHAR)"),
            Dialect::Postgres => format!("({expr})::text"),
        }
    }
}

/// The row a transform sees on the Rust path: the original values of every column, and the
/// masked values of the columns already masked (for `template`).
pub struct RowView<'a> {
    pub columns: &'a [String],
    pub original: &'a [Option<&'a str>],
    pub masked: &'a [Option<Option<String>>],
}

impl<'a> RowView<'a> {
    pub const EMPTY: RowView<'static> = RowView {
        columns: &[],
        original: &[],
        masked: &[],
    };

    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
    /// The original value of another column of the row.
    pub fn original(&self, name: &str) -> Option<&str> {
        self.index(name)
            .and_then(|i| self.original.get(i).copied().flatten())
    }
    /// The masked value of another column (`None` if not masked yet or NULL).
    pub fn masked(&self, name: &str) -> Option<&str> {
        self.index(name)
            .and_then(|i| self.masked.get(i))
            .and_then(|m| m.as_ref())
            .and_then(|m| m.as_deref())
    }
}

/// What a transform needs to write its SQL form.
pub struct SqlContext<'a> {
    pub dialect: Dialect,
    pub prf: &'a Prf,
    /// The quoted identifier of this column in the source row.
    pub column: &'a str,
    /// The quoted identifier of another column of the source row.
    pub original: &'a dyn Fn(&str) -> String,
    /// The SQL expression of another column's masked value, when it has one.
    pub masked: &'a dyn Fn(&str) -> Option<String>,
}

pub trait Transform: Send + Sync + fmt::Debug {
    /// The transform's name in the rules file.
    fn name(&self) -> &'static str;

    /// Whether this transform fits the column; `Err` says what it expected, e.g.
    /// "email needs a text column, found int(11)".
    fn check(&self, column: &Column) -> Result<(), String>;

    /// Other columns of the row this transform reads (template, a kana column's `from`).
    fn reads(&self) -> Vec<String> {
        Vec::new()
    }

    /// Distinct non-NULL inputs give distinct outputs, so a unique index stays valid.
    fn preserves_uniqueness(&self) -> bool {
        false
    }

    /// `keep` is special to the planner: the column is not written.
    fn is_keep(&self) -> bool {
        false
    }

    /// The Rust path: the masked value of one cell (`None` is SQL NULL).
    fn apply(&self, value: Option<&str>, row: &RowView<'_>, prf: &Prf) -> Option<String>;

    /// The SQL path: an expression giving exactly what `apply` gives, or `None` when the
    /// transform has no SQL form (the table then takes the streaming path).
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String>;

    /// `apply` for a transform that reads no other column.
    fn apply_one(&self, value: Option<&str>, prf: &Prf) -> Option<String> {
        self.apply(value, &RowView::EMPTY, prf)
    }
}
