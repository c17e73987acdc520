//! ECR repository, deleted with `force`: its images go with it (their number is a property, so
//! an image pushed after the review makes the repository "changed"). `empty`: no images. Lists
//! its tags itself (ListTagsForResource, one call each) and tags with TagResource.

use super::{
    bad_tag, paginate, request_id, secs, tag_each, unless_gone, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Repository;

impl ResourceType for Repository {
    fn name(&self) -> &'static str {
        "ecr:repository"
    }
    fn service(&self) -> &'static str {
        "ecr"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ecr", "repository/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            let repos = paginate(|token| async move {
                let page = aws_call!(
                    cx,
                    "ecr",
                    "DescribeRepositories",
                    cx.ecr()
                        .describe_repositories()
                        .set_next_token(token.clone())
                )?;
                Ok((
                    page.repositories().to_vec(),
                    page.next_token().map(str::to_string),
                ))
            })
            .await?;
            let mut out = Vec::new();
            for r in repos {
                let Some(name) = r.repository_name() else {
                    continue;
                };
                let arn = r
                    .repository_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("ecr", &format!("repository/{name}")));
                let mut images = 0usize;
                let mut token: Option<String> = None;
                loop {
                    let page = aws_call!(
                        cx,
                        "ecr",
                        "ListImages",
                        cx.ecr()
                            .list_images()
                            .repository_name(name)
                            .set_next_token(token.clone())
                    );
                    let page = match page {
                        Ok(p) => p,
                        Err(e) if e.is_not_found() => break,
                        Err(e) => return Err(e),
                    };
                    images += page.image_ids().len();
                    token = page.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
                let Some(tags) = unless_gone(aws_call!(
                    cx,
                    "ecr",
                    "ListTagsForResource",
                    cx.ecr().list_tags_for_resource().resource_arn(&arn)
                ))?
                else {
                    continue;
                };
                let mut f = Found::new(self.name(), &cx.region, name, &arn)
                    .tags_from(
                        tags.tags()
                            .iter()
                            .map(|t| (t.key().to_string(), t.value().to_string())),
                    )
                    .prop("images", images)
                    .prop("uri", r.repository_uri().unwrap_or(""))
                    .flag("empty", images == 0);
                if f.name.is_none() {
                    f.name = Some(name.to_string());
                }
                f.created = secs(r.created_at());
                out.push(f);
            }
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "ecr",
                "DeleteRepository",
                cx.ecr()
                    .delete_repository()
                    .repository_name(&item.id)
                    .force(true)
            )?;
            let images = item.properties.get("images").map(String::as_str);
            let actions = match images {
                Some("0") | None => vec![],
                Some(n) => vec![format!("deleted with its {n} images (force)")],
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
        tag_each(items, move |f| async move {
            let tag = aws_sdk_ecr::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(bad_tag)?;
            aws_call!(
                cx,
                "ecr",
                "TagResource",
                cx.ecr()
                    .tag_resource()
                    .resource_arn(&f.arn)
                    .tags(tag.clone())
            )
        })
    }
}
