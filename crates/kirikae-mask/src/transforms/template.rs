//! `template`: a value built from other columns of the same row, masked ones by their masked
//! value and kept ones by their original: `template = "{given}.{family}@example.invalid"`.
//! `{{` and `}}` write braces. A NULL cell stays NULL; a NULL column in the template writes
//! nothing.

use std::sync::Arc;

use serde::Deserialize;

use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    template: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Column(String),
}

#[derive(Debug)]
pub struct Template {
    pieces: Vec<Piece>,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let p: Params = super::params("template", params)?;
    Ok(Arc::new(Template {
        pieces: parse(&p.template)?,
    }))
}

fn parse(t: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => {
                            return Err(format!(
                                "template: unclosed `{{{name}` in {t:?} (write `{{{{` for a brace)"
                            ))
                        }
                    }
                }
                if name.trim().is_empty() {
                    return Err(format!("template: empty `{{}}` in {t:?}"));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Column(name.trim().to_string()));
            }
            '}' => return Err(format!("template: lone `}}` in {t:?} (write `}}}}`)")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

impl Transform for Template {
    fn name(&self) -> &'static str {
        "template"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text("template", column, None)
    }
    fn reads(&self) -> Vec<String> {
        let mut cols: Vec<String> = Vec::new();
        for p in &self.pieces {
            if let Piece::Column(c) = p {
                if !cols.contains(c) {
                    cols.push(c.clone());
                }
            }
        }
        cols
    }
    fn apply(&self, value: Option<&str>, row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        value?;
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Column(c) => {
                    let i = row.columns.iter().position(|n| n == c);
                    let masked = i.and_then(|i| row.masked.get(i)).and_then(|m| m.as_ref());
                    let v = match masked {
                        Some(m) => m.as_deref(),
                        None => row.original(c),
                    };
                    out.push_str(v.unwrap_or(""));
                }
            }
        }
        Some(out)
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let parts: Vec<String> = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => d.string_literal(t),
                Piece::Column(c) => {
                    let e = (ctx.masked)(c).unwrap_or_else(|| (ctx.original)(c));
                    format!("COALESCE({}, '')", d.as_text(&e))
                }
            })
            .collect();
        let body = if parts.is_empty() {
            "''".to_string()
        } else {
            super::sqlkit::concat(d, &parts)
        };
        Some(format!(
            "CASE WHEN {} IS NULL THEN NULL ELSE {body} END",
            ctx.column
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_masked_values_when_masked_and_originals_when_kept() {
        let t = Template {
            pieces: parse("{given}.{family}@example.invalid {{x}}").unwrap(),
        };
        assert_eq!(t.reads(), vec!["given".to_string(), "family".to_string()]);
        let columns = vec![
            "given".to_string(),
            "family".to_string(),
            "email".to_string(),
        ];
        let original = [Some("Hanako"), Some("Yamada"), Some("h@y")];
        let masked = [Some(Some("Ann".to_string())), None, None];
        let row = RowView {
            columns: &columns,
            original: &original,
            masked: &masked,
        };
        let prf = Prf::from_secret(b"k");
        assert_eq!(
            t.apply(Some("h@y"), &row, &prf).unwrap(),
            "Ann.Yamada@example.invalid {x}"
        );
        assert_eq!(t.apply(None, &row, &prf), None);
        let masked_null = [Some(None), None, None];
        let row = RowView {
            masked: &masked_null,
            ..row
        };
        assert_eq!(
            t.apply(Some("h@y"), &row, &prf).unwrap(),
            ".Yamada@example.invalid {x}"
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        assert!(parse("{given").unwrap_err().contains("unclosed"));
        assert!(parse("a}b").unwrap_err().contains("lone"));
        assert!(parse("{}").unwrap_err().contains("empty"));
        let mut p = toml::Table::new();
        p.insert("tmpl".into(), toml::Value::String("x".into()));
        assert!(build(&p).unwrap_err().contains("tmpl"));
    }
}
