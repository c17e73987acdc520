//! `keep`: the column is not personal data and stays as it is (an explicit decision: fail
//! closed means every column needs one).

use std::sync::Arc;

use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug)]
pub struct Keep;

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    if let Some(k) = params.keys().next() {
        return Err(format!("keep takes no parameters, found `{k}`"));
    }
    Ok(Arc::new(Keep))
}

impl Transform for Keep {
    fn name(&self) -> &'static str {
        "keep"
    }
    fn check(&self, _column: &Column) -> Result<(), String> {
        Ok(())
    }
    fn is_keep(&self) -> bool {
        true
    }
    fn preserves_uniqueness(&self) -> bool {
        true
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        value.map(str::to_string)
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        Some(ctx.column.to_string())
    }
}
