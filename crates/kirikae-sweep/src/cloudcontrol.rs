//! AWS Cloud Control for tagged resources of types kirikae does not know (`scan --cloud-control`).
//!
//! A resource found by tag whose ARN no registry type owns is normally listed in the plan's
//! `unknown` and left alone. With `--cloud-control`, each one whose ARN has a shape in
//! [`MAPPINGS`] is read with Cloud Control `GetResource` (by the CloudFormation type name and
//! the type's primary identifier); if Cloud Control answers, it becomes a real plan item of
//! kind `cloudcontrol:<type name>` whose fingerprint covers the properties Cloud Control
//! returned (all but `Tags`: the tags come from the Tagging API, as for every item, so `mark`
//! does not change the fingerprint) and its tags. Otherwise it stays in `unknown` with the reason.
//!
//! `apply` re-checks such an item with `GetResource` again (gone, changed, or no longer tagged:
//! not deleted), deletes it with `DeleteResource` and polls `GetResourceRequestStatus` until
//! `SUCCESS` or `FAILED`, under the same limiter, audit log and resume rules as every item.
//! kirikae knows no dependency edges for these types: they have none in the plan, so they go in
//! the first wave with the other independent items.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::resources::{paginate, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

/// How a type's Cloud Control primary identifier is made from its ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ident {
    /// The whole ARN.
    Arn,
    /// The resource part after the prefix (`event-bus/<name>` -> `<name>`).
    Name,
    /// An SSM parameter's name: `parameter/a/b` -> `/a/b`, `parameter/a` -> `a`.
    SsmParameterName,
}

/// One ARN shape and the Cloud Control type it is.
#[derive(Debug)]
pub struct CcType {
    /// `cloudcontrol:<type name>`: the plan item's kind.
    pub kind: &'static str,
    /// The CloudFormation type name, e.g. `AWS::Events::Rule`.
    pub type_name: &'static str,
    /// The ARN's service field.
    pub arn_service: &'static str,
    /// The start of the ARN's resource part.
    pub arn_prefix: &'static str,
    pub ident: Ident,
}

/// ARN shapes (service, start of the resource part) -> Cloud Control type and identifier. Only
/// types kirikae's registry does not have, whose primary identifier can be read off the ARN.
pub static MAPPINGS: &[CcType] = &[
    CcType {
        kind: "cloudcontrol:AWS::Events::Rule",
        type_name: "AWS::Events::Rule",
        arn_service: "events",
        arn_prefix: "rule/",
        ident: Ident::Arn,
    },
    CcType {
        kind: "cloudcontrol:AWS::Events::EventBus",
        type_name: "AWS::Events::EventBus",
        arn_service: "events",
        arn_prefix: "event-bus/",
        ident: Ident::Name,
    },
    CcType {
        kind: "cloudcontrol:AWS::SSM::Parameter",
        type_name: "AWS::SSM::Parameter",
        arn_service: "ssm",
        arn_prefix: "parameter/",
        ident: Ident::SsmParameterName,
    },
    CcType {
        kind: "cloudcontrol:AWS::StepFunctions::StateMachine",
        type_name: "AWS::StepFunctions::StateMachine",
        arn_service: "states",
        arn_prefix: "stateMachine:",
        ident: Ident::Arn,
    },
];

/// How long a deletion request may stay in progress before apply gives up on it (reported as
/// failed; a later apply re-checks it).
const DELETE_TIMEOUT: Duration = Duration::from_secs(900);

/// The Cloud Control type and primary identifier for an ARN, if its shape is mapped.
pub fn mapping(arn: &str) -> Option<(&'static CcType, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return None;
    }
    let t = MAPPINGS
        .iter()
        .find(|t| parts[2] == t.arn_service && parts[5].starts_with(t.arn_prefix))?;
    let rest = &parts[5][t.arn_prefix.len()..];
    if rest.is_empty() {
        return None;
    }
    let id = match t.ident {
        Ident::Arn => arn.to_string(),
        // (a name is the first field of the rest: nothing may follow it but `:qualifier`)
        Ident::Name => rest.split(':').next().unwrap_or(rest).to_string(),
        Ident::SsmParameterName if rest.contains('/') => format!("/{rest}"),
        Ident::SsmParameterName => rest.to_string(),
    };
    Some((t, id))
}

/// A Cloud Control type by plan kind (`cloudcontrol:AWS::Events::Rule`).
pub fn find(kind: &str) -> Option<&'static CcType> {
    MAPPINGS.iter().find(|t| t.kind == kind)
}

/// Any type a plan item can have: the registry's, else a Cloud Control type.
pub fn any_type(kind: &str) -> Option<&'static dyn ResourceType> {
    crate::resources::find_type(kind).or_else(|| find(kind).map(|t| t as &dyn ResourceType))
}

pub fn is_cloud_control(kind: &str) -> bool {
    kind.starts_with("cloudcontrol:")
}

