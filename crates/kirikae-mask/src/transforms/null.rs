//! `null`: the column becomes NULL (the column must be nullable).

use std::sync::Arc;

use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug)]
pub struct Null;

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    if let Some(k) = params.keys().next() {
        return Err(format!("null takes no parameters, found `{k}`"));
    }
    Ok(Arc::new(Null))
}

impl Transform for Null {
    fn name(&self) -> &'static str {
        "null"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        if column.nullable {
            Ok(())
        } else {
            Err(format!(
                "null needs a nullable column, but {} is NOT NULL: use `fixed` instead",
                column.name
            ))
        }
    }
    fn apply(&self, _value: Option<&str>, _row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        None
    }
    fn sql(&self, _ctx: &SqlContext<'_>) -> Option<String> {
        Some("NULL".into())
    }
}
