//! The blob store on S3, through the AWS SDK. Keys are checked by the same rule as on disk, so a
//! key that works locally works on AWS and the other way round.

use crate::blob_key::validate_key;
use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use herald_ports::{BlobError, BlobReader, BlobStore};
use std::ops::Range;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3BlobStore {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket (for tests and local set-up; on AWS the template creates it).
    /// A bucket that already exists and is ours is fine.
    pub async fn create_bucket(&self) -> Result<(), BlobError> {
        let mut req = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the one region that refuses an explicit location constraint.
        if let Some(region) = self.client.config().region().map(|r| r.as_ref().to_owned())
            && region != "us-east-1"
        {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(region.as_str().into())
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(&self.bucket, e)),
        }
    }

    async fn get_object(
        &self,
        key: &str,
        range: Option<String>,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BlobError> {
        validate_key(key)?;
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await
            .map_err(|e| {
                if is_404(&e) || e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    BlobError::NotFound(key.to_owned())
                } else {
                    unavailable(key, e)
                }
            })
    }

    fn presigning(valid_for: Duration) -> Result<PresigningConfig, BlobError> {
        // S3 allows at most a week; asking for more is the caller's mistake, not an outage.
        PresigningConfig::expires_in(valid_for)
            .map_err(|e| BlobError::Unavailable(format!("cannot presign for {valid_for:?}: {e}")))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| unavailable(key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let out = self.get_object(key, None).await?;
        collect(key, out.body).await
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, BlobError> {
        if range.start >= range.end {
            return Ok(Vec::new());
        }
        // HTTP ranges are inclusive; S3 cuts one that runs past the end, and answers 416 for
        // one that starts there.
        let header = format!("bytes={}-{}", range.start, range.end - 1);
        match self.get_object(key, Some(header)).await {
            Ok(out) => collect(key, out.body).await,
            Err(BlobError::Unavailable(m)) if m.contains("InvalidRange") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        let out = self.get_object(key, None).await?;
        Ok(Box::pin(out.body.into_async_read()))
    }

    async fn size(&self, key: &str) -> Result<u64, BlobError> {
        validate_key(key)?;
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if is_404(&e) || e.as_service_error().is_some_and(|s| s.is_not_found()) {
                    BlobError::NotFound(key.to_owned())
                } else {
                    unavailable(key, e)
                }
            })?;
        out.content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| BlobError::Unavailable(format!("{key}: S3 gave no size")))
    }

    /// Deleting a missing blob succeeds (S3 does not say whether there was one).
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable(key, e))?;
        Ok(())
    }

    async fn presign_get(&self, key: &str, valid_for: Duration) -> Result<String, BlobError> {
        validate_key(key)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(valid_for)?)
            .await
            .map_err(|e| unavailable(key, e))?;
        Ok(req.uri().to_owned())
    }

    /// The content type and length are signed: the client must send exactly this
    /// `Content-Type` and `Content-Length`, so S3 itself refuses a body of another size.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        bytes: u64,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        validate_key(key)?;
        let length = i64::try_from(bytes)
            .map_err(|_| BlobError::Unavailable(format!("{key}: {bytes} bytes is too long")))?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(Self::presigning(valid_for)?)
            .await
            .map_err(|e| unavailable(key, e))?;
        Ok(req.uri().to_owned())
    }
}

/// HEAD answers have no body, so a missing object may come back as a bare 404 without a code.
fn is_404<E>(e: &SdkError<E, HttpResponse>) -> bool {
    e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

async fn collect(key: &str, body: ByteStream) -> Result<Vec<u8>, BlobError> {
    let body = body
        .collect()
        .await
        .map_err(|e| BlobError::Unavailable(format!("{key}: reading the body: {e}")))?;
    Ok(body.into_bytes().to_vec())
}

fn unavailable(key: &str, e: impl std::error::Error) -> BlobError {
    BlobError::Unavailable(format!("{key}: {}", DisplayErrorContext(e)))
}
