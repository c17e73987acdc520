//! EBS volume. An attached volume goes after its instance (the instance names it). `unattached`:
//! state `available`.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, secs, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Volume;

impl ResourceType for Volume {
    fn name(&self) -> &'static str {
        "ec2:volume"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "volume/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeVolumes",
                cx.ec2().describe_volumes().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for v in page.volumes() {
                let Some(id) = v.volume_id() else { continue };
                let state = v.state().map(|s| s.as_str().to_string());
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "volume", id))
                    .tags_from(ec2_tags(v.tags()))
                    .prop("size_gib", v.size().unwrap_or(0))
                    .prop(
                        "volume_type",
                        v.volume_type().map(|t| t.as_str()).unwrap_or(""),
                    )
                    .prop("az", v.availability_zone().unwrap_or(""))
                    .flag("unattached", state.as_deref() == Some("available"));
                if let Some(s) = v.snapshot_id().filter(|s| !s.is_empty()) {
                    f = f.prop("snapshot", s);
                }
                let attached: Vec<&str> = v
                    .attachments()
                    .iter()
                    .filter_map(|a| a.instance_id())
                    .collect();
                if !attached.is_empty() {
                    f = f.prop("attached_to", attached.join(","));
                }
                f.created = secs(v.create_time());
                f.state = state;
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
                "DeleteVolume",
                cx.ec2().delete_volume().volume_id(&item.id)
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
