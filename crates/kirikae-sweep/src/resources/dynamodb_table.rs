//! DynamoDB table. ListTables names them; DescribeTable (one call each) gives creation time,
//! status, size and deletion protection. With `--disable-protection`, protection is turned off
//! first.

use super::{request_id, secs, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

pub struct Table;

impl ResourceType for Table {
    fn name(&self) -> &'static str {
        "dynamodb:table"
    }
    fn service(&self) -> &'static str {
        "dynamodb"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("dynamodb", "table/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut start: Option<String> = None;
            loop {
                let page = aws_call!(
                    cx,
                    "dynamodb",
                    "ListTables",
                    cx.dynamodb()
                        .list_tables()
                        .set_exclusive_start_table_name(start.clone())
                )?;
                names.extend(page.table_names().iter().cloned());
                start = page.last_evaluated_table_name().map(str::to_string);
                if start.is_none() {
                    break;
                }
            }
            let mut out = Vec::new();
            for name in names {
                let described = aws_call!(
                    cx,
                    "dynamodb",
                    "DescribeTable",
                    cx.dynamodb().describe_table().table_name(&name)
                );
                let table = match described {
                    Ok(d) => d.table,
                    Err(e) if e.is_not_found() => continue, // deleted since ListTables
                    Err(e) => return Err(e),
                };
                let Some(t) = table else { continue };
                let arn = t
                    .table_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("dynamodb", &format!("table/{name}")));
                let mut f = Found::new(self.name(), &cx.region, &name, arn)
                    .prop("items", t.item_count().unwrap_or(0))
                    .prop("bytes", t.table_size_bytes().unwrap_or(0))
                    .prop(
                        "deletion_protection",
                        t.deletion_protection_enabled().unwrap_or(false),
                    )
                    .flag("empty", t.item_count() == Some(0));
                f.name = Some(name.clone());
                f.created = secs(t.creation_date_time());
                f.state = t.table_status().map(|s| s.as_str().to_string());
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
            let mut actions = Vec::new();
            if item
                .properties
                .get("deletion_protection")
                .map(String::as_str)
                == Some("true")
            {
                if !opts.disable_protection {
                    return Err(SweepError::Refused(format!(
                        "{}: deletion protection is on; pass --disable-protection to turn it off",
                        item.id
                    )));
                }
                aws_call!(
                    cx,
                    "dynamodb",
                    "UpdateTable",
                    cx.dynamodb()
                        .update_table()
                        .table_name(&item.id)
                        .deletion_protection_enabled(false)
                )?;
                actions.push("deletion protection turned off (--disable-protection)".to_string());
            }
            let out = aws_call!(
                cx,
                "dynamodb",
                "DeleteTable",
                cx.dynamodb().delete_table().table_name(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions,
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
        Some(Box::pin(async move {
            let tag = aws_sdk_dynamodb::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| SweepError::BadInput(format!("tag: {e}")))?;
            for f in items {
                aws_call!(
                    cx,
                    "dynamodb",
                    "TagResource",
                    cx.dynamodb()
                        .tag_resource()
                        .resource_arn(&f.arn)
                        .tags(tag.clone())
                )?;
            }
            Ok(())
        }))
    }
}
