//! S3 bucket in the context's region. Emptied first (every object version and delete marker,
//! 1000 per DeleteObjects call), then deleted. Its tags come from the Tagging API (merged in by
//! the scan), as ListBuckets has none.

use super::{bad_tag, paginate, request_id, secs, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found, SweepError};

pub struct Bucket;

impl ResourceType for Bucket {
    fn name(&self) -> &'static str {
        "s3:bucket"
    }
    fn service(&self) -> &'static str {
        "s3"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("s3", "")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "s3",
                "ListBuckets",
                cx.s3()
                    .list_buckets()
                    .bucket_region(&cx.region)
                    .max_buckets(1000)
                    .set_continuation_token(token.clone())
            )?;
            let mut out = Vec::new();
            for b in page.buckets() {
                let Some(name) = b.name() else { continue };
                if b.bucket_region().is_some_and(|r| r != cx.region) {
                    continue;
                }
                let mut f = Found::new(
                    self.name(),
                    &cx.region,
                    name,
                    format!("arn:aws:s3:::{name}"),
                );
                f.name = Some(name.to_string());
                f.created = secs(b.creation_date());
                out.push(f);
            }
            Ok((out, page.continuation_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let emptied = empty_bucket(cx, &item.id).await?;
            let out = aws_call!(
                cx,
                "s3",
                "DeleteBucket",
                cx.s3().delete_bucket().bucket(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: if emptied > 0 {
                    vec![format!(
                        "emptied: {emptied} object versions and delete markers"
                    )]
                } else {
                    vec![]
                },
            })
        })
    }

    fn owns_arn(&self, arn: &str) -> bool {
        arn.starts_with("arn:aws:s3:::") && !arn["arn:aws:s3:::".len()..].contains('/')
    }

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        Some(Box::pin(async move {
            use aws_sdk_s3::types::{Tag, Tagging};
            for f in items {
                // PutBucketTagging replaces the whole set: keep the others.
                let mut tags: Vec<Tag> = match aws_call!(
                    cx,
                    "s3",
                    "GetBucketTagging",
                    cx.s3().get_bucket_tagging().bucket(&f.id)
                ) {
                    Ok(out) => out
                        .tag_set()
                        .iter()
                        .filter(|t| t.key() != key)
                        .cloned()
                        .collect(),
                    Err(e) if e.code() == Some("NoSuchTagSet") => Vec::new(),
                    Err(e) => return Err(e),
                };
                tags.push(
                    Tag::builder()
                        .key(key)
                        .value(value)
                        .build()
                        .map_err(bad_tag)?,
                );
                let tagging = Tagging::builder()
                    .set_tag_set(Some(tags))
                    .build()
                    .map_err(bad_tag)?;
                aws_call!(
                    cx,
                    "s3",
                    "PutBucketTagging",
                    cx.s3()
                        .put_bucket_tagging()
                        .bucket(&f.id)
                        .tagging(tagging.clone())
                )?;
            }
            Ok(())
        }))
    }
}

async fn empty_bucket(cx: &Cx, bucket: &str) -> Result<usize, SweepError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let mut removed = 0;
    loop {
        // Always from the start: what was listed is deleted before the next page is asked for.
        let page = aws_call!(
            cx,
            "s3",
            "ListObjectVersions",
            cx.s3().list_object_versions().bucket(bucket).max_keys(1000)
        )?;
        let mut ids = Vec::new();
        for v in page.versions() {
            if let Some(k) = v.key() {
                ids.push((k.to_string(), v.version_id().map(str::to_string)));
            }
        }
        for m in page.delete_markers() {
            if let Some(k) = m.key() {
                ids.push((k.to_string(), m.version_id().map(str::to_string)));
            }
        }
        if ids.is_empty() {
            return Ok(removed);
        }
        let objects: Vec<ObjectIdentifier> = ids
            .iter()
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k)
                    .set_version_id(v.clone())
                    .build()
                    .ok()
            })
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| SweepError::BadInput(format!("DeleteObjects: {e}")))?;
        let out = aws_call!(
            cx,
            "s3",
            "DeleteObjects",
            cx.s3()
                .delete_objects()
                .bucket(bucket)
                .delete(delete.clone())
        )?;
        if let Some(err) = out.errors().first() {
            return Err(SweepError::Aws {
                operation: "DeleteObjects",
                code: err.code().unwrap_or("Unknown").to_string(),
                message: format!(
                    "{} of {} objects not deleted, e.g. {}: {}",
                    out.errors().len(),
                    ids.len(),
                    err.key().unwrap_or(""),
                    err.message().unwrap_or("")
                ),
                request_id: request_id(&out),
            });
        }
        removed += ids.len();
    }
}
