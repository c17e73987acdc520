//! The transform registry: one file per transform; a rules entry is either a transform name
//! (`"keep"`) or a table `{ transform = "<name>", <parameters>... }`.
//!
//! Adding a transform: add its file, and one line to [`REGISTRY`].

mod fixed;
mod hash;
mod keep;
mod null;

use std::sync::Arc;

use crate::transform::Transform;

type Builder = fn(&toml::Table) -> Result<Arc<dyn Transform>, String>;

/// Every transform by its rules-file name.
pub const REGISTRY: &[(&str, Builder)] = &[
    ("keep", keep::build),
    ("null", null::build),
    ("fixed", fixed::build),
    ("hash", hash::build),
];

pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
}

/// Builds the transform of one rules entry.
pub fn build(entry: &toml::Value) -> Result<Arc<dyn Transform>, String> {
    let (name, params) =
        match entry {
            toml::Value::String(name) => (name.as_str(), toml::Table::new()),
            toml::Value::Table(t) => {
                let name = t
                    .get("transform")
                    .and_then(|v| v.as_str())
                    .ok_or("expected `transform = \"<name>\"` in the rule")?;
                let mut params = t.clone();
                params.remove("transform");
                (name, params)
            }
            _ => return Err(
                "expected a transform name such as \"keep\", or { transform = \"<name>\", ... }"
                    .into(),
            ),
        };
    let builder = REGISTRY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b)
        .ok_or_else(|| format!("unknown transform {name:?} (known: {})", names().join(", ")))?;
    builder(&params)
}

/// Deserialises a transform's parameters, refusing unknown ones with the list of known ones.
pub(crate) fn params<T: serde::de::DeserializeOwned>(
    transform: &str,
    params: &toml::Table,
) -> Result<T, String> {
    T::deserialize(toml::Value::Table(params.clone()))
        .map_err(|e| format!("{transform}: {}", e.message().trim()))
}

/// The common refusal of a column type.
pub(crate) fn wrong_type(transform: &str, wanted: &str, column: &crate::schema::Column) -> String {
    format!(
        "{transform} needs {wanted}, but column {} is {}",
        column.name, column.sql_type
    )
}
