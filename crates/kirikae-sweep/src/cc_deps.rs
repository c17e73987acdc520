//! Dependencies of the plan's Cloud Control items, which no hand-written type describes.
//!
//! - Edges ([`link`]): what `GetResource` returned for an item names another item of the plan
//!   (its ARN, or its identifier in the same region) somewhere in its properties, at any depth:
//!   the item uses that one and is deleted before it.
//! - Held-back parents ([`held_back`]): the table's rows with a `list_parent` are child types
//!   (an API Gateway resource of a REST API): ListResources of such a type needs its parent's
//!   identifier. For each parent item of the plan, every child type is listed under it; a child
//!   that is not in the plan keeps the parent from being deleted (Cloud Control would fail, or
//!   take the child with it), and the children are named.
//! - A deletion that fails the way a dependency does ([`looks_like_dependency`]) is retried by
//!   `apply` only while other deletions still make progress.

use std::collections::{BTreeMap, HashMap};

use crate::cc_types::{self, normalize_arn, Row};
use crate::cloudcontrol::{self, CcType};
use crate::{Cx, Found, SweepError};

/// Identifiers shorter than this are not looked for in properties (`1`, `on`, `dev` would match
/// by accident).
const MIN_IDENTIFIER_LEN: usize = 4;

/// Every string in a property value as `Found` keeps it: a string as is, anything else as JSON
/// text, walked to every depth.
pub fn strings_in(value: &str, out: &mut Vec<String>) {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let t = value.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(value) {
            walk(&v, out);
            return;
        }
    }
    out.push(value.to_string());
}

/// Adds to every Cloud Control item of `items` an edge to each other item its properties name
/// (by ARN anywhere, by identifier in the same region). Existing edges stay.
pub fn link(items: &mut [Found]) {
    let by_arn: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, f)| (normalize_arn(&f.arn), i))
        .collect();
    let mut by_id: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, f) in items.iter().enumerate() {
        if f.id.len() >= MIN_IDENTIFIER_LEN {
            by_id.entry((f.region.as_str(), f.id.as_str())).or_insert(i);
        }
    }
    let mut added: Vec<(usize, String)> = Vec::new();
    for (i, f) in items.iter().enumerate() {
        if !cloudcontrol::is_cloud_control(&f.kind) {
            continue;
        }
        let mut leaves = Vec::new();
        for v in f.properties.values() {
            strings_in(v, &mut leaves);
        }
        for s in leaves {
            let j = if s.starts_with("arn:") {
                by_arn.get(normalize_arn(&s)).copied()
            } else {
                by_id.get(&(f.region.as_str(), s.as_str())).copied()
            };
            if let Some(j) = j.filter(|&j| j != i) {
                added.push((i, items[j].arn.clone()));
            }
        }
    }
    for (i, arn) in added {
        if !items[i].depends_on.contains(&arn) {
            items[i].depends_on.push(arn);
        }
    }
}

/// How a child type is listed under a parent: `(child property, parent property)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildType {
    pub type_name: &'static str,
    /// The child's `list_parent` property and where the parent's value comes from: one of its
    /// properties, or `None` for its ARN.
    pub filter: Vec<(String, Option<String>)>,
}

/// The type's short name: `RestApi` of `AWS::ApiGateway::RestApi`.
fn short(type_name: &str) -> &str {
    type_name.rsplit("::").next().unwrap_or(type_name)
}

fn namespace(type_name: &str) -> &str {
    type_name.rsplit_once("::").map_or(type_name, |(ns, _)| ns)
}

/// Where a parent of `parent` type gets the value of a child's `list_parent` property `p`:
/// its own property of that name when it is the parent's single primary identifier, or the
/// parent's `Id`/`Name`/`Arn` (or primary identifier) when `p` is the parent's short name
/// followed by it (`AppId` of `AWS::Amplify::App`, `InstanceArn` of `AWS::Connect::Instance`).
fn parent_source(parent: &Row, p: &str) -> Option<Option<String>> {
    let type_name = parent.type_name.as_deref()?;
    if parent.primary.len() == 1 && parent.primary[0] == p {
        return Some(Some(p.to_string()));
    }
    let rest = p.strip_prefix(short(type_name))?;
    if rest == "Arn" {
        return Some(parent.arn_property.clone());
    }
    if matches!(rest, "Id" | "Name") || parent.primary.iter().any(|q| q == rest) {
        return Some(Some(rest.to_string()));
    }
    None
}

/// The child types of `parent_type`: rows of its namespace whose `list_parent` properties all
/// come from it (and which are not its siblings, listed under the same properties).
pub fn child_types(parent_type: &str) -> Vec<ChildType> {
    let table = cc_types::table();
    let Some(parent) = table.row_of(parent_type) else {
        return Vec::new();
    };
    let mut out: Vec<ChildType> = Vec::new();
    for row in table.mapped() {
        let Some(child) = row.type_name.as_deref() else {
            continue;
        };
        if row.list_parent.is_empty()
            || child == parent_type
            || namespace(child) != namespace(parent_type)
            || parent
                .list_parent
                .iter()
                .any(|p| row.list_parent.contains(p))
            || out.iter().any(|c| c.type_name == child)
        {
            continue;
        }
        let filter: Option<Vec<(String, Option<String>)>> = row
            .list_parent
            .iter()
            .map(|p| parent_source(parent, p).map(|src| (p.clone(), src)))
            .collect();
        if let (Some(filter), Some(t)) = (filter, cloudcontrol::by_type_name(child)) {
            out.push(ChildType {
                type_name: t.type_name,
                filter,
            });
        }
    }
    out
}

