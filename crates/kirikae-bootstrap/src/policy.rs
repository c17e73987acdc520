//! Policy documents: placeholders, and the normal form two documents are compared in.
//!
//! IAM hands back what it was given in another shape: URL-encoded, re-ordered, a one-element
//! list as a single value, an account id as `arn:aws:iam::<id>:root`, numbers as strings. A
//! comparison of the raw texts would report drift right after a clean deploy, so both sides are
//! brought to [`normalise`]'s form first.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `doc` with every `${NAME}` of `values` replaced (in every string, keys included).
pub fn substitute(doc: &Value, values: &BTreeMap<&str, String>) -> Value {
    match doc {
        Value::String(s) => Value::String(substitute_str(s, values)),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, values)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (substitute_str(k, values), substitute(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = s.to_string();
    for (name, value) in values {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    out
}

/// The placeholder names used in `doc` (`${NAME}`), sorted, each once.
pub fn placeholders(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                let mut rest = s.as_str();
                while let Some(start) = rest.find("${") {
                    let after = &rest[start + 2..];
                    match after.find('}') {
                        Some(end) => {
                            out.push(after[..end].to_string());
                            rest = &after[end + 1..];
                        }
                        None => break,
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.iter().for_each(|(k, v)| {
                walk(&Value::String(k.clone()), out);
                walk(v, out)
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut out);
    out.sort();
    out.dedup();
    out
}

/// Why a policy document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy document is not valid percent-encoding")]
    Encoding,
    #[error("the policy document is not JSON")]
    Json(#[source] serde_json::Error),
}

/// Decodes a document as IAM returns it (percent-encoded JSON; plain JSON decodes to itself).
pub fn decode(text: &str) -> Result<Value, PolicyError> {
    let decoded = percent_decode(text).ok_or(PolicyError::Encoding)?;
    serde_json::from_str(&decoded).map_err(PolicyError::Json)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The normal form: `Statement` always a list, sorted; `Sid` dropped; `Action`, `Resource`,
/// principals and condition values sorted lists of strings; an account id principal written as
/// its `:root` ARN; an empty `Condition` dropped; `Version` kept.
pub fn normalise(doc: &Value) -> Value {
    let mut out = Map::new();
    if let Some(v) = doc.get("Version") {
        out.insert("Version".into(), v.clone());
    }
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    let mut statements = statements
        .iter()
        .map(normalise_statement)
        .collect::<Vec<_>>();
    statements.sort_by_key(|s| s.to_string());
    out.insert("Statement".into(), Value::Array(statements));
    Value::Object(out)
}

fn normalise_statement(s: &Value) -> Value {
    let mut out = Map::new();
    let Some(o) = s.as_object() else {
        return s.clone();
    };
    for (key, value) in o {
        match key.as_str() {
            "Sid" => {}
            "Action" | "NotAction" | "Resource" | "NotResource" => {
                out.insert(key.clone(), string_set(value, false));
            }
            "Principal" | "NotPrincipal" => {
                let v = match value {
                    Value::Object(p) => Value::Object(
                        p.iter()
                            .map(|(k, v)| (k.clone(), string_set(v, k == "AWS")))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                out.insert(key.clone(), v);
            }
            "Condition" => {
                let Some(ops) = value.as_object() else {
                    out.insert(key.clone(), value.clone());
                    continue;
                };
                let ops = ops
                    .iter()
                    .filter_map(|(op, keys)| {
                        let keys = keys.as_object()?;
                        let keys = keys
                            .iter()
                            .map(|(k, v)| (k.clone(), string_set(v, false)))
                            .collect::<Map<_, _>>();
                        (!keys.is_empty()).then(|| (op.clone(), Value::Object(keys)))
                    })
                    .collect::<Map<_, _>>();
                if !ops.is_empty() {
                    out.insert(key.clone(), Value::Object(ops));
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// A value or list of values as a sorted list of strings (`true` and `"true"` alike); with
/// `principals`, a bare account id becomes its `:root` ARN, as IAM rewrites it.
fn string_set(v: &Value, principals: bool) -> Value {
    let items = match v {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let mut items = items
        .iter()
        .map(|i| {
            let s = match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if principals && s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
                format!("arn:aws:iam::{s}:root")
            } else {
                s
            }
        })
        .collect::<Vec<_>>();
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_iam_returns_compare_equal() {
        let written = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "A", "Effect": "Allow", "Principal": {"AWS": "111111111111"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": true},
                          "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}]});
        let returned = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A\
            %22Allow%22%2C%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Principal%22%3A%7B%22AWS\
            %22%3A%22arn%3Aaws%3Aiam%3A%3A111111111111%3Aroot%22%7D%2C%22Condition%22%3A%7B%22Numeric\
            LessThan%22%3A%7B%22aws%3AMultiFactorAuthAge%22%3A%223600%22%7D%2C%22Bool%22%3A%7B%22aws\
            %3AMultiFactorAuthPresent%22%3A%22true%22%7D%7D%7D%7D";
        assert_eq!(normalise(&decode(returned).unwrap()), normalise(&written));
    }

    #[test]
    fn a_changed_value_is_not_normalised_away() {
        let a = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]});
        let b = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "86400"}}}]});
        assert_ne!(normalise(&a), normalise(&b));
        assert!(decode("%7Bbad").is_err());
    }

    #[test]
    fn placeholders_are_found_and_filled() {
        let doc = json!({"a": ["arn:${AWS::Partition}:iam::${JumpAccountId}:root"], "${K}": 1});
        assert_eq!(placeholders(&doc), ["AWS::Partition", "JumpAccountId", "K"]);
        let values = BTreeMap::from([
            ("AWS::Partition", "aws".to_string()),
            ("JumpAccountId", "000000000000".to_string()),
        ]);
        assert_eq!(
            substitute(&doc, &values)["a"][0],
            "arn:aws:iam::000000000000:root"
        );
    }
}
