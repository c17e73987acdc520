//! IAM role (global: listed in the first region only), with its policies and instance profiles:
//! managed policies detached, inline policies deleted, the role removed from its instance
//! profiles and those profiles deleted, then the role. Never the role kirikae itself acts as,
//! nor a service-linked role (AWS deletes those with their service).

use super::{
    bad_tag, paginate, request_id, secs, tag_each, DeleteOptions, Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct Role;

impl ResourceType for Role {
    fn name(&self) -> &'static str {
        "iam:role"
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("iam", "role/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            if !cx.lists_global_resources() {
                return Ok(Vec::new());
            }
            paginate(move |marker| async move {
                let page = aws_call!(
                    cx,
                    "iam",
                    "ListRoles",
                    cx.iam().list_roles().set_marker(marker.clone())
                )?;
                let mut out = Vec::new();
                for r in page.roles() {
                    let name = r.role_name();
                    if r.path().starts_with("/aws-service-role/")
                        || cx.caller_role.as_deref() == Some(name)
                    {
                        continue;
                    }
                    // ListRoles leaves tags out: one ListRoleTags per role.
                    let tags = aws_call!(
                        cx,
                        "iam",
                        "ListRoleTags",
                        cx.iam().list_role_tags().role_name(name)
                    )?;
                    let mut f = Found::new(self.name(), &cx.region, name, r.arn())
                        .tags_from(
                            tags.tags()
                                .iter()
                                .map(|t| (t.key().to_string(), t.value().to_string())),
                        )
                        .prop("path", r.path());
                    f.name = Some(name.to_string());
                    f.created = secs(Some(r.create_date()));
                    out.push(f);
                }
                Ok((
                    out,
                    page.marker()
                        .filter(|_| page.is_truncated())
                        .map(str::to_string),
                ))
            })
            .await
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let role = item.id.as_str();
            let mut actions = Vec::new();
            let attached = aws_call!(
                cx,
                "iam",
                "ListAttachedRolePolicies",
                cx.iam().list_attached_role_policies().role_name(role)
            )?;
            for p in attached.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    aws_call!(
                        cx,
                        "iam",
                        "DetachRolePolicy",
                        cx.iam()
                            .detach_role_policy()
                            .role_name(role)
                            .policy_arn(arn)
                    )?;
                    actions.push(format!("detached {arn}"));
                }
            }
            let inline = aws_call!(
                cx,
                "iam",
                "ListRolePolicies",
                cx.iam().list_role_policies().role_name(role)
            )?;
            for p in inline.policy_names() {
                aws_call!(
                    cx,
                    "iam",
                    "DeleteRolePolicy",
                    cx.iam().delete_role_policy().role_name(role).policy_name(p)
                )?;
                actions.push(format!("deleted inline policy {p}"));
            }
            let profiles = aws_call!(
                cx,
                "iam",
                "ListInstanceProfilesForRole",
                cx.iam().list_instance_profiles_for_role().role_name(role)
            )?;
            for p in profiles.instance_profiles() {
                let name = p.instance_profile_name();
                aws_call!(
                    cx,
                    "iam",
                    "RemoveRoleFromInstanceProfile",
                    cx.iam()
                        .remove_role_from_instance_profile()
                        .instance_profile_name(name)
                        .role_name(role)
                )?;
                match aws_call!(
                    cx,
                    "iam",
                    "DeleteInstanceProfile",
                    cx.iam()
                        .delete_instance_profile()
                        .instance_profile_name(name)
                ) {
                    Ok(_) => actions.push(format!("deleted instance profile {name}")),
                    // Another role still in it, or in use by an instance: the profile stays.
                    Err(e) if e.code() == Some("DeleteConflict") => {
                        actions.push(format!("removed from instance profile {name} (kept: {e})"))
                    }
                    Err(e) => return Err(e),
                }
            }
            let out = aws_call!(
                cx,
                "iam",
                "DeleteRole",
                cx.iam().delete_role().role_name(role)
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
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(bad_tag)?;
            aws_call!(
                cx,
                "iam",
                "TagRole",
                cx.iam().tag_role().role_name(&f.id).tags(tag.clone())
            )
        })
    }
}
