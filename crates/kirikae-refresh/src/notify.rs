//! `[notify]`: after every `refresh run` and `refresh resume`, success or failure, a JSON summary
//! of the run is posted to a webhook, with a `text` field a Slack incoming webhook shows as it
//! is. The summary is read from the run's journal (the one record of what a run did) plus the
//! error the run ended with; a notification that cannot be delivered is a warning, never the
//! run's failure.
//!
//! The webhook URL is a secret (whoever has it can post to the channel): it is read from the
//! environment variable or file the config names, and no message of this module contains it:
//! they say "the webhook (from $KIRIKAE_NOTIFY_URL)", and the HTTP client's error texts are
//! scrubbed of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kirikae_config::{Config, NotifySettings};
use serde::Serialize;

use crate::journal::{Journal, RunState};
use crate::run::RunOutcome;
use crate::{RefreshError, Reporter};

/// One notification to send when the run ends: what the config says and which run it is.
pub struct Notify {
    settings: NotifySettings,
    name: String,
    /// `resume`: the run; `run`: found at the end, the journal no run had before it began.
    run_id: Option<String>,
    runs_before: Vec<String>,
    state_dir: PathBuf,
    started: Instant,
}

/// Where the webhook URL comes from, as messages name it (never the URL itself).
#[derive(Debug, Clone)]
pub enum UrlSource {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for UrlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlSource::Env(var) => write!(f, "from ${var}"),
            UrlSource::File(path) => write!(f, "from the file {}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the webhook URL ({from}) is not set: nothing was posted")]
    UrlMissing { from: UrlSource },
    #[error("the webhook URL ({from}) cannot be read: {error}")]
    UrlUnreadable {
        from: UrlSource,
        #[source]
        error: std::io::Error,
    },
    #[error("the webhook ({from}) is not an http:// or https:// URL: nothing was posted")]
    BadUrl { from: UrlSource },
    #[error("the TLS set-up for the webhook failed: {0}")]
    Tls(#[source] rustls::Error),
    #[error("the webhook ({from}) did not take the summary in {attempts} attempt(s): {last}")]
    Undelivered {
        from: UrlSource,
        attempts: u32,
        /// The last attempt's failure, scrubbed of the URL.
        last: String,
    },
}

/// The JSON posted to the webhook.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    /// `None` when the run failed before it had a journal (credentials, a busy refresh, ...).
    pub run_id: Option<String>,
    /// `succeeded` or `failed`.
    pub outcome: &'static str,
    /// Wall time of this `run` or `resume`, in seconds.
    pub duration_seconds: f64,
    /// `clone` or `snapshot`, once decided.
    pub copy_path: Option<String>,
    pub steps: Vec<StepSummary>,
    pub failure: Option<FailureSummary>,
    /// The same, for people (a Slack incoming webhook shows this field).
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    pub name: &'static str,
    /// `done` or `failed`.
    pub outcome: &'static str,
    /// Wall time of the step (of the attempt that finished it).
    pub seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureSummary {
    /// The step that failed, when the run got as far as a step.
    pub step: Option<&'static str>,
    pub error: String,
    /// What to do next.
    pub fix: String,
    /// Whether what the run created was removed (else `refresh resume` continues it).
    pub cleaned_up: bool,
}

impl Notify {
    /// The notification of a new run of `name`, or `None` without `[notify]`.
    pub fn for_run(config: &Config, state_dir: &Path, name: &str) -> Option<Notify> {
        let settings = config.notify.clone()?;
        Some(Notify {
            settings,
            name: name.to_string(),
            run_id: None,
            runs_before: Journal::all(state_dir)
                .iter()
                .map(Journal::run_id)
                .collect(),
            state_dir: state_dir.to_path_buf(),
            started: Instant::now(),
        })
    }

    /// The notification of `refresh resume <run_id>`, or `None` without `[notify]`.
    pub fn for_resume(config: &Config, state_dir: &Path, run_id: &str) -> Option<Notify> {
        let settings = config.notify.clone()?;
        let name = Journal::find(state_dir, run_id)
            .and_then(|j| j.replay().ok())
            .map(|st| st.name)
            .unwrap_or_default();
        Some(Notify {
            settings,
            name,
            run_id: Some(run_id.to_string()),
            runs_before: Vec::new(),
            state_dir: state_dir.to_path_buf(),
            started: Instant::now(),
        })
    }

