//! ELBv2 load balancer (application, network, gateway). Uses its subnets, security groups and the
//! target groups its listeners forward to (a target group in use cannot be deleted); its
//! listeners go with it. With `--disable-protection`, deletion protection is turned off first.

use std::collections::HashMap;

use super::{paginate, request_id, secs, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

pub struct LoadBalancer;

/// Adds their tags to listed ELBv2 resources, 20 ARNs per call (DescribeTags' limit).
pub(crate) async fn add_elbv2_tags(cx: &Cx, found: &mut [Found]) -> Result<(), SweepError> {
    let arns: Vec<String> = found.iter().map(|f| f.arn.clone()).collect();
    let mut tags = elbv2_tags(cx, &arns).await?;
    for f in found {
        if let Some(t) = tags.remove(&f.arn) {
            f.tags.extend(t);
        }
    }
    Ok(())
}

async fn elbv2_tags(
    cx: &Cx,
    arns: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, SweepError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(20) {
        let page = aws_call!(
            cx,
            "elasticloadbalancing",
            "DescribeTags",
            cx.elbv2()
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
        )?;
        for d in page.tag_descriptions() {
            let Some(arn) = d.resource_arn() else {
                continue;
            };
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect();
            out.insert(arn.to_string(), tags);
        }
    }
    Ok(out)
}

/// AddTags, 20 ARNs per call.
pub(crate) fn elbv2_add_tags<'a>(
    cx: &'a Cx,
    items: &'a [Found],
    key: &'a str,
    value: &'a str,
) -> Fut<'a, ()> {
    Box::pin(async move {
        let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        for chunk in items.chunks(20) {
            let arns: Vec<String> = chunk.iter().map(|f| f.arn.clone()).collect();
            aws_call!(
                cx,
                "elasticloadbalancing",
                "AddTags",
                cx.elbv2()
                    .add_tags()
                    .set_resource_arns(Some(arns.clone()))
                    .tags(tag.clone())
            )?;
        }
        Ok(())
    })
}

impl ResourceType for LoadBalancer {
    fn name(&self) -> &'static str {
        "elbv2:load-balancer"
    }
    fn service(&self) -> &'static str {
        "elasticloadbalancing"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("elasticloadbalancing", "loadbalancer/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            let mut out = paginate(move |marker| async move {
                let page = aws_call!(
                    cx,
                    "elasticloadbalancing",
                    "DescribeLoadBalancers",
                    cx.elbv2()
                        .describe_load_balancers()
                        .set_marker(marker.clone())
                )?;
                let mut out = Vec::new();
                for lb in page.load_balancers() {
                    let Some(arn) = lb.load_balancer_arn() else {
                        continue;
                    };
                    let name = lb.load_balancer_name().unwrap_or("");
                    let mut f = Found::new(self.name(), &cx.region, name, arn)
                        .prop("lb_type", lb.r#type().map(|t| t.as_str()).unwrap_or(""))
                        .prop("scheme", lb.scheme().map(|t| t.as_str()).unwrap_or(""))
                        .prop("vpc", lb.vpc_id().unwrap_or(""))
                        .prop("dns_name", lb.dns_name().unwrap_or(""));
                    f.name = Some(name.to_string());
                    f.created = secs(lb.created_time());
                    f.state = lb
                        .state()
                        .and_then(|s| s.code())
                        .map(|c| c.as_str().to_string());
                    for az in lb.availability_zones() {
                        if let Some(s) = az.subnet_id() {
                            f.depends_on.push(cx.arn("ec2", &format!("subnet/{s}")));
                        }
                    }
                    for g in lb.security_groups() {
                        f.depends_on
                            .push(cx.arn("ec2", &format!("security-group/{g}")));
                    }
                    out.push(f);
                }
                Ok((out, page.next_marker().map(str::to_string)))
            })
            .await?;
            add_elbv2_tags(cx, &mut out).await?;
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
            let delete = || async {
                aws_call!(
                    cx,
                    "elasticloadbalancing",
                    "DeleteLoadBalancer",
                    cx.elbv2()
                        .delete_load_balancer()
                        .load_balancer_arn(&item.arn)
                )
            };
            let out = match delete().await {
                Err(e) if e.code() == Some("OperationNotPermitted") && opts.disable_protection => {
                    let attr = aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                        .key("deletion_protection.enabled")
                        .value("false")
                        .build();
                    aws_call!(
                        cx,
                        "elasticloadbalancing",
                        "ModifyLoadBalancerAttributes",
                        cx.elbv2()
                            .modify_load_balancer_attributes()
                            .load_balancer_arn(&item.arn)
                            .attributes(attr.clone())
                    )?;
                    actions.push("deletion protection turned off (--disable-protection)".to_string());
                    delete().await?
                }
                Err(e) if e.code() == Some("OperationNotPermitted") => {
                    return Err(SweepError::Refused(format!(
                        "{}: deletion protection is on ({e}); pass --disable-protection to turn it off",
                        item.id
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
