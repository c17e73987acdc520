//! SQS queue. ListQueues gives URLs; GetQueueAttributes (one call each) gives the ARN, creation
//! time and message count. `empty`: no messages.

use super::{
    paginate, request_id, tag_each, unless_gone, DeleteOptions, Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct Queue;

impl ResourceType for Queue {
    fn name(&self) -> &'static str {
        "sqs:queue"
    }
    fn service(&self) -> &'static str {
        "sqs"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("sqs", "")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            use aws_sdk_sqs::types::QueueAttributeName as A;
            let urls = paginate(|token| async move {
                let page = aws_call!(
                    cx,
                    "sqs",
                    "ListQueues",
                    cx.sqs()
                        .list_queues()
                        .max_results(1000)
                        .set_next_token(token.clone())
                )?;
                Ok((
                    page.queue_urls().to_vec(),
                    page.next_token().map(str::to_string),
                ))
            })
            .await?;
            let mut out = Vec::new();
            for url in urls {
                let attrs = aws_call!(
                    cx,
                    "sqs",
                    "GetQueueAttributes",
                    cx.sqs()
                        .get_queue_attributes()
                        .queue_url(&url)
                        .attribute_names(A::QueueArn)
                        .attribute_names(A::CreatedTimestamp)
                        .attribute_names(A::ApproximateNumberOfMessages)
                );
                let Some(attrs) = unless_gone(attrs)? else {
                    continue;
                };
                let map = attrs.attributes();
                let get = |k: A| map.and_then(|m| m.get(&k)).cloned();
                let name = url.rsplit('/').next().unwrap_or(&url).to_string();
                let arn = get(A::QueueArn).unwrap_or_else(|| cx.arn("sqs", &name));
                let messages = get(A::ApproximateNumberOfMessages).unwrap_or_default();
                let mut f =
                    Found::new(self.name(), &cx.region, &url, arn).flag("empty", messages == "0");
                f.name = Some(name);
                f.created = get(A::CreatedTimestamp).and_then(|t| t.parse().ok());
                out.push(f);
            }
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "sqs",
                "DeleteQueue",
                cx.sqs().delete_queue().queue_url(&item.id)
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
        tag_each(items, move |f| async move {
            aws_call!(
                cx,
                "sqs",
                "TagQueue",
                cx.sqs().tag_queue().queue_url(&f.id).tags(key, value)
            )
        })
    }
}
