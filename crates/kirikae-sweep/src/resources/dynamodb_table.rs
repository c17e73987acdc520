//! DynamoDB table. ListTables names them; DescribeTable (one call each) gives creation time,
//! status, size and deletion protection. With `--disable-protection`, protection is turned off
//! first.

use super::{
    bad_tag, paginate, request_id, secs, tag_each, turn_protection_off, unless_gone, DeleteOptions,
    Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

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
            let names = paginate(|start| async move {
                let page = aws_call!(
                    cx,
                    "dynamodb",
                    "ListTables",
                    cx.dynamodb()
                        .list_tables()
                        .set_exclusive_start_table_name(start.clone())
                )?;
                let next = page.last_evaluated_table_name().map(str::to_string);
                Ok((page.table_names().to_vec(), next))
            })
            .await?;
            let mut out = Vec::new();
            for name in names {
                let described = aws_call!(
                    cx,
                    "dynamodb",
                    "DescribeTable",
                    cx.dynamodb().describe_table().table_name(&name)
                );
                let Some(t) = unless_gone(described)?.and_then(|d| d.table) else {
                    continue; // deleted since ListTables (or described without a table)
                };
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
            let turn_off = async {
                aws_call!(
                    cx,
                    "dynamodb",
                    "UpdateTable",
                    cx.dynamodb()
                        .update_table()
                        .table_name(&item.id)
                        .deletion_protection_enabled(false)
                )
            };
            turn_protection_off(item, opts, &mut actions, turn_off).await?;
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
        tag_each(items, move |f| async move {
            let tag = aws_sdk_dynamodb::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(bad_tag)?;
            aws_call!(
                cx,
                "dynamodb",
                "TagResource",
                cx.dynamodb()
                    .tag_resource()
                    .resource_arn(&f.arn)
                    .tags(tag.clone())
            )
        })
    }
}
