//! AMI owned by the account, with its snapshots: deregistered, then the EBS snapshots it was made
//! of are deleted (an AMI's snapshot cannot be deleted while the AMI exists, so a snapshot in
//! the plan goes after the AMI that names it).

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, unless_gone, DeleteOptions, Deleted,
    Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct Image;

impl ResourceType for Image {
    fn name(&self) -> &'static str {
        "ec2:image"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "image/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeImages",
                cx.ec2()
                    .describe_images()
                    .owners("self")
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for i in page.images() {
                let Some(id) = i.image_id() else { continue };
                let mut snapshots: Vec<&str> = i
                    .block_device_mappings()
                    .iter()
                    .filter_map(|b| b.ebs().and_then(|e| e.snapshot_id()))
                    .collect();
                snapshots.sort();
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "image", id))
                    .tags_from(ec2_tags(i.tags()))
                    .prop("image_name", i.name().unwrap_or(""))
                    .prop("snapshots", snapshots.join(","));
                if f.name.is_none() {
                    f.name = i.name().map(str::to_string);
                }
                f.created = i
                    .creation_date()
                    .and_then(|d| {
                        aws_smithy_types::DateTime::from_str(
                            d,
                            aws_smithy_types::date_time::Format::DateTime,
                        )
                        .ok()
                    })
                    .map(|d| d.secs());
                f.state = i.state().map(|s| s.as_str().to_string());
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "ec2",
                "DeregisterImage",
                cx.ec2().deregister_image().image_id(&item.id)
            )?;
            let mut actions = Vec::new();
            let snapshots = item
                .properties
                .get("snapshots")
                .cloned()
                .unwrap_or_default();
            for snap in snapshots.split(',').filter(|s| !s.is_empty()) {
                let deleted = aws_call!(
                    cx,
                    "ec2",
                    "DeleteSnapshot",
                    cx.ec2().delete_snapshot().snapshot_id(snap)
                );
                if unless_gone(deleted)?.is_some() {
                    actions.push(format!("deleted its snapshot {snap}"));
                }
            }
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
        Some(ec2_create_tags(cx, items, key, value))
    }
}