impl CcType {
    /// The ARN of a resource Cloud Control names by `identifier` (ListResources).
    fn arn_of(&self, cx: &Cx, identifier: &str) -> String {
        match self.ident {
            Ident::Arn => identifier.to_string(),
            Ident::Name => cx.arn(
                self.arn_service,
                &format!("{}{identifier}", self.arn_prefix),
            ),
            Ident::SsmParameterName => cx.arn(
                self.arn_service,
                &format!("{}{}", self.arn_prefix, identifier.trim_start_matches('/')),
            ),
        }
    }

    /// GetResource: the properties as Cloud Control returns them; `None` when it says the
    /// resource does not exist.
    pub async fn get(
        &self,
        cx: &Cx,
        identifier: &str,
    ) -> Result<Option<serde_json::Value>, SweepError> {
        let out = aws_call!(
            cx,
            "cloudcontrol",
            "GetResource",
            cx.cloudcontrol()
                .get_resource()
                .type_name(self.type_name)
                .identifier(identifier)
        );
        match out {
            Ok(out) => {
                let props = out
                    .resource_description()
                    .and_then(|d| d.properties())
                    .unwrap_or("{}");
                let value = serde_json::from_str(props).map_err(|e| SweepError::Io {
                    what: format!("Cloud Control properties of {identifier}"),
                    why: e.to_string(),
                })?;
                Ok(Some(value))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A plan item from what Cloud Control returned and the Tagging API's tags.
    pub fn found(
        &self,
        region: &str,
        identifier: &str,
        arn: &str,
        tags: &BTreeMap<String, String>,
        properties: &serde_json::Value,
    ) -> Found {
        let mut f = Found::new(self.kind, region, identifier, arn);
        if let Some(map) = properties.as_object() {
            for (k, v) in map {
                if k == "Tags" {
                    continue;
                }
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                f.properties.insert(k.clone(), text);
            }
        }
        f = f.tags_from(tags.clone());
        if f.name.is_none() {
            let tail = identifier
                .rsplit(['/', ':'])
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or(identifier);
            f.name = Some(tail.to_string());
        }
        f
    }
}

impl ResourceType for CcType {
    fn name(&self) -> &'static str {
        self.kind
    }
    fn service(&self) -> &'static str {
        "cloudcontrol"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        (self.arn_service, self.arn_prefix)
    }

    /// ListResources of the type (tags are added by the Tagging API, as for every type).
    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "cloudcontrol",
                "ListResources",
                cx.cloudcontrol()
                    .list_resources()
                    .type_name(self.type_name)
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for d in page.resource_descriptions() {
                let Some(id) = d.identifier() else { continue };
                let props: serde_json::Value = serde_json::from_str(d.properties().unwrap_or("{}"))
                    .unwrap_or(serde_json::Value::Null);
                out.push(self.found(
                    &cx.region,
                    id,
                    &self.arn_of(cx, id),
                    &BTreeMap::new(),
                    &props,
                ));
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        _opts: &'a DeleteOptions,
    ) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "cloudcontrol",
                "DeleteResource",
                cx.cloudcontrol()
                    .delete_resource()
                    .type_name(self.type_name)
                    .identifier(&item.id)
            )?;
            let token = out
                .progress_event()
                .and_then(|p| p.request_token())
                .map(str::to_string)
                .ok_or_else(|| SweepError::Aws {
                    operation: "DeleteResource",
                    code: "NoRequestToken".into(),
                    message: "Cloud Control returned no request token to follow".into(),
                    request_id: None,
                })?;
            let started = std::time::Instant::now();
            let mut pause = Duration::from_millis(200);
            let mut event = out.progress_event().cloned();
            loop {
                use aws_sdk_cloudcontrol::types::{HandlerErrorCode, OperationStatus};
                let status = event.as_ref().and_then(|e| e.operation_status().cloned());
                match status {
                    Some(OperationStatus::Success) => {
                        return Ok(Deleted {
                            request_id: Some(token.clone()),
                            actions: vec![format!(
                                "Cloud Control DeleteResource {} (request {token}): SUCCESS",
                                self.type_name
                            )],
                        });
                    }
                    Some(OperationStatus::Failed) => {
                        let e = event.as_ref().expect("a status comes with its event");
                        let code = match e.error_code() {
                            Some(HandlerErrorCode::NotFound) => "ResourceNotFoundException".into(),
                            Some(c) => c.as_str().to_string(),
                            None => "Failed".to_string(),
                        };
                        return Err(SweepError::Aws {
                            operation: "DeleteResource",
                            code,
                            message: format!(
                                "Cloud Control request {token} FAILED: {}",
                                e.status_message().unwrap_or("no message")
                            ),
                            request_id: Some(token.clone()),
                        });
                    }
                    _ => {}
                }
                if started.elapsed() >= DELETE_TIMEOUT {
                    return Err(SweepError::Aws {
                        operation: "GetResourceRequestStatus",
                        code: "Timeout".into(),
                        message: format!(
                            "Cloud Control request {token} not finished after {}s ({}); run apply again to check",
                            DELETE_TIMEOUT.as_secs(),
                            status.map(|s| s.as_str().to_string()).unwrap_or_default()
                        ),
                        request_id: Some(token.clone()),
                    });
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                let now = aws_call!(
                    cx,
                    "cloudcontrol",
                    "GetResourceRequestStatus",
                    cx.cloudcontrol()
                        .get_resource_request_status()
                        .request_token(&token)
                )?;
                event = now.progress_event().cloned();
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_map_to_types_and_identifiers() {
        let m = |arn: &str| mapping(arn).map(|(t, id)| (t.type_name, id));
        assert_eq!(
            m("arn:aws:events:ap-northeast-1:111111111111:rule/old-nightly"),
            Some((
                "AWS::Events::Rule",
                "arn:aws:events:ap-northeast-1:111111111111:rule/old-nightly".into()
            ))
        );
        assert_eq!(
            m("arn:aws:events:ap-northeast-1:111111111111:event-bus/old-bus"),
            Some(("AWS::Events::EventBus", "old-bus".into()))
        );
        assert_eq!(
            m("arn:aws:ssm:ap-northeast-1:111111111111:parameter/old/db/url"),
            Some(("AWS::SSM::Parameter", "/old/db/url".into()))
        );
        assert_eq!(
            m("arn:aws:ssm:ap-northeast-1:111111111111:parameter/flat"),
            Some(("AWS::SSM::Parameter", "flat".into()))
        );
        assert_eq!(
            m("arn:aws:states:ap-northeast-1:111111111111:stateMachine:old-flow"),
            Some((
                "AWS::StepFunctions::StateMachine",
                "arn:aws:states:ap-northeast-1:111111111111:stateMachine:old-flow".into()
            ))
        );
        assert_eq!(
            m("arn:aws:events:ap-northeast-1:111111111111:event-bus/old-bus"),
            Some(("AWS::Events::EventBus", "old-bus".into()))
        );
    }

    #[test]
    fn other_shapes_are_not_mapped() {
        for arn in [
            "arn:aws:ssm:ap-northeast-1:111111111111:document/old-doc",
            "arn:aws:states:ap-northeast-1:111111111111:execution:old-flow:run-1",
            "arn:aws:events:ap-northeast-1:111111111111:rule/",
            "arn:aws:ecs:ap-northeast-1:111111111111:cluster/old",
            // Lambda functions are the registry's own type (lambda:function), not Cloud Control's.
            "arn:aws:lambda:ap-northeast-1:111111111111:function:old-fn:3",
            "not-an-arn",
        ] {
            assert!(mapping(arn).is_none(), "{arn}");
        }
    }

    #[test]
    fn kinds_find_their_type_and_registry_types_still_win() {
        assert_eq!(
            any_type("cloudcontrol:AWS::SSM::Parameter").map(|t| t.service()),
            Some("cloudcontrol")
        );
        assert_eq!(any_type("ec2:vpc").map(|t| t.name()), Some("ec2:vpc"));
        assert!(any_type("cloudcontrol:AWS::ECS::Cluster").is_none());
        // Every mapped kind is its type name behind the prefix, and no registry type owns it.
        for t in MAPPINGS {
            assert_eq!(t.kind, format!("cloudcontrol:{}", t.type_name));
            let arn = format!("arn:aws:{}:r:1:{}x", t.arn_service, t.arn_prefix);
            assert!(
                !crate::resources::registry()
                    .iter()
                    .any(|r| r.owns_arn(&arn)),
                "{arn}"
            );
        }
    }

    #[test]
    fn properties_but_tags_are_fingerprinted() {
        let t = find("cloudcontrol:AWS::SSM::Parameter").unwrap();
        let tags = BTreeMap::from([("owner".to_string(), "old".to_string())]);
        let props = serde_json::json!({"Name": "/old/x", "Value": "1", "Type": "String",
            "Tags": {"kirikae:sweep": "p"}});
        let a = t.found(
            "r",
            "/old/x",
            "arn:aws:ssm:r:1:parameter/old/x",
            &tags,
            &props,
        );
        assert_eq!(a.properties.get("Value").map(String::as_str), Some("1"));
        assert!(!a.properties.contains_key("Tags"));
        assert_eq!(a.name.as_deref(), Some("x"));
        let changed = serde_json::json!({"Name": "/old/x", "Value": "2", "Type": "String"});
        let b = t.found(
            "r",
            "/old/x",
            "arn:aws:ssm:r:1:parameter/old/x",
            &tags,
            &changed,
        );
        assert_ne!(
            a.fingerprint("kirikae:sweep"),
            b.fingerprint("kirikae:sweep")
        );
        let same = serde_json::json!({"Name": "/old/x", "Value": "1", "Type": "String"});
        let c = t.found(
            "r",
            "/old/x",
            "arn:aws:ssm:r:1:parameter/old/x",
            &tags,
            &same,
        );
        assert_eq!(
            a.fingerprint("kirikae:sweep"),
            c.fingerprint("kirikae:sweep")
        );
    }
}
