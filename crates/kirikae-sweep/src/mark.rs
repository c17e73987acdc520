//! `mark`: tag every item of a plan with `<tag key>=<plan id>` (the Tagging API, 20 ARNs a call;
//! the type's own API where the Tagging API cannot) and create a tag-based Resource Group named
//! after the plan, so the set shows in the console as one group, as in the story.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Cx, Found, MarkStatus, Plan, SweepError};

#[derive(Debug, Clone, serde::Serialize)]
pub struct MarkReport {
    pub plan: String,
    pub tag: String,
    pub tagging_api: usize,
    pub type_api: usize,
    pub cannot_tag: Vec<(String, String)>,
    pub groups: Vec<String>,
}

/// Tags the plan's items in `cx`'s region and creates the group there. Updates `plan` (mark
/// status per item, the group's ARN); the caller checks the plan's digest before (see
/// [`crate::CheckedPlan`]), then seals it again ([`Plan::seal`]) and saves it.
pub async fn mark(cxs: &[Arc<Cx>], plan: &mut Plan) -> Result<MarkReport, SweepError> {
    let key = plan.tag_key.clone();
    let value = plan.tag_value().to_string();
    let mut report = MarkReport {
        plan: plan.id.clone(),
        tag: format!("{key}={value}"),
        tagging_api: 0,
        type_api: 0,
        cannot_tag: Vec::new(),
        groups: Vec::new(),
    };
    for cx in cxs {
        let idx: Vec<usize> = (0..plan.items.len())
            .filter(|&i| plan.items[i].found.region == cx.region)
            .collect();
        if idx.is_empty() {
            continue;
        }
        // 1. The Tagging API, 20 ARNs per call.
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        let arns: Vec<String> = idx
            .iter()
            .map(|&i| plan.items[i].found.arn.clone())
            .collect();
        for chunk in arns.chunks(20) {
            let tags = std::collections::HashMap::from([(key.clone(), value.clone())]);
            let out = aws_call!(
                cx,
                "tagging",
                "TagResources",
                cx.tagging()
                    .tag_resources()
                    .set_resource_arn_list(Some(chunk.to_vec()))
                    .set_tags(Some(tags.clone()))
            )?;
            if let Some(map) = out.failed_resources_map() {
                for (arn, f) in map {
                    let why = format!(
                        "{}: {}",
                        f.error_code().map(|c| c.as_str()).unwrap_or("error"),
                        f.error_message().unwrap_or("")
                    );
                    failed.insert(arn.clone(), why);
                }
            }
        }
        // 2. What the Tagging API could not tag: the type's own API, by type.
        let mut by_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &i in &idx {
            let arn = &plan.items[i].found.arn;
            if failed.contains_key(arn) {
                by_type
                    .entry(plan.items[i].found.kind.clone())
                    .or_default()
                    .push(i);
            } else {
                plan.items[i].mark = MarkStatus::TaggingApi;
                report.tagging_api += 1;
            }
        }
        for (kind, items) in by_type {
            let found: Vec<Found> = items.iter().map(|&i| plan.items[i].found.clone()).collect();
            let tagged = match crate::cloudcontrol::any_type(&kind)
                .and_then(|t| t.tag(cx, &found, &key, &value))
            {
                Some(fut) => fut.await.map_err(|e| e.to_string()),
                None => Err(
                    "the Tagging API refused it and the type has no tagging API of its own"
                        .to_string(),
                ),
            };
            for &i in &items {
                match &tagged {
                    Ok(()) => {
                        plan.items[i].mark = MarkStatus::TypeApi;
                        report.type_api += 1;
                    }
                    Err(why) => {
                        let arn = plan.items[i].found.arn.clone();
                        let reason =
                            format!("{} ({why})", failed.get(&arn).cloned().unwrap_or_default());
                        plan.items[i].mark = MarkStatus::CannotTag(reason.clone());
                        report.cannot_tag.push((arn, reason));
                    }
                }
            }
        }
        // 3. The group.
        report.groups.push(create_group(cx, plan).await?);
    }
    plan.group = report.groups.first().cloned();
    Ok(report)
}

async fn create_group(cx: &Cx, plan: &Plan) -> Result<String, SweepError> {
    use aws_sdk_resourcegroups::types::{QueryType, ResourceQuery};
    let query = serde_json::json!({
        "ResourceTypeFilters": ["AWS::AllSupported"],
        "TagFilters": [{"Key": plan.tag_key, "Values": [plan.id]}],
    })
    .to_string();
    let rq = ResourceQuery::builder()
        .r#type(QueryType::TagFilters10)
        .query(query)
        .build()
        .map_err(|e| SweepError::BadInput(format!("resource query: {e}")))?;
    // AWS allows only letters, digits, blanks, `_`, `.` and `-` in a group's description.
    let description: String = format!(
        "kirikae sweep plan {} - {} resources in {} to delete after review",
        plan.id,
        plan.items.len(),
        plan.account.alias.as_deref().unwrap_or(&plan.account.id)
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || " _.-".contains(c) {
            c
        } else {
            '-'
        }
    })
    .collect();
    let created = aws_call!(
        cx,
        "resource-groups",
        "CreateGroup",
        cx.groups()
            .create_group()
            .name(&plan.id)
            .description(&description)
            .resource_query(rq.clone())
    );
    match created {
        Ok(out) => Ok(out
            .group()
            .map(|g| g.group_arn().to_string())
            .unwrap_or_else(|| cx.arn("resource-groups", &format!("group/{}", plan.id)))),
        // Marked before: the group is there already.
        Err(e)
            if e.code()
                .is_some_and(|c| c.contains("BadRequest") || c.contains("AlreadyExists")) =>
        {
            let got = aws_call!(
                cx,
                "resource-groups",
                "GetGroup",
                cx.groups().get_group().group(&plan.id)
            )?;
            Ok(got
                .group()
                .map(|g| g.group_arn().to_string())
                .unwrap_or_default())
        }
        Err(e) => Err(e),
    }
}
