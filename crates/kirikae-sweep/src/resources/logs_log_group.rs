//! CloudWatch Logs log group. `empty`: it stores no bytes.

use super::{paginate, request_id, tag_each, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct LogGroup;

impl ResourceType for LogGroup {
    fn name(&self) -> &'static str {
        "logs:log-group"
    }
    fn service(&self) -> &'static str {
        "logs"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("logs", "log-group:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "logs",
                "DescribeLogGroups",
                cx.logs()
                    .describe_log_groups()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for g in page.log_groups() {
                let Some(name) = g.log_group_name() else {
                    continue;
                };
                // The Tagging API names a group without the trailing `:*`.
                let arn = cx.arn("logs", &format!("log-group:{name}"));
                let bytes = g.stored_bytes().unwrap_or(0);
                let mut f = Found::new(self.name(), &cx.region, name, arn)
                    .prop("stored_bytes", bytes)
                    .prop(
                        "retention_days",
                        g.retention_in_days()
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                    )
                    .flag("empty", bytes == 0);
                f.name = Some(name.to_string());
                f.created = g.creation_time().map(|ms| ms / 1000);
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "logs",
                "DeleteLogGroup",
                cx.logs().delete_log_group().log_group_name(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
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
            aws_call!(
                cx,
                "logs",
                "TagResource",
                cx.logs()
                    .tag_resource()
                    .resource_arn(&f.arn)
                    .tags(key, value)
            )
        })
    }
}
