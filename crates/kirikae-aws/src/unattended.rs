//! The jump credentials of a run without a person (`[jump] unattended = true`): the SDK's
//! default chain, in the SDK's order (environment, the shared profile with SSO, web identity,
//! container credentials, the instance profile), never a prompt.
//!
//! Why not `aws_config`'s `DefaultCredentialsChain` as it is: its web identity provider makes
//! its own STS client from a `ProviderConfig`, which has no endpoint, so with `[aws]
//! endpoint_url` (the emulator) its `AssumeRoleWithWebIdentity` would still go to AWS. Here web
//! identity goes through kirikae's own [`StsApi`] (the estate's endpoint, retries and timeouts),
//! and the other sources are aws-config's providers. With `endpoint_url` set, the sources that
//! would call AWS itself or a link-local address (the shared profile's SSO and role profiles,
//! ECS's relative URI at 169.254.170.2, the instance metadata service) are skipped, and the error
//! when nothing is found says so: no call leaves for anywhere but the configured endpoint or a
//! loopback container endpoint.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_async::time::SharedTimeSource;
use aws_types::region::Region;
use kirikae_config::Config;
use tokio::sync::Mutex;

use crate::credentials::still_fresh;
use crate::error::AwsError;
use crate::sts::{StsApi, WebIdentityRequest};

/// The role session name of the web identity session when `AWS_ROLE_SESSION_NAME` is not set.
pub const DEFAULT_WEB_IDENTITY_SESSION_NAME: &str = "kirikae-unattended";

/// Reads one environment variable for the sources kirikae reads itself (environment, web
/// identity, the container guard); tests pass a map. aws-config's providers (profile, container,
/// instance profile) read the process's environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process's environment, empty values counting as unset (as the SDK does).
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// One place the chain looks, with the provider that looks there or why it is skipped.
struct Source {
    name: &'static str,
    look: Look,
}

enum Look {
    /// aws-config's provider (it reads the process's environment itself).
    Provider(SharedCredentialsProvider),
    Environment(EnvLookup),
    /// Not configured here (its variables are unset): the chain goes on.
    Absent(String),
    WebIdentity(WebIdentity),
    Skipped(String),
}

/// What one source said when it gave nothing, for the "nothing found" error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    pub source: &'static str,
    pub said: String,
}

impl fmt::Display for Looked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.said)
    }
}

/// The unattended jump credentials: the first source that has credentials wins; one that is
/// configured but fails stops the chain (as in the SDK), so a broken token file is not hidden
/// behind "nothing found".
pub struct UnattendedChain {
    sources: Vec<Source>,
    clock: SharedTimeSource,
    cached: Mutex<Option<(Credentials, &'static str)>>,
}

impl fmt::Debug for UnattendedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|s| s.name).collect();
        f.debug_struct("UnattendedChain")
            .field("sources", &names)
            .finish_non_exhaustive()
    }
}

impl UnattendedChain {
    /// The chain for `config`, reading the environment through `env`.
    pub fn new(
        config: &Config,
        sts: Arc<dyn StsApi>,
        clock: SharedTimeSource,
        env: EnvLookup,
    ) -> UnattendedChain {
        let emulated = config.aws.endpoint_url.is_some();
        let provider_config = ProviderConfig::without_region()
            .with_region(Some(Region::new(config.aws.region.clone())))
            .with_time_source(clock.clone());
        let shared = |p: SharedCredentialsProvider| Look::Provider(p);
        let off = |why: &str| Look::Skipped(format!("skipped: {why}"));
        let mut sources = vec![Source {
            name: "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
            look: Look::Environment(env.clone()),
        }];
        sources.push(Source {
            name: "the shared profile (AWS_PROFILE, SSO)",
            look: if emulated {
                off("[aws] endpoint_url is set, and a profile's SSO or role would call AWS itself")
            } else {
                shared(SharedCredentialsProvider::new(
                    ProfileFileCredentialsProvider::builder()
                        .configure(&provider_config)
                        .build(),
                ))
            },
        });
        sources.push(Source {
            name: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)",
            look: Look::WebIdentity(WebIdentity {
                env: env.clone(),
                sts,
                duration: Duration::from_secs(
                    u64::from(config.jump.web_identity_session_hours) * 3600,
                ),
            }),
        });
        sources.push(Source {
            name: "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI)",
            look: match container_refusal(emulated, &env) {
                Some(why) => off(&why),
                None if env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none()
                    && env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_none() =>
                {
                    Look::Absent("neither variable is set".into())
                }
                None => shared(SharedCredentialsProvider::new(
                    EcsCredentialsProvider::builder()
                        .configure(&provider_config)
                        .build(),
                )),
            },
        });
        sources.push(Source {
            name: "the instance profile (EC2 instance metadata)",
            look: if emulated {
                off("[aws] endpoint_url is set, and the instance metadata service at 169.254.169.254 is not that endpoint")
            } else {
                shared(SharedCredentialsProvider::new(
                    ImdsCredentialsProvider::builder()
                        .configure(&provider_config)
                        .build(),
                ))
            },
        });
        UnattendedChain {
            sources,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// The first credentials found, kept until shortly before they expire (a web identity
    /// session is not asked for again for every account).
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some((c, _)) = cached
            .as_ref()
            .filter(|(c, _)| still_fresh(c, self.clock.now()))
        {
            return Ok(c.clone());
        }
        let mut looked = Vec::new();
        for source in &self.sources {
            let found = match &source.look {
                Look::Skipped(why) | Look::Absent(why) => {
                    looked.push(Looked {
                        source: source.name,
                        said: why.clone(),
                    });
                    continue;
                }
                Look::Environment(env) => from_environment(env),
                Look::WebIdentity(w) => w.credentials().await,
                Look::Provider(p) => p.provide_credentials().await.map_err(|e| match e {
                    CredentialsError::CredentialsNotLoaded(_) => {
                        SourceError::NotThere(describe(&e))
                    }
                    other => SourceError::Failed(describe(&other)),
                }),
            };
            match found {
                Ok(c) => {
                    *cached = Some((c.clone(), source.name));
                    return Ok(c);
                }
                Err(SourceError::NotThere(said)) => looked.push(Looked {
                    source: source.name,
                    said,
                }),
                Err(SourceError::Failed(why)) => {
                    return Err(AwsError::UnattendedSource {
                        source_name: source.name,
                        why,
                    })
                }
                Err(SourceError::Aws(e)) => return Err(e),
            }
        }
        Err(AwsError::NoUnattendedCredentials { looked })
    }

