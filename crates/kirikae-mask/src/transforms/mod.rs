//! The transform registry: one file per transform; a rules entry is either a transform name
//! (`"keep"`) or a table `{ transform = "<name>", <parameters>... }`.
//!
//! Adding a transform: add its file, and one line to [`REGISTRY`].

mod address;
mod card;
mod date_generalize;
mod date_shift;
#[path = "../dict/mod.rs"]
pub mod dict;
mod email;
mod fixed;
mod hash;
mod jp_address;
mod jp_postal_code;
mod json;
mod keep;
mod null;
mod number_noise;
mod person_name;
mod phone;
pub(crate) mod sqlkit;
mod template;
mod text_scrub;

use std::sync::Arc;

use crate::transform::{RowView, SqlContext, Transform};

type Builder = fn(&toml::Table) -> Result<Arc<dyn Transform>, String>;

/// Every transform by its rules-file name.
pub const REGISTRY: &[(&str, Builder)] = &[
    ("keep", keep::build),
    ("null", null::build),
    ("fixed", fixed::build),
    ("hash", hash::build),
    ("person_name", person_name::build),
    ("email", email::build),
    ("phone", phone::build),
    ("jp_postal_code", jp_postal_code::build),
    ("template", template::build),
    ("date_shift", date_shift::build),
    ("date_generalize", date_generalize::build),
    ("number_noise", number_noise::build),
    ("jp_address", jp_address::build),
    ("address", address::build),
    ("card", card::build),
    ("text_scrub", text_scrub::build),
    ("json", json::build),
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

/// The text a pseudonym is drawn from: the original value of the `from` column when the rule
/// has one and it is not NULL (so `name_kana` follows `name`), else the cell's own value.
pub(crate) fn source<'a>(from: Option<&str>, value: &'a str, row: &'a RowView<'_>) -> &'a str {
    from.and_then(|f| row.original(f)).unwrap_or(value)
}

/// [`source`] in SQL, as text.
pub(crate) fn sql_source(ctx: &SqlContext<'_>, from: Option<&str>) -> String {
    let own = ctx.dialect.as_text(ctx.column);
    match from {
        Some(f) => format!(
            "COALESCE({}, {own})",
            ctx.dialect.as_text(&(ctx.original)(f))
        ),
        None => own,
    }
}

/// The refusal of a non-text column, for transforms that write text.
pub(crate) fn need_text(
    transform: &str,
    column: &crate::schema::Column,
    longest: Option<usize>,
) -> Result<(), String> {
    if !column.kind.is_text() {
        return Err(wrong_type(transform, "a text column", column));
    }
    if let (Some(max), Some(longest)) = (column.max_chars, longest) {
        if (max as usize) < longest {
            return Err(format!(
                "{transform} writes up to {longest} characters, but column {} is {}",
                column.name, column.sql_type
            ));
        }
    }
    Ok(())
}