    /// Posts the summary of the run that ended with `result`; says on `reporter` whether it was
    /// delivered. Never fails: a lost notification must not turn a good run into a failed one.
    pub async fn end(self, result: &Result<RunOutcome, RefreshError>, reporter: &dyn Reporter) {
        let summary = self.summary(result);
        let from = url_source(&self.settings);
        match post(&self.settings, &summary).await {
            Ok(attempts) => reporter.line(&format!(
                "notify: summary posted to the webhook ({from}){}",
                if attempts > 1 {
                    format!(" after {attempts} attempts")
                } else {
                    String::new()
                }
            )),
            Err(e) => reporter.line(&format!("warning: notify: {e}")),
        }
    }

    /// The run's journal, when it has one.
    fn state(&self) -> Option<RunState> {
        let journal = match &self.run_id {
            Some(id) => Journal::find(&self.state_dir, id)?,
            None => Journal::all(&self.state_dir).into_iter().rev().find(|j| {
                !self.runs_before.contains(&j.run_id())
                    && j.replay().is_ok_and(|st| st.name == self.name)
            })?,
        };
        journal.replay().ok()
    }

    pub fn summary(&self, result: &Result<RunOutcome, RefreshError>) -> Summary {
        let st = self.state();
        let name = st
            .as_ref()
            .map(|s| s.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.name.clone());
        let run_id = st
            .as_ref()
            .map(|s| s.run_id.clone())
            .or_else(|| self.run_id.clone());
        let mut steps: Vec<StepSummary> = st
            .iter()
            .flat_map(|s| &s.done)
            .map(|(step, secs)| StepSummary {
                name: step.name(),
                outcome: "done",
                seconds: Some(*secs),
            })
            .collect();
        let failure = result.as_ref().err().map(|e| {
            let step = st.as_ref().and_then(|s| s.current).map(|s| s.name());
            if let Some(step) = step {
                steps.push(StepSummary {
                    name: step,
                    outcome: "failed",
                    seconds: None,
                });
            }
            FailureSummary {
                step,
                error: e.to_string(),
                fix: fix_of(e, &name, st.as_ref()),
                cleaned_up: st.as_ref().is_some_and(|s| s.cleaned_up),
            }
        });
        let copy_path = st.as_ref().and_then(|s| s.copy_path.clone()).or_else(|| {
            result
                .as_ref()
                .ok()
                .map(|o| o.copy_path.clone())
                .filter(|p| !p.is_empty())
        });
        let mut summary = Summary {
            name,
            run_id,
            outcome: if result.is_ok() {
                "succeeded"
            } else {
                "failed"
            },
            duration_seconds: self.started.elapsed().as_secs_f64(),
            copy_path,
            steps,
            failure,
            text: String::new(),
        };
        summary.text = text_of(&summary);
        summary
    }
}

/// What to do after the failure `e`: the error's own remedy where it has one, else where the
/// journal left the run (resumable, cleaned up, or never started).
fn fix_of(e: &RefreshError, name: &str, st: Option<&RunState>) -> String {
    let rerun = format!("`kirikae refresh run {name}`");
    let next = match st {
        Some(s) if !s.cleaned_up && !s.finished => {
            format!("then `kirikae refresh resume {}`", s.run_id)
        }
        Some(_) => format!("then start a new run: {rerun}"),
        None => format!("nothing was created; then run {rerun} again"),
    };
    match e {
        RefreshError::Preflight(checks) => {
            let fixes: Vec<String> = checks
                .iter()
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.name,
                        c.fix.as_deref().unwrap_or("see the error")
                    )
                })
                .collect();
            format!("{}; {next}", fixes.join("; "))
        }
        RefreshError::Timeout { budget_key, .. } => {
            format!("raise refresh.{name}.budget.{budget_key} in the config, {next}")
        }
        RefreshError::Credentials(_) => {
            format!("fix the credentials the error names (docs/config.md), {next}")
        }
        RefreshError::NeedsConfirm(_) => {
            format!("pass --confirm with the target account's alias, {next}")
        }
        RefreshError::Busy { .. } | RefreshError::BusyElsewhere { .. } => {
            "another run of this refresh is in progress: wait for it to end".to_string()
        }
        RefreshError::MaskRules { rules, .. } => format!(
            "add a rule to {} for each problem the error names (its suggestion, reviewed), {next}",
            rules.display()
        ),
        RefreshError::Verify { report, .. } => format!(
            "add masking rules for what the verify report {} names, {next}",
            report.display()
        ),
        _ => format!("fix the cause the error names, {next}"),
    }
}

