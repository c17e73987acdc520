//! `fixed`: every non-NULL value becomes the same value (`value = "..."`); NULL stays NULL
//! unless `nulls = true`.

use std::sync::Arc;

use serde::Deserialize;

use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    value: toml::Value,
    /// Replace NULLs too.
    #[serde(default)]
    nulls: bool,
    #[serde(skip)]
    text: String,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let mut f: Fixed = super::params("fixed", params)?;
    f.text = match &f.value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        _ => return Err("fixed: `value` must be a string, number, boolean or date".into()),
    };
    Ok(Arc::new(f))
}

impl Transform for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        let fits = match (&column.kind, &self.value) {
            (ColumnKind::Integer, toml::Value::Integer(_)) => true,
            (ColumnKind::Integer, _) => false,
            (ColumnKind::Decimal { .. } | ColumnKind::Float, v) => v.is_integer() || v.is_float(),
            (ColumnKind::Enum { values }, _) => values.contains(&self.text),
            (ColumnKind::Text, _) => column
                .max_chars
                .is_none_or(|m| self.text.chars().count() as u32 <= m),
            _ => true,
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "fixed value {:?} does not fit column {} ({})",
                self.text, column.name, column.sql_type
            ))
        }
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        if value.is_none() && !self.nulls {
            return None;
        }
        Some(self.text.clone())
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let lit = ctx.dialect.string_literal(&self.text);
        if self.nulls {
            Some(lit)
        } else {
            Some(format!(
                "CASE WHEN {} IS NULL THEN NULL ELSE {lit} END",
                ctx.column
            ))
        }
    }
}
