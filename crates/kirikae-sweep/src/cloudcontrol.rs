//! AWS Cloud Control for tagged resources of types kirikae has no file for (`scan --cloud-control`).
//!
//! A resource found by tag whose ARN no registry type owns is normally listed in the plan's
//! `unknown` and left alone. With `--cloud-control`, its ARN is matched in the generated type
//! table ([`crate::cc_types`]), its Cloud Control identifier built from the ARN (or looked up
//! with ListResources), and it is read back with `GetResource`. It becomes a plan item of kind
//! `cloudcontrol:<type name>` only when what was read back is the resource that was tagged (its
//! ARN property, else its identifier's properties, match the ARN), it is not managed by a
//! CloudFormation stack, its type is not denied, and a data-bearing type was named with
//! `--cloud-control-data`. Its fingerprint covers the properties Cloud Control returned (all but
//! `Tags`: the tags come from the Tagging API, as for every item, so `mark` does not change the
//! fingerprint) and its tags. Otherwise it stays in `unknown` with the reason.
//!
//! `apply` re-checks such an item with `GetResource` again (gone, changed, or no longer tagged:
//! not deleted), deletes it with `DeleteResource` under a ClientToken fixed by the plan, the
//! item and the attempt ([`client_token`]), and its one poller follows every pending request
//! (`ListResourceRequests` once per region and round, `GetResourceRequestStatus` of each
//! request no longer under way) until `SUCCESS` or `FAILED`, under the audit log and resume
//! rules of every item. All Cloud Control calls of a run share one limiter, whatever the region
//! (see [`crate::Cx::connect`]). Dependencies between these items come from their properties
//! (see [`crate::cc_deps`]); the `identity` and `network` risk classes also go after every
//! other item of their region (see `apply`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::cc_types::{self, Recipe, Risk, Scope};
use crate::resources::{paginate, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

/// A Cloud Control type of the table (`cc_types`): what scan, mark and apply need of it.
#[derive(Debug)]
pub struct CcType {
    /// `cloudcontrol:<type name>`: the plan item's kind.
    pub kind: &'static str,
    /// The CloudFormation type name, e.g. `AWS::Events::Rule`.
    pub type_name: &'static str,
    /// The ARN's service field.
    pub arn_service: &'static str,
    pub recipe: Recipe,
    /// The property holding the resource's ARN, when it has one.
    pub arn_property: Option<&'static str>,
    /// The primary identifier's properties.
    pub primary: &'static [String],
    pub risk: Risk,
    /// A global type (IAM) is one resource whichever region lists it.
    pub scope: Scope,
    /// Why the type is never deleted through Cloud Control.
    pub deny: Option<&'static str>,
}

/// One [`CcType`] per type the table maps.
pub fn types() -> &'static [CcType] {
    static TYPES: OnceLock<Vec<CcType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for row in cc_types::table().mapped() {
            let type_name = row.type_name.as_deref().expect("mapped rows have a type");
            if !seen.insert(type_name) {
                continue;
            }
            out.push(CcType {
                kind: Box::leak(format!("cloudcontrol:{type_name}").into_boxed_str()),
                type_name,
                arn_service: row.service.as_str(),
                recipe: row.identifier.unwrap_or(Recipe::Lookup),
                arn_property: row.arn_property.as_deref(),
                primary: &row.primary,
                risk: row.risk,
                scope: row.scope,
                deny: row.deny.as_deref(),
            });
        }
        out
    })
}

/// A Cloud Control type by plan kind (`cloudcontrol:AWS::Events::Rule`).
pub fn find(kind: &str) -> Option<&'static CcType> {
    types().iter().find(|t| t.kind == kind)
}

/// A Cloud Control type by CloudFormation type name.
pub fn by_type_name(type_name: &str) -> Option<&'static CcType> {
    types().iter().find(|t| t.type_name == type_name)
}

/// Any type a plan item can have: the registry's, else a Cloud Control type.
pub fn any_type(kind: &str) -> Option<&'static dyn ResourceType> {
    crate::resources::find_type(kind).or_else(|| find(kind).map(|t| t as &dyn ResourceType))
}

pub fn is_cloud_control(kind: &str) -> bool {
    kind.starts_with("cloudcontrol:")
}

