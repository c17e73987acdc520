//! Secrets Manager secret. ListSecrets gives tags, creation time and rotation. Deleted with a
//! recovery window (`--recovery-window`, 7 to 30 days, default 7: the secret can be restored
//! until then) or at once with `--force-delete-secrets` (ForceDeleteWithoutRecovery); the
//! report's actions say which. A secret scheduled for deletion is no longer listed, which
//! confirms the deletion.

use super::{paginate, request_id, secs, tag_each, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

pub struct Secret;

impl ResourceType for Secret {
    fn name(&self) -> &'static str {
        "secretsmanager:secret"
    }
    fn service(&self) -> &'static str {
        "secretsmanager"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("secretsmanager", "secret:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "secretsmanager",
                "ListSecrets",
                cx.secrets().list_secrets().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for s in page.secret_list() {
                let (Some(arn), Some(name)) = (s.arn(), s.name()) else {
                    continue;
                };
                // Scheduled for deletion already (only listed when asked for).
                if s.deleted_date().is_some() {
                    continue;
                }
                let tags = s
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                    })
                    .collect::<Vec<_>>();
                let mut f = Found::new(self.name(), &cx.region, arn, arn)
                    .tags_from(tags)
                    .prop("rotation", s.rotation_enabled().unwrap_or(false))
                    .prop("kms_key", s.kms_key_id().unwrap_or(""))
                    .prop("owning_service", s.owning_service().unwrap_or(""));
                f.name = Some(name.to_string());
                f.created = secs(s.created_date());
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        opts: &'a DeleteOptions,
    ) -> Fut<'a, Deleted> {
        Box::pin(async move {
            if item
                .properties
                .get("owning_service")
                .is_some_and(|s| !s.is_empty())
            {
                return Err(SweepError::Refused(format!(
                    "{}: managed by {}; delete it there",
                    item.name.as_deref().unwrap_or(&item.id),
                    item.properties["owning_service"]
                )));
            }
            let req = cx.secrets().delete_secret().secret_id(&item.id);
            let (out, action) = if opts.force_delete_secrets {
                let out = aws_call!(
                    cx,
                    "secretsmanager",
                    "DeleteSecret",
                    req.clone().force_delete_without_recovery(true)
                )?;
                (
                    out,
                    "deleted without recovery (--force-delete-secrets)".to_string(),
                )
            } else {
                let days = opts.recovery_days();
                let out = aws_call!(
                    cx,
                    "secretsmanager",
                    "DeleteSecret",
                    req.clone().recovery_window_in_days(i64::from(days))
                )?;
                (
                    out,
                    format!("scheduled for deletion: restorable for {days} days"),
                )
            };
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![action],
            })
        })
    }

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        tag_each(items, move |f| async move {
            let tag = aws_sdk_secretsmanager::types::Tag::builder()
                .key(key)
                .value(value)
                .build();
            aws_call!(
                cx,
                "secretsmanager",
                "TagResource",
                cx.secrets()
                    .tag_resource()
                    .secret_id(&f.id)
                    .tags(tag.clone())
            )
        })
    }
}
