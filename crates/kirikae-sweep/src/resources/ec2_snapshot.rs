//! EBS snapshot owned by the account. `orphan`: the volume it was taken from is gone (set across
//! types in `resources::link`).

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, secs, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Snapshot;

impl ResourceType for Snapshot {
    fn name(&self) -> &'static str {
        "ec2:snapshot"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "snapshot/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeSnapshots",
                cx.ec2()
                    .describe_snapshots()
                    .owner_ids("self")
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for s in page.snapshots() {
                let Some(id) = s.snapshot_id() else { continue };
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "snapshot", id))
                    .tags_from(ec2_tags(s.tags()))
                    .prop("volume", s.volume_id().unwrap_or(""))
                    .prop("size_gib", s.volume_size().unwrap_or(0))
                    .prop("description", s.description().unwrap_or(""));
                f.created = secs(s.start_time());
                f.state = s.state().map(|s| s.as_str().to_string());
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
                "DeleteSnapshot",
                cx.ec2().delete_snapshot().snapshot_id(&item.id)
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
        Some(ec2_create_tags(cx, items, key, value))
    }
}
