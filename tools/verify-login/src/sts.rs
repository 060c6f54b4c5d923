//! Sending a checked proof to STS: to the configured `sts_endpoint` or to the (already
//! allowlisted) host the proof names, with Host kept as signed. No redirects, a bounded
//! total time, a bounded answer size, and a few jittered retries for 5xx and throttling.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use common::config::Endpoint;
use common::{Error, Result};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::checks::Outgoing;

/// The largest STS answer read; a real one is under 1 KiB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
const MAX_TRIES: u32 = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What STS answered, read in full.
#[derive(Debug)]
pub struct Answer {
    pub content_type: Option<String>,
    pub body: Bytes,
}

type Body = Full<Bytes>;

pub struct Sts {
    endpoint: Option<Endpoint>,
    timeout: Duration,
    plain: Client<HttpConnector, Body>,
    /// Built on first use: loading the system's root certificates costs a few
    /// milliseconds that a verifier talking to a loopback emulator need not pay.
    tls: OnceLock<std::result::Result<Client<HttpsConnector<HttpConnector>, Body>, String>>,
}

fn connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    http.enforce_http(false);
    http
}

enum Attempt {
    Done(Answer),
    Retry(Error),
    Fail(Error),
}

impl Sts {
    pub fn new(endpoint: Option<Endpoint>, timeout: Duration) -> Sts {
        let plain = Client::builder(TokioExecutor::new()).build(connector());
        Sts {
            endpoint,
            timeout,
            plain,
            tls: OnceLock::new(),
        }
    }

    fn tls_client(&self) -> Result<&Client<HttpsConnector<HttpConnector>, Body>> {
        self.tls
            .get_or_init(|| {
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(provider)
                    .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
                    .https_only()
                    .enable_http1()
                    .wrap_connector(connector());
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| Error::unavailable(e.clone()))
    }

    /// Where a proof goes: the configured endpoint, or the host it was signed for
    /// (the port written in its URL, if any).
    pub fn destination(&self, out: &Outgoing) -> (String, String) {
        match &self.endpoint {
            Some(e) => (e.scheme.clone(), e.authority.to_string()),
            None => (out.scheme.clone(), out.connect.clone()),
        }
    }

    /// Sends the proof, retrying 5xx, throttling and connection failures up to
    /// three tries, all within the total timeout.
    pub async fn send(&self, out: &Outgoing) -> Result<Answer> {
        let (scheme, authority) = self.destination(out);
        let (scheme, authority) = (scheme.as_str(), authority.as_str());
        let run = async {
            let mut last = None;
            for attempt in 0..MAX_TRIES {
                if attempt > 0 {
                    // 100ms, 200ms, ... each scaled by a random 0.5-1.5.
                    let base = 100u64 << (attempt - 1);
                    let jittered = base / 2 + fastrand::u64(0..=base);
                    tokio::time::sleep(Duration::from_millis(jittered)).await;
                }
                match self.once(scheme, authority, out).await {
                    Attempt::Done(a) => return Ok(a),
                    Attempt::Fail(e) => return Err(e),
                    Attempt::Retry(e) => last = Some(e),
                }
            }
            Err(last
                .expect("at least one attempt")
                .context(format_args!("after {MAX_TRIES} tries")))
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(Error::temp_fail(format!(
                "no answer from STS at {authority} within {}s",
                self.timeout.as_secs_f32()
            ))
            .hint("STS or the network is slow; retry later, or raise [login] timeout")),
        }
    }

    async fn once(&self, scheme: &str, authority: &str, out: &Outgoing) -> Attempt {
        let uri = format!("{scheme}://{authority}{}", out.path_and_query);
        let mut builder = http::Request::builder()
            .method(out.method.clone())
            .uri(&uri)
            .header(http::header::HOST, &out.host_header);
        for (k, v) in &out.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = match builder.body(Full::new(Bytes::from(out.body.clone()))) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Fail(Error::denied(format!("proof cannot be sent as HTTP: {e}")));
            }
        };
        let sent = if scheme == "https" {
            match self.tls_client() {
                Ok(c) => c.request(request).await,
                Err(e) => return Attempt::Fail(e),
            }
        } else {
            self.plain.request(request).await
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(Error::unavailable(format!(
                    "cannot reach STS at {authority}: {}",
                    common::error::source_chain(&e)
                )));
            }
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let too_big = || {
            Error::denied(format!(
                "STS answer is larger than {} KiB",
                MAX_ANSWER_BYTES / 1024
            ))
        };
        if response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_ANSWER_BYTES)
        {
            return Attempt::Fail(too_big());
        }
        let body = match Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return Attempt::Fail(too_big()),
            Err(e) => {
                return Attempt::Retry(Error::unavailable(format!(
                    "STS answer from {authority} broke off: {e}"
                )));
            }
        };
        let code = crate::answer::error_code(&body);
        let throttled = status.as_u16() == 429
            || code
                .as_deref()
                .is_some_and(|c| c.contains("Throttl") || c == "RequestLimitExceeded");
        if status.is_success() && status.as_u16() == 200 {
            Attempt::Done(Answer { content_type, body })
        } else if throttled {
            Attempt::Retry(
                Error::temp_fail(format!("STS throttled the request ({status})"))
                    .hint("retry later"),
            )
        } else if status.is_server_error() {
            Attempt::Retry(
                Error::unavailable(format!("STS answered {status}"))
                    .hint("STS is failing; retry later"),
            )
        } else if status.is_redirection() {
            Attempt::Fail(Error::denied(format!(
                "STS answered a redirect ({status}); redirects are not followed"
            )))
        } else if status.is_client_error() {
            let detail = crate::answer::error_summary(&body);
            Attempt::Fail(Error::denied(format!(
                "STS refused the proof ({status}): {detail}"
            )))
        } else {
            Attempt::Fail(Error::denied(format!("STS answered {status}, not 200")))
        }
    }
}