    /// Which source gave the credentials in use, once some were found.
    pub async fn source_in_use(&self) -> Option<&'static str> {
        self.cached.lock().await.as_ref().map(|(_, s)| *s)
    }
}

impl ProvideCredentials for UnattendedChain {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}

/// With `[aws] endpoint_url` set, container credentials are read only from a loopback
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`: the relative URI means 169.254.170.2.
fn container_refusal(emulated: bool, env: &EnvLookup) -> Option<String> {
    if !emulated {
        return None;
    }
    if env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some() {
        return Some(
            "[aws] endpoint_url is set, and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI means \
             169.254.170.2; use a loopback AWS_CONTAINER_CREDENTIALS_FULL_URI"
                .into(),
        );
    }
    match env("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        Some(uri) if !is_loopback_url(&uri) => Some(
            "[aws] endpoint_url is set, and AWS_CONTAINER_CREDENTIALS_FULL_URI is not a loopback \
             address (127.0.0.1, ::1, localhost)"
                .into(),
        ),
        _ => None,
    }
}

/// `http://127.0.0.1:8080/creds` -> true; any host but a loopback one -> false.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The standard variables, as the SDK reads them (AWS_SESSION_TOKEN for temporary keys).
fn from_environment(env: &EnvLookup) -> Result<Credentials, SourceError> {
    let Some(key) = env("AWS_ACCESS_KEY_ID") else {
        return Err(SourceError::NotThere("AWS_ACCESS_KEY_ID is not set".into()));
    };
    let Some(secret) = env("AWS_SECRET_ACCESS_KEY") else {
        return Err(SourceError::Failed(
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
        ));
    };
    Ok(Credentials::new(
        key,
        secret,
        env("AWS_SESSION_TOKEN"),
        None,
        "environment",
    ))
}

enum SourceError {
    /// The source is not configured here: the chain goes on.
    NotThere(String),
    /// The source is configured and failed: the chain stops.
    Failed(String),
    Aws(AwsError),
}

fn describe(e: &CredentialsError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let more = inner.to_string();
        if !s.contains(&more) {
            s.push_str(": ");
            s.push_str(&more);
        }
        src = inner.source();
    }
    s
}

/// `AssumeRoleWithWebIdentity` with the token in `AWS_WEB_IDENTITY_TOKEN_FILE` as the role
/// `AWS_ROLE_ARN` (the variables EKS, GitHub Actions recipes and the SDKs use). The file is read
/// again for every new session: the platform rotates it.
struct WebIdentity {
    env: EnvLookup,
    sts: Arc<dyn StsApi>,
    /// `[jump] web_identity_session_hours`.
    duration: Duration,
}

impl WebIdentity {
    async fn credentials(&self) -> Result<Credentials, SourceError> {
        let Some(token_file) = (self.env)("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            return Err(SourceError::NotThere(
                "AWS_WEB_IDENTITY_TOKEN_FILE is not set".into(),
            ));
        };
        let failed = |why: String| SourceError::Failed(why);
        let Some(role_arn) = (self.env)("AWS_ROLE_ARN") else {
            return Err(failed(
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set it to the ARN of \
                 the runner's role"
                    .into(),
            ));
        };
        let token_file = PathBuf::from(token_file);
        let token = std::fs::read_to_string(&token_file).map_err(|e| {
            failed(format!(
                "cannot read the token file {} (AWS_WEB_IDENTITY_TOKEN_FILE): {e}",
                token_file.display()
            ))
        })?;
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(failed(format!(
                "the token file {} (AWS_WEB_IDENTITY_TOKEN_FILE) is empty",
                token_file.display()
            )));
        }
        let session_name = (self.env)("AWS_ROLE_SESSION_NAME")
            .unwrap_or_else(|| DEFAULT_WEB_IDENTITY_SESSION_NAME.to_string());
        self.sts
            .assume_role_with_web_identity(WebIdentityRequest {
                role_arn,
                session_name,
                token,
                duration: self.duration,
            })
            .await
            .map_err(SourceError::Aws)
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn only_loopback_container_urls_count_as_loopback() {
        for url in [
            "http://127.0.0.1:8080/creds",
            "http://localhost/x",
            "http://[::1]:9/x",
            "http://127.0.0.2",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://169.254.170.2/v2/credentials",
            "https://example.com/x",
            "http://127.0.0.1.example.com/",
            "http://user@10.0.0.1/",
            "127.0.0.1:80",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
