//! ELBv2 target group. Goes after the load balancers that forward to it (see `resources::link`).

use super::elbv2_load_balancer::add_elbv2_tags;
use super::{paginate, request_id, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct TargetGroup;

impl ResourceType for TargetGroup {
    fn name(&self) -> &'static str {
        "elbv2:target-group"
    }
    fn service(&self) -> &'static str {
        "elasticloadbalancing"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("elasticloadbalancing", "targetgroup/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            let mut out = paginate(move |marker| async move {
                let page = aws_call!(
                    cx,
                    "elasticloadbalancing",
                    "DescribeTargetGroups",
                    cx.elbv2()
                        .describe_target_groups()
                        .set_marker(marker.clone())
                )?;
                let mut out = Vec::new();
                for tg in page.target_groups() {
                    let Some(arn) = tg.target_group_arn() else {
                        continue;
                    };
                    let name = tg.target_group_name().unwrap_or("");
                    let mut lbs: Vec<&str> =
                        tg.load_balancer_arns().iter().map(String::as_str).collect();
                    lbs.sort();
                    let mut f = Found::new(self.name(), &cx.region, name, arn)
                        .prop("protocol", tg.protocol().map(|p| p.as_str()).unwrap_or(""))
                        .prop("port", tg.port().unwrap_or(0))
                        .prop("vpc", tg.vpc_id().unwrap_or(""))
                        .prop("load_balancers", lbs.join(","))
                        .flag("unused", lbs.is_empty());
                    f.name = Some(name.to_string());
                    out.push(f);
                }
                Ok((out, page.next_marker().map(str::to_string)))
            })
            .await?;
            add_elbv2_tags(cx, &mut out).await?;
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "elasticloadbalancing",
                "DeleteTargetGroup",
                cx.elbv2().delete_target_group().target_group_arn(&item.arn)
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
        Some(super::elbv2_load_balancer::elbv2_add_tags(
            cx, items, key, value,
        ))
    }
}
