//! Every page of a listing, its items gathered: the one place a paginator's error becomes an
//! [`AuditError`] naming the operation.

use aws_smithy_async::future::pagination_stream::PaginationStream;

use crate::error::AuditError;

/// Reads every page of `pages` (a paginator's `send()`) and keeps what `items` takes from each;
/// a failed page is `operation`'s error (e.g. `"ec2:DescribeSubnets"`).
pub(crate) async fn all<Page, E, I>(
    operation: &'static str,
    mut pages: PaginationStream<Result<Page, E>>,
    mut items: impl FnMut(Page) -> I,
) -> Result<Vec<I::Item>, AuditError>
where
    E: std::error::Error + Send + Sync + 'static,
    I: IntoIterator,
{
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        out.extend(items(page.map_err(AuditError::aws(operation))?));
    }
    Ok(out)
}