/// The ResourceModel that lists `child`'s resources under `parent`; `None` when the parent
/// lacks a value it needs.
pub fn resource_model(child: &ChildType, parent: &Found) -> Option<String> {
    let mut model = serde_json::Map::new();
    for (p, src) in &child.filter {
        let value = match src {
            Some(prop) => parent.properties.get(prop)?.clone(),
            None => parent.arn.clone(),
        };
        model.insert(p.clone(), serde_json::Value::String(value));
    }
    Some(serde_json::Value::Object(model).to_string())
}

/// Parents among `items` (of one region) that have children outside `items`: ARN -> why
/// (naming the children). A child type whose listing fails holds the parent back too (what
/// it would take with it is unknown), except one Cloud Control has no list handler for.
pub async fn held_back(cx: &Cx, items: &[Found]) -> Result<HashMap<String, String>, SweepError> {
    let in_plan: std::collections::HashSet<(&str, &str)> = items
        .iter()
        .map(|f| (f.kind.as_str(), f.id.as_str()))
        .collect();
    let mut out = HashMap::new();
    for parent in items.iter().filter(|f| f.region == cx.region) {
        let Some(t) = cloudcontrol::find(&parent.kind) else {
            continue;
        };
        let mut outside: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for child in child_types(t.type_name) {
            let c: &CcType = cloudcontrol::by_type_name(child.type_name).expect("a table type");
            let Some(model) = resource_model(&child, parent) else {
                outside.entry(child.type_name).or_default().push(format!(
                    "(cannot list them: it returned no {})",
                    child
                        .filter
                        .iter()
                        .map(|(p, s)| s.clone().unwrap_or_else(|| format!("ARN for {p}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            };
            match c.list_under(cx, &model).await {
                Ok(listed) => {
                    for (id, _) in listed {
                        if !in_plan.contains(&(c.kind, id.as_str())) {
                            outside.entry(child.type_name).or_default().push(id);
                        }
                    }
                }
                Err(e) if e.is_throttle() => return Err(e),
                // A child type Cloud Control cannot list at all (no list handler here): nothing
                // to find; the parent's own delete handler still refuses if it has such children.
                Err(e)
                    if matches!(
                        e.code(),
                        Some("UnsupportedActionException" | "TypeNotFoundException")
                    ) => {}
                Err(e) => outside
                    .entry(child.type_name)
                    .or_default()
                    .push(format!("(cannot list them: {e})")),
            }
        }
        if !outside.is_empty() {
            let named: Vec<String> = outside
                .iter()
                .map(|(t, ids)| format!("{t} {}", ids.join(", ")))
                .collect();
            out.insert(
                parent.arn.clone(),
                format!(
                    "held back: it has children outside the plan ({}); delete or plan them \
                     first, then scan again",
                    named.join("; ")
                ),
            );
        }
    }
    Ok(out)
}

/// Whether a failed deletion looks like something else still depends on the item (a handler
/// error code or message saying so): worth retrying once other deletions made progress.
pub fn looks_like_dependency(e: &SweepError) -> bool {
    let code = e.code().unwrap_or("");
    if matches!(
        code,
        "DependencyViolation"
            | "ResourceConflict"
            | "ResourceConflictException"
            | "ResourceInUse"
            | "ResourceInUseException"
            | "ConflictException"
            | "DeleteConflict"
    ) {
        return true;
    }
    let m = e.to_string().to_ascii_lowercase();
    [
        "dependencyviolation",
        "has dependen",
        "dependent object",
        "in use",
        "still attached",
        "must be deleted first",
        "not empty",
    ]
    .iter()
    .any(|w| m.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(kind: &str, region: &str, id: &str, arn: &str, props: &[(&str, &str)]) -> Found {
        let mut f = Found::new(&format!("cloudcontrol:{kind}"), region, id, arn);
        for (k, v) in props {
            f.properties.insert(k.to_string(), v.to_string());
        }
        f
    }

    #[test]
    fn strings_at_any_depth() {
        let mut out = Vec::new();
        strings_in(
            r#"[{"Id":"a","Arn":"arn:x"},{"Nested":{"Deep":["b",1,true]}}]"#,
            &mut out,
        );
        out.sort();
        assert_eq!(out, ["a", "arn:x", "b"]);
        let mut out = Vec::new();
        strings_in("{not json", &mut out);
        assert_eq!(out, ["{not json"]);
    }

    #[test]
    fn edges_from_arns_and_identifiers_in_the_properties() {
        let q = "arn:aws:sqs:r1:1:old-queue";
        let mut items = vec![
            // a rule whose target is the queue (ARN nested in a JSON list)
            cc(
                "AWS::Events::Rule",
                "r1",
                "arn:aws:events:r1:1:rule/old",
                "arn:aws:events:r1:1:rule/old",
                &[("Targets", &format!(r#"[{{"Id":"t","Arn":"{q}"}}]"#))],
            ),
            Found::new("sqs:queue", "r1", "https://sqs/old-queue", q),
            // a child naming its parent by identifier; its own ARN does not count
            cc(
                "AWS::ApiGateway::Resource",
                "r1",
                "abcdef1234|kid",
                "arn:aws:apigateway:r1::/restapis/abcdef1234/resources/kid",
                &[
                    ("RestApiId", "abcdef1234"),
                    (
                        "Self",
                        "arn:aws:apigateway:r1::/restapis/abcdef1234/resources/kid",
                    ),
                ],
            ),
            cc(
                "AWS::ApiGateway::RestApi",
                "r1",
                "abcdef1234",
                "arn:aws:apigateway:r1::/restapis/abcdef1234",
                &[("RestApiId", "abcdef1234")],
            ),
            // the same identifier in another region is another resource
            cc(
                "AWS::ApiGateway::Resource",
                "r2",
                "abcdef1234|other",
                "arn:aws:apigateway:r2::/restapis/abcdef1234/resources/other",
                &[("RestApiId", "abcdef1234")],
            ),
            // short values never match an identifier
            cc(
                "AWS::SSM::Parameter",
                "r1",
                "abc",
                "arn:aws:ssm:r1:1:parameter/abc",
                &[],
            ),
            cc(
                "AWS::SSM::Parameter",
                "r1",
                "other",
                "arn:aws:ssm:r1:1:parameter/other",
                &[("Value", "abc")],
            ),
        ];
        link(&mut items);
        assert_eq!(items[0].depends_on, [q]);
        assert!(
            items[1].depends_on.is_empty(),
            "hand-written items keep theirs"
        );
        assert_eq!(
            items[2].depends_on,
            ["arn:aws:apigateway:r1::/restapis/abcdef1234"]
        );
        assert!(
            items[3].depends_on.is_empty(),
            "its own identifier is no edge"
        );
        assert!(items[4].depends_on.is_empty());
        assert!(items[6].depends_on.is_empty());
        // linking twice adds nothing
        link(&mut items);
        assert_eq!(items[0].depends_on.len(), 1);
    }

    #[test]
    fn a_log_group_arn_with_its_star_still_matches() {
        let mut items = vec![
            cc(
                "AWS::Logs::SubscriptionFilter",
                "r1",
                "old|f",
                "arn:aws:logs:r1:1:x",
                &[("Dest", "arn:aws:logs:r1:1:log-group:old:*")],
            ),
            Found::new(
                "logs:log-group",
                "r1",
                "old",
                "arn:aws:logs:r1:1:log-group:old",
            ),
        ];
        link(&mut items);
        assert_eq!(items[0].depends_on, ["arn:aws:logs:r1:1:log-group:old"]);
    }

    #[test]
    fn child_types_come_from_the_table_without_siblings() {
        let kids = child_types("AWS::ApiGateway::RestApi");
        let names: Vec<&str> = kids.iter().map(|c| c.type_name).collect();
        assert!(names.contains(&"AWS::ApiGateway::Resource"), "{names:?}");
        let r = kids
            .iter()
            .find(|c| c.type_name == "AWS::ApiGateway::Resource")
            .unwrap();
        assert_eq!(
            r.filter,
            [("RestApiId".to_string(), Some("RestApiId".to_string()))]
        );
        // A child is no parent of its siblings listed under the same property.
        assert!(child_types("AWS::ApiGateway::Resource").is_empty());
        assert!(child_types("AWS::WAFv2::WebACL").is_empty());
        assert!(child_types("AWS::SSM::Parameter").is_empty());
        let mut parent = Found::new(
            "cloudcontrol:AWS::ApiGateway::RestApi",
            "r",
            "abc123",
            "arn:aws:apigateway:r::/restapis/abc123",
        );
        assert_eq!(resource_model(r, &parent), None);
        parent
            .properties
            .insert("RestApiId".into(), "abc123".into());
        assert_eq!(
            resource_model(r, &parent).as_deref(),
            Some(r#"{"RestApiId":"abc123"}"#)
        );
    }

    #[test]
    fn dependency_failures_are_told_from_others() {
        let e = |code: &str, message: &str| SweepError::Aws {
            operation: "DeleteResource",
            code: code.into(),
            message: message.into(),
            request_id: None,
        };
        assert!(looks_like_dependency(&e("ResourceConflict", "x")));
        assert!(looks_like_dependency(&e(
            "GeneralServiceException",
            "Cannot delete entity, must detach all policies first: DependencyViolation"
        )));
        assert!(looks_like_dependency(&e(
            "InvalidRequest",
            "the bus is in use"
        )));
        assert!(!looks_like_dependency(&e("AccessDenied", "not allowed")));
        assert!(!looks_like_dependency(&e("NotFound", "gone")));
    }
}