fn text_of(s: &Summary) -> String {
    let run = match (&s.run_id, &s.copy_path) {
        (Some(id), Some(path)) => format!(" (run {id}, copy path {path})"),
        (Some(id), None) => format!(" (run {id})"),
        _ => String::new(),
    };
    let done: Vec<String> = s
        .steps
        .iter()
        .filter(|st| st.outcome == "done")
        .map(|st| format!("{} {:.1} s", st.name, st.seconds.unwrap_or(0.0)))
        .collect();
    let mut text = match &s.failure {
        None => format!(
            "kirikae refresh {} succeeded in {}{run}",
            s.name,
            human(s.duration_seconds)
        ),
        Some(f) => format!(
            "kirikae refresh {} FAILED{} after {}{run}\nerror: {}\nfix: {}",
            s.name,
            f.step.map(|st| format!(" in {st}")).unwrap_or_default(),
            human(s.duration_seconds),
            f.error,
            f.fix
        ),
    };
    if !done.is_empty() {
        text.push_str(&format!("\nsteps done: {}", done.join(", ")));
    }
    text
}

fn human(secs: f64) -> String {
    if secs >= 90.0 {
        format!("{} min {} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!("{secs:.1} s")
    }
}

fn url_source(settings: &NotifySettings) -> UrlSource {
    match (&settings.url_env, &settings.url_file) {
        (Some(var), _) => UrlSource::Env(var.clone()),
        (None, Some(file)) => UrlSource::File(file.clone()),
        // The config refuses [notify] without either.
        (None, None) => UrlSource::Env("KIRIKAE_NOTIFY_URL".into()),
    }
}

/// The webhook URL, read when it is needed (a rotated secret file is read fresh each run).
fn read_url(from: &UrlSource) -> Result<String, NotifyError> {
    let raw = match from {
        UrlSource::Env(var) => std::env::var(var).unwrap_or_default(),
        UrlSource::File(path) => {
            std::fs::read_to_string(path).map_err(|error| NotifyError::UrlUnreadable {
                from: from.clone(),
                error,
            })?
        }
    };
    let url = raw.trim().to_string();
    if url.is_empty() {
        return Err(NotifyError::UrlMissing { from: from.clone() });
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(NotifyError::BadUrl { from: from.clone() });
    }
    Ok(url)
}

/// Posts `summary`, retrying server errors, timeouts and connection failures with doubling
/// waits; a 4xx answer is final (the same request would be refused again). Returns the number
/// of attempts made.
pub async fn post(settings: &NotifySettings, summary: &Summary) -> Result<u32, NotifyError> {
    let from = url_source(settings);
    let url = read_url(&from)?;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| NotifyError::BadUrl { from: from.clone() })?;
    let body = serde_json::to_string(summary).expect("a summary serializes");
    let client = client()?;
    let attempts = settings.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=attempts {
        let request = hyper::Request::post(uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("kirikae/", env!("CARGO_PKG_VERSION")))
            .body(body.clone())
            .map_err(|_| NotifyError::BadUrl { from: from.clone() })?;
        let timeout = Duration::from_secs(settings.timeout_seconds);
        let retry = match tokio::time::timeout(timeout, client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => return Ok(attempt),
            Ok(Ok(response)) => {
                let status = response.status();
                last = format!("the last answer was HTTP {status}");
                status.is_server_error() || status == hyper::StatusCode::TOO_MANY_REQUESTS
            }
            Ok(Err(e)) => {
                last = scrub(&format!("the last attempt failed: {}", chain(&e)), &url);
                true
            }
            Err(_) => {
                last = format!("the last attempt timed out after {} s", timeout.as_secs());
                true
            }
        };
        if !retry || attempt == attempts {
            return Err(NotifyError::Undelivered {
                from,
                attempts: attempt,
                last,
            });
        }
        let wait = settings
            .backoff_seconds
            .saturating_mul(1u64 << (attempt - 1).min(16));
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    Err(NotifyError::Undelivered {
        from,
        attempts,
        last,
    })
}

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    String,
>;

/// https with the Mozilla roots (webpki-roots: no dependence on the runner's CA store, which a
/// slim CI image may lack) on the aws-lc-rs provider the AWS SDK already uses; plain http too,
/// for a webhook relay on the same host.
fn client() -> Result<HttpsClient, NotifyError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(NotifyError::Tls)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// `text` without the URL or its secret parts (an HTTP client's error may quote the URL, its
/// path or its query, where a webhook keeps its token).
fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, "<the webhook>");
    if let Some((_, rest)) = url.split_once("://") {
        if let Some(i) = rest.find(['/', '?']) {
            let secret = &rest[i..];
            if secret.len() > 1 {
                out = out.replace(secret, "/<secret>");
            }
        }
        out = out.replace(rest, "<the webhook>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[notify]` reading the URL from a file holding `url`.
    fn settings(dir: &Path, url: &str) -> NotifySettings {
        std::fs::write(dir.join("webhook-url"), url).unwrap();
        let text = "[aws]\nregion = \"ap-northeast-1\"\n[notify]\nurl_file = \"webhook-url\"\n\
                    attempts = 2\nbackoff_seconds = 0\ntimeout_seconds = 5\n";
        Config::from_str(text, &dir.join("kirikae.toml"))
            .unwrap()
            .notify
            .unwrap()
    }

    fn summary() -> Summary {
        Summary {
            name: "staging".into(),
            run_id: None,
            outcome: "failed",
            duration_seconds: 1.0,
            copy_path: None,
            steps: vec![],
            failure: None,
            text: "t".into(),
        }
    }

    #[tokio::test]
    async fn an_https_webhook_goes_through_tls_and_its_failure_never_names_the_url() {
        // A listener that answers in plain HTTP where TLS is expected: the handshake fails.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let url = format!("https://127.0.0.1:{port}/services/T0/B0/tls-secret-path");
        let e = post(&settings(dir.path(), &url), &summary())
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, NotifyError::Undelivered { attempts: 2, .. }),
            "{msg}"
        );
        assert!(msg.contains("from the file"), "{msg}");
        assert!(msg.contains("corrupt message"), "TLS was spoken: {msg}");
        assert!(
            !msg.contains("tls-secret-path") && !msg.contains(&url),
            "{msg}"
        );

        // Nothing listens: a connection failure, retried, and scrubbed the same way.
        let closed = format!(
            "http://127.0.0.1:{}/hook/closed-secret-path",
            port_closed().await
        );
        let msg = post(&settings(dir.path(), &closed), &summary())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("did not take the summary in 2 attempt(s)"),
            "{msg}"
        );
        assert!(!msg.contains("closed-secret-path"), "{msg}");
    }

    /// A loopback port nothing listens on.
    async fn port_closed() -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_url_that_is_not_http_is_refused_without_being_shown() {
        let dir = tempfile::tempdir().unwrap();
        let e = post(
            &settings(dir.path(), "hooks.slack.com/services/x-secret"),
            &summary(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, NotifyError::BadUrl { .. }), "{e}");
        assert!(!e.to_string().contains("x-secret"), "{e}");
    }

    #[test]
    fn a_failure_on_the_rules_names_each_problem_with_its_suggested_rule_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("webhook-url"), "https://127.0.0.1:9/x").unwrap();
        let config = Config::from_str(
            "[aws]\nregion = \"ap-northeast-1\"\n[notify]\nurl_file = \"webhook-url\"\n",
            &dir.path().join("kirikae.toml"),
        )
        .unwrap();
        let n = Notify::for_run(&config, dir.path(), "staging").unwrap();
        let problem = kirikae_mask::check::Problem {
            id: "column_without_rule",
            table: "employees".into(),
            column: Some("private_email".into()),
            line: None,
            message: "column has no rule".into(),
        };
        let e = RefreshError::MaskRules {
            rules: "masking/shop.toml".into(),
            problems: vec![kirikae_mask::init::Suggestion {
                problem,
                sql_type: Some("varchar(255)".into()),
                rule: Some("{ transform = \"email\" }".into()),
                why: Some("email (from the name: private, email)".into()),
            }],
        };
        let s = n.summary(&Err(e));
        let f = s.failure.as_ref().unwrap();
        let named = "employees.private_email (varchar(255)): column has no rule \
                     [column_without_rule]; init suggests `private_email = { transform = \"email\" }` \
                     (email (from the name: private, email))";
        assert!(f.error.contains(named), "{}", f.error);
        assert!(s.text.contains(named), "{}", s.text);
        assert!(
            f.fix.contains("add a rule to masking/shop.toml"),
            "{}",
            f.fix
        );
    }

    #[test]
    fn scrub_removes_the_url_and_its_path() {
        let url = "https://hooks.slack.com/services/T000/B000/XXXXsecret";
        let text = format!("error sending request for url ({url}): connect to hooks.slack.com/services/T000/B000/XXXXsecret failed; path /services/T000/B000/XXXXsecret");
        let out = scrub(&text, url);
        assert!(!out.contains("XXXXsecret"), "{out}");
        assert!(out.contains("<the webhook>"), "{out}");
    }
}
