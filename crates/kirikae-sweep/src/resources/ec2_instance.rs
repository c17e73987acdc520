//! EC2 instance. Uses its subnet, security groups, attached volumes and secondary interfaces;
//! termination is asynchronous, so it is re-listed until `terminated` before they go. With
//! `--disable-protection`, termination protection is turned off first.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, secs, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Instance;

impl ResourceType for Instance {
    fn name(&self) -> &'static str {
        "ec2:instance"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "instance/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeInstances",
                cx.ec2().describe_instances().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = i.instance_id() else { continue };
                let state = i
                    .state()
                    .and_then(|s| s.name())
                    .map(|s| s.as_str().to_string());
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "instance", id))
                    .tags_from(ec2_tags(i.tags()))
                    .prop(
                        "instance_type",
                        i.instance_type().map(|t| t.as_str()).unwrap_or(""),
                    )
                    .prop("vpc", i.vpc_id().unwrap_or(""))
                    .prop("subnet", i.subnet_id().unwrap_or(""))
                    .prop("image", i.image_id().unwrap_or(""))
                    .flag("stopped", state.as_deref() == Some("stopped"));
                if let Some(k) = i.key_name() {
                    f = f.prop("key_name", k);
                }
                f.created = secs(i.launch_time());
                f.state = state;
                if let Some(s) = i.subnet_id() {
                    f.depends_on.push(ec2_arn(cx, "subnet", s));
                }
                for g in i.security_groups() {
                    if let Some(g) = g.group_id() {
                        f.depends_on.push(ec2_arn(cx, "security-group", g));
                    }
                }
                for b in i.block_device_mappings() {
                    if let Some(v) = b.ebs().and_then(|e| e.volume_id()) {
                        f.depends_on.push(ec2_arn(cx, "volume", v));
                    }
                }
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
            let mut actions = Vec::new();
            let terminate = || async {
                aws_call!(
                    cx,
                    "ec2",
                    "TerminateInstances",
                    cx.ec2().terminate_instances().instance_ids(&item.id)
                )
            };
            let out = match terminate().await {
                Err(e) if e.code() == Some("OperationNotPermitted") && opts.disable_protection => {
                    aws_call!(
                        cx,
                        "ec2",
                        "ModifyInstanceAttribute",
                        cx.ec2()
                            .modify_instance_attribute()
                            .instance_id(&item.id)
                            .disable_api_termination(
                                aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build()
                            )
                    )?;
                    actions.push("termination protection turned off (--disable-protection)".to_string());
                    terminate().await?
                }
                Err(e) if e.code() == Some("OperationNotPermitted") => {
                    return Err(crate::SweepError::Refused(format!(
                        "{}: termination protection is on ({}); pass --disable-protection to turn it off",
                        item.id,
                        e
                    )))
                }
                other => other?,
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

    fn is_gone(&self, found: &Found) -> bool {
        found.state.as_deref() == Some("terminated")
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