/// The idempotency token of one deletion request: the same plan, item and attempt always send
/// the same token, so a resumed apply that sends DeleteResource again gets the request it made
/// before (Cloud Control keeps tokens 36 hours) instead of a second deletion; a new attempt
/// (after a failed one) gets a new token.
pub fn client_token(plan: &str, arn: &str, attempt: u32) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [plan, arn, &attempt.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("kirikae-{}", &hex[..40])
}

impl CcType {
    /// The ARN of a listed resource: its identifier when that is the ARN, else its ARN
    /// property; `None` when neither says.
    pub fn arn_of(&self, identifier: &str, properties: &serde_json::Value) -> Option<String> {
        if self.recipe == Recipe::Arn {
            return Some(identifier.to_string());
        }
        let p = self.arn_property?;
        properties
            .get(p)
            .and_then(|v| v.as_str())
            .map(|a| cc_types::normalize_arn(a).to_string())
    }

    /// ListResources of the type: (identifier, properties) of every resource (all pages).
    pub async fn list_all(&self, cx: &Cx) -> Result<Vec<(String, serde_json::Value)>, SweepError> {
        self.list_with(cx, None).await
    }

    /// ListResources of a child type under one parent: `model` is the ResourceModel (JSON)
    /// naming the parent (see [`crate::cc_deps`]).
    pub async fn list_under(
        &self,
        cx: &Cx,
        model: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, SweepError> {
        self.list_with(cx, Some(model)).await
    }

    async fn list_with(
        &self,
        cx: &Cx,
        model: Option<&str>,
    ) -> Result<Vec<(String, serde_json::Value)>, SweepError> {
        let model = model.map(str::to_string);
        let model = &model;
        paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "cloudcontrol",
                "ListResources",
                cx.cloudcontrol()
                    .list_resources()
                    .type_name(self.type_name)
                    .set_resource_model(model.clone())
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for d in page.resource_descriptions() {
                let Some(id) = d.identifier() else { continue };
                let props: serde_json::Value = serde_json::from_str(d.properties().unwrap_or("{}"))
                    .unwrap_or(serde_json::Value::Null);
                out.push((id.to_string(), props));
            }
            Ok((out, page.next_token().map(str::to_string)))
        })
        .await
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
    fn owns_arn(&self, _arn: &str) -> bool {
        false
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        // (never asked: a Cloud Control item is matched by the table, not by a prefix)
        (self.arn_service, "")
    }

    /// ListResources of the type (tags are added by the Tagging API, as for every type).
    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            Ok(self
                .list_all(cx)
                .await?
                .into_iter()
                .filter_map(|(id, props)| {
                    let arn = self.arn_of(&id, &props)?;
                    Some(self.found(&cx.region, &id, &arn, &BTreeMap::new(), &props))
                })
                .collect())
        })
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        opts: &'a DeleteOptions,
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
                    .set_client_token(opts.client_token.clone())
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
            // A token sent again returns its request as it stands: one already failed is that
            // failure (a new attempt gets a new token). The rest is followed by apply's poller.
            if let Some(event) = out.progress_event() {
                if let RequestOutcome::Failed(e) = outcome(event, &token) {
                    return Err(e);
                }
            }
            Ok(Deleted {
                request_id: Some(token.clone()),
                actions: vec![format!(
                    "Cloud Control DeleteResource {} (request {token})",
                    self.type_name
                )],
            })
        })
    }

    fn deletion_is_async(&self) -> bool {
        true
    }
}

/// Where a Cloud Control request stands.
#[derive(Debug)]
pub enum RequestOutcome {
    InProgress(String),
    Success,
    Failed(SweepError),
}

fn outcome(e: &aws_sdk_cloudcontrol::types::ProgressEvent, token: &str) -> RequestOutcome {
    use aws_sdk_cloudcontrol::types::{HandlerErrorCode, OperationStatus};
    match e.operation_status() {
        Some(OperationStatus::Success) => RequestOutcome::Success,
        Some(OperationStatus::Failed) => {
            let code = match e.error_code() {
                Some(HandlerErrorCode::NotFound) => "ResourceNotFoundException".into(),
                Some(c) => c.as_str().to_string(),
                None => "Failed".to_string(),
            };
            RequestOutcome::Failed(SweepError::Aws {
                operation: "DeleteResource",
                code,
                message: format!(
                    "Cloud Control request {token} FAILED: {}",
                    e.status_message().unwrap_or("no message")
                ),
                request_id: Some(token.to_string()),
            })
        }
        other => RequestOutcome::InProgress(
            other
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "no status".into()),
        ),
    }
}

