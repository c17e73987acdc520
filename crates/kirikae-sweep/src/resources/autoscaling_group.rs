//! Auto Scaling group. Uses its launch template and its subnets (the group goes first). The
//! instances it manages go with it (ForceDelete terminates them): [`super::link`] makes a group
//! use its instances, so an instance of the plan is terminated after its group (a no-op by then),
//! and an instance whose group is not in the plan is not deleted at all (the group would only
//! replace it). Deletion is asynchronous ("Delete in progress"), so the group is re-listed until
//! it is gone. The Tagging API does not list groups, so their tags come from
//! DescribeAutoScalingGroups; tagging uses CreateOrUpdateTags.

use super::{ec2_arn, paginate, request_id, secs, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct Group;

impl ResourceType for Group {
    fn name(&self) -> &'static str {
        "autoscaling:group"
    }
    fn service(&self) -> &'static str {
        "autoscaling"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("autoscaling", "autoScalingGroup:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "autoscaling",
                "DescribeAutoScalingGroups",
                cx.autoscaling()
                    .describe_auto_scaling_groups()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for g in page.auto_scaling_groups() {
                let Some(name) = g.auto_scaling_group_name() else {
                    continue;
                };
                let arn = g
                    .auto_scaling_group_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        cx.arn(
                            "autoscaling",
                            &format!("autoScalingGroup:*:autoScalingGroupName/{name}"),
                        )
                    });
                let template = g.launch_template().or_else(|| {
                    g.mixed_instances_policy()
                        .and_then(|m| m.launch_template())
                        .and_then(|t| t.launch_template_specification())
                });
                let template_id = template.and_then(|t| t.launch_template_id()).unwrap_or("");
                let subnets = g.vpc_zone_identifier().unwrap_or("");
                let mut f = Found::new(self.name(), &cx.region, name, arn)
                    .tags_from(g.tags().iter().filter_map(|t| {
                        Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                    }))
                    .prop("launch_template", template_id)
                    .prop(
                        "launch_template_name",
                        template
                            .and_then(|t| t.launch_template_name())
                            .unwrap_or(""),
                    )
                    .prop(
                        "launch_configuration",
                        g.launch_configuration_name().unwrap_or(""),
                    )
                    .prop("subnets", subnets)
                    .prop("min_size", g.min_size().unwrap_or(0))
                    .prop("max_size", g.max_size().unwrap_or(0))
                    .prop("desired_capacity", g.desired_capacity().unwrap_or(0))
                    // The group replaces instances on its own: shown, not fingerprinted.
                    .volatile_prop("instances", g.instances().len());
                if f.name.is_none() {
                    f.name = Some(name.to_string());
                }
                f.created = secs(g.created_time());
                f.state = g.status().map(str::to_string);
                if !template_id.is_empty() {
                    f.depends_on
                        .push(ec2_arn(cx, "launch-template", template_id));
                }
                for s in subnets.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    f.depends_on.push(ec2_arn(cx, "subnet", s));
                }
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "autoscaling",
                "DeleteAutoScalingGroup",
                cx.autoscaling()
                    .delete_auto_scaling_group()
                    .auto_scaling_group_name(&item.id)
                    .force_delete(true)
            )?;
            let actions = match item.properties.get("instances").map(String::as_str) {
                Some("0") | None => vec![],
                Some(n) => vec![format!("terminates its {n} instances (ForceDelete)")],
            };
            Ok(Deleted {
                request_id: request_id(&out),
                actions,
            })
        })
    }

    fn deletion_is_async(&self) -> bool {
        true
    }

    fn is_deleting(&self, found: &Found) -> bool {
        found.state.as_deref() == Some("Delete in progress")
    }

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        Some(Box::pin(async move {
            // Up to 50 tags a call, on any groups.
            for chunk in items.chunks(50) {
                let tags: Vec<aws_sdk_autoscaling::types::Tag> = chunk
                    .iter()
                    .map(|f| {
                        aws_sdk_autoscaling::types::Tag::builder()
                            .resource_id(&f.id)
                            .resource_type("auto-scaling-group")
                            .key(key)
                            .value(value)
                            .propagate_at_launch(false)
                            .build()
                    })
                    .collect();
                aws_call!(
                    cx,
                    "autoscaling",
                    "CreateOrUpdateTags",
                    cx.autoscaling()
                        .create_or_update_tags()
                        .set_tags(Some(tags.clone()))
                )?;
            }
            Ok(())
        }))
    }
}
