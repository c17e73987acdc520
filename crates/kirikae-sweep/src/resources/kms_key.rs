//! KMS key (customer managed only: AWS-managed keys are never listed as candidates). ListKeys
//! names them; DescribeKey (one call each) gives the manager, state and creation time;
//! ListResourceTags the tags. "Deleting" is ScheduleKeyDeletion with a pending window of
//! `--recovery-window` days (7, the minimum, unless said otherwise); the deletion is confirmed
//! when the key's state is `PendingDeletion`, which a key already in that state counts as gone.

use super::{
    bad_tag, paginate, request_id, secs, tag_each, unless_gone, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found, SweepError};

pub struct Key;

impl ResourceType for Key {
    fn name(&self) -> &'static str {
        "kms:key"
    }
    fn service(&self) -> &'static str {
        "kms"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("kms", "key/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            let ids = paginate(|marker| async move {
                let page = aws_call!(
                    cx,
                    "kms",
                    "ListKeys",
                    cx.kms().list_keys().set_marker(marker.clone())
                )?;
                let ids = page
                    .keys()
                    .iter()
                    .filter_map(|k| k.key_id().map(str::to_string))
                    .collect();
                Ok((ids, kms_next_marker(page.truncated(), page.next_marker())))
            })
            .await?;
            let mut out = Vec::new();
            for id in ids {
                let described = aws_call!(
                    cx,
                    "kms",
                    "DescribeKey",
                    cx.kms().describe_key().key_id(&id)
                );
                let Some(m) = unless_gone(described)?.and_then(|d| d.key_metadata) else {
                    continue;
                };
                if m.key_manager().map(|k| k.as_str()) != Some("CUSTOMER") {
                    continue; // AWS-managed keys are never swept
                }
                let key_id = id.as_str();
                let tags = paginate(|marker| async move {
                    let page = aws_call!(
                        cx,
                        "kms",
                        "ListResourceTags",
                        cx.kms()
                            .list_resource_tags()
                            .key_id(key_id)
                            .set_marker(marker.clone())
                    )?;
                    let tags = page
                        .tags()
                        .iter()
                        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
                        .collect();
                    Ok((tags, kms_next_marker(page.truncated(), page.next_marker())))
                })
                .await?;
                let arn = m
                    .arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("kms", &format!("key/{id}")));
                let mut f = Found::new(self.name(), &cx.region, &id, arn)
                    .tags_from(tags)
                    .prop("description", m.description().unwrap_or(""))
                    .prop("usage", m.key_usage().map(|u| u.as_str()).unwrap_or(""))
                    .prop("multi_region", m.multi_region().unwrap_or(false));
                f.created = secs(m.creation_date());
                f.state = m.key_state().map(|s| s.as_str().to_string());
                out.push(f);
            }
            Ok(out)
        })
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        opts: &'a DeleteOptions,
    ) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let days = opts.recovery_days();
            let out = aws_call!(
                cx,
                "kms",
                "ScheduleKeyDeletion",
                cx.kms()
                    .schedule_key_deletion()
                    .key_id(&item.id)
                    .pending_window_in_days(days)
            )?;
            // Confirmed by the key's state: AWS returns it; where the answer lacks it, ask.
            let state = match out.key_state() {
                Some(s) => Some(s.as_str().to_string()),
                None => aws_call!(
                    cx,
                    "kms",
                    "DescribeKey",
                    cx.kms().describe_key().key_id(&item.id)
                )?
                .key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str().to_string()),
            };
            if state.as_deref() != Some("PendingDeletion") {
                return Err(SweepError::Refused(format!(
                    "{}: ScheduleKeyDeletion answered but the key is {}, not PendingDeletion",
                    item.id,
                    state.as_deref().unwrap_or("in an unknown state")
                )));
            }
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![format!(
                    "scheduled for deletion in {days} days (PendingDeletion; cancellable until then)"
                )],
            })
        })
    }

    fn is_gone(&self, found: &Found) -> bool {
        found.state.as_deref() == Some("PendingDeletion")
    }

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        tag_each(items, move |f| async move {
            let tag = aws_sdk_kms::types::Tag::builder()
                .tag_key(key)
                .tag_value(value)
                .build()
                .map_err(bad_tag)?;
            aws_call!(
                cx,
                "kms",
                "TagResource",
                cx.kms().tag_resource().key_id(&f.id).tags(tag.clone())
            )
        })
    }
}

/// KMS's next page: its marker, only while the answer says it is truncated.
fn kms_next_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    truncated.then(|| marker.map(str::to_string)).flatten()
}