/// The tokens of this region's deletion requests still under way (ListResourceRequests, all
/// pages): apply's poller asks this once per region and round, and GetResourceRequestStatus
/// only of its requests that are no longer in it (for their outcome).
pub async fn requests_under_way(cx: &Cx) -> Result<std::collections::HashSet<String>, SweepError> {
    use aws_sdk_cloudcontrol::types::{Operation, OperationStatus, ResourceRequestStatusFilter};
    let filter = ResourceRequestStatusFilter::builder()
        .operations(Operation::Delete)
        .operation_statuses(OperationStatus::Pending)
        .operation_statuses(OperationStatus::InProgress)
        .operation_statuses(OperationStatus::CancelInProgress)
        .build();
    let filter = &filter;
    let tokens = paginate(move |token| async move {
        let page = aws_call!(
            cx,
            "cloudcontrol",
            "ListResourceRequests",
            cx.cloudcontrol()
                .list_resource_requests()
                .resource_request_status_filter(filter.clone())
                .set_next_token(token.clone())
        )?;
        let tokens: Vec<String> = page
            .resource_request_status_summaries()
            .iter()
            .filter_map(|e| e.request_token().map(str::to_string))
            .collect();
        Ok((tokens, page.next_token().map(str::to_string)))
    })
    .await?;
    Ok(tokens.into_iter().collect())
}

/// GetResourceRequestStatus of one request (apply's poller asks for every pending deletion in
/// one round, under the one Cloud Control limiter).
pub async fn request_status(cx: &Cx, token: &str) -> Result<RequestOutcome, SweepError> {
    let now = aws_call!(
        cx,
        "cloudcontrol",
        "GetResourceRequestStatus",
        cx.cloudcontrol()
            .get_resource_request_status()
            .request_token(token)
    )?;
    Ok(match now.progress_event() {
        Some(e) => outcome(e, token),
        None => RequestOutcome::InProgress("no progress event".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_find_their_type_and_registry_types_still_win() {
        assert_eq!(
            any_type("cloudcontrol:AWS::SSM::Parameter").map(|t| t.service()),
            Some("cloudcontrol")
        );
        assert_eq!(any_type("ec2:vpc").map(|t| t.name()), Some("ec2:vpc"));
        assert!(any_type("cloudcontrol:AWS::No::Such").is_none());
        for t in types() {
            assert_eq!(t.kind, format!("cloudcontrol:{}", t.type_name));
        }
        assert!(types().len() > 800, "{}", types().len());
    }

    #[test]
    fn client_tokens_are_stable_per_plan_item_and_attempt() {
        let a = client_token("sweep-1", "arn:aws:events:r:1:event-bus/x", 0);
        assert_eq!(
            a,
            client_token("sweep-1", "arn:aws:events:r:1:event-bus/x", 0)
        );
        assert_ne!(
            a,
            client_token("sweep-1", "arn:aws:events:r:1:event-bus/x", 1)
        );
        assert_ne!(
            a,
            client_token("sweep-2", "arn:aws:events:r:1:event-bus/x", 0)
        );
        assert_ne!(
            a,
            client_token("sweep-1", "arn:aws:events:r:1:event-bus/y", 0)
        );
        // Cloud Control's pattern: [-A-Za-z0-9+/=]+, at most 128 characters.
        assert!(a.len() <= 128 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn listed_resources_get_their_arn_from_the_identifier_or_the_arn_property() {
        let rule = by_type_name("AWS::Events::Rule").unwrap();
        assert_eq!(
            rule.arn_of("arn:aws:events:r:1:rule/x", &serde_json::json!({})),
            Some("arn:aws:events:r:1:rule/x".into())
        );
        let group = by_type_name("AWS::Logs::LogGroup").unwrap();
        assert_eq!(
            group.arn_of(
                "old",
                &serde_json::json!({"Arn": "arn:aws:logs:r:1:log-group:old:*"})
            ),
            Some("arn:aws:logs:r:1:log-group:old".into())
        );
        assert_eq!(group.arn_of("old", &serde_json::json!({})), None);
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
    }
}
