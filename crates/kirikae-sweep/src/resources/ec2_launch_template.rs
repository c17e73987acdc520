//! EC2 launch template (all its versions go with it). An Auto Scaling group using one goes
//! first (the group names it); a group outside the plan keeps it.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, secs, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct LaunchTemplate;

impl ResourceType for LaunchTemplate {
    fn name(&self) -> &'static str {
        "ec2:launch-template"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "launch-template/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeLaunchTemplates",
                cx.ec2()
                    .describe_launch_templates()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for t in page.launch_templates() {
                let Some(id) = t.launch_template_id() else {
                    continue;
                };
                let mut f = Found::new(
                    self.name(),
                    &cx.region,
                    id,
                    ec2_arn(cx, "launch-template", id),
                )
                .tags_from(ec2_tags(t.tags()))
                .prop("template_name", t.launch_template_name().unwrap_or(""))
                .prop("latest_version", t.latest_version_number().unwrap_or(0));
                if f.name.is_none() {
                    f.name = t.launch_template_name().map(str::to_string);
                }
                f.created = secs(t.create_time());
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
                "DeleteLaunchTemplate",
                cx.ec2()
                    .delete_launch_template()
                    .launch_template_id(&item.id)
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
