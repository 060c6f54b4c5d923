//! AWS client setup shared by the tools that call AWS: the standard credential chain
//! and settings (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL*`, `~/.aws/config`),
//! one rustls HTTPS client, bounded timeouts, an instance metadata client that gives up
//! quickly off EC2 instead of the SDK's multi-second default wait, and the mapping of
//! SDK errors to exit codes.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{Error, Result};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Every SDK call: this many attempts in all for throttling, 5xx and transient
/// network errors, with jittered exponential backoff. The one retry policy of every
/// client; no tool loops around a call again.
pub const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// IMDS answers in well under a millisecond on EC2; off EC2 nothing answers at all.
const IMDS_TIMEOUT: Duration = Duration::from_millis(1000);

/// The places the standard chain looks for credentials, for hints.
pub const CREDENTIAL_SOURCES: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/{config,credentials} (SSO included), \
AWS_WEB_IDENTITY_TOKEN_FILE, the ECS/container endpoint, credential_process, and EC2 instance metadata";

/// The HTTPS client, built on first use: building it loads every root certificate on
/// the machine (a few milliseconds), which a command that finds its credentials in
/// the environment and makes no call should not pay.
#[derive(Debug, Default)]
struct LazyHttpClient(OnceLock<SharedHttpClient>);

impl HttpClient for LazyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0
            .get_or_init(|| {
                aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https()
            })
            .http_connector(settings, components)
    }
}

/// The HTTPS client every SDK client uses (built on first use).
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(LazyHttpClient::default())
}

fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn imds_client(provider_config: &ProviderConfig) -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .configure(provider_config)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build()
}

/// An SDK config with credentials already resolved (so failures get a proper hint,
/// and no provider is asked twice).
pub struct Aws {
    pub config: SdkConfig,
    pub credentials: Credentials,
}

/// Loads the SDK config. With `region` given, the region is never looked up; without,
/// it comes from `AWS_REGION` / `AWS_DEFAULT_REGION`, the profile, and only then EC2
/// instance metadata (with a short timeout).
pub async fn load(region: Option<&str>) -> Result<Aws> {
    let (region, http, credentials) = resolve(region).await?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .http_client(http)
        .timeout_config(timeouts())
        .retry_config(retries())
        .credentials_provider(credentials.clone())
        .load()
        .await;
    Ok(Aws {
        config,
        credentials,
    })
}

/// For global services (IAM): the configured region if there is one, else us-east-1,
/// never asking instance metadata.
pub async fn load_global() -> Result<Aws> {
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else(Region::new("us-east-1"))
        .region()
        .await
        .map(|r| r.to_string());
    load(region.as_deref()).await
}

/// Where STS is for this machine, as the SDKs would find it: the endpoint override
/// (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, `endpoint_url` in the profile or its
/// `services` section), and the FIPS and dual-stack settings (`AWS_USE_FIPS_ENDPOINT`,
/// `use_fips_endpoint`, `AWS_USE_DUALSTACK_ENDPOINT`, `use_dualstack_endpoint`), with
/// the configured region. Reads the environment and the profile files only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StsSettings {
    pub endpoint_url: Option<String>,
    pub use_fips: bool,
    pub use_dual_stack: bool,
    /// `AWS_REGION` / the profile's region, never instance metadata.
    pub region: Option<String>,
}

pub async fn sts_settings() -> StsSettings {
    use aws_types::service_config::ServiceConfigKey;
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .region()
        .await;
    // The region is given, so loading never asks instance metadata for one.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone().unwrap_or_else(|| Region::new("us-east-1")))
        .http_client(http_client())
        .load()
        .await;
    let key = ServiceConfigKey::builder()
        .service_id("STS")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every field is set");
    let endpoint_url = config
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_string))
        .filter(|u| !u.is_empty());
    StsSettings {
        endpoint_url,
        use_fips: config.use_fips().unwrap_or(false),
        use_dual_stack: config.use_dual_stack().unwrap_or(false),
        region: region.map(|r| r.to_string()),
    }
}

/// Only the credentials, for tools that sign but send nothing.
pub async fn credentials(region: &str) -> Result<Credentials> {
    Ok(resolve(Some(region)).await?.2)
}

async fn resolve(region: Option<&str>) -> Result<(Region, SharedHttpClient, Credentials)> {
    let http = http_client();
    let base = ProviderConfig::default().with_http_client(http.clone());
    let imds = imds_client(&base);
    let region = match region {
        Some(r) => Region::new(r.to_string()),
        None => RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::new())
            .or_else(
                aws_config::imds::region::ImdsRegionProvider::builder()
                    .imds_client(imds.clone())
                    .build(),
            )
            .region()
            .await
            .ok_or_else(|| {
                Error::usage("no AWS region is configured")
                    .hint("set AWS_REGION (or region in ~/.aws/config for your profile)")
            })?,
    };
    let provider_config = base.with_region(Some(region.clone()));
    let chain = DefaultCredentialsChain::builder()
        .configure(provider_config)
        .region(region.clone())
        .imds_client(imds)
        .build()
        .await;
    let credentials = chain.provide_credentials().await.map_err(|e| {
        let detail = match &e {
            CredentialsError::CredentialsNotLoaded(_) => {
                "no AWS credentials were found".to_string()
            }
            other => format!(
                "could not load AWS credentials: {}",
                crate::error::source_chain(other)
            ),
        };
        Error::denied(detail).hint(format!("looked in {CREDENTIAL_SOURCES}"))
    })?;
    Ok((region, http, credentials))
}

/// Maps an SDK error to an exit code and a message (`what` says what was being done).
/// Error codes a tool gives a meaning of its own (not found, scheduled for deletion)
/// are matched before calling this.
pub fn sdk_error<E>(what: &str, err: &SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("UnknownError");
            let message = e
                .message()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect::<String>();
            let status = service.raw().status().as_u16();
            let text = if message.is_empty() {
                format!("{what}: {code} (HTTP {status})")
            } else {
                format!("{what}: {code}: {message}")
            };
            if is_throttling(code) || status == 429 {
                Error::temp_fail(text).hint("AWS is throttling this account's calls; retry later")
            } else if is_denial(code) || status == 403 {
                Error::denied(text)
            } else if code.contains("NotFound") || code == "NoSuchEntity" {
                Error::not_found(text)
            } else if status >= 500 {
                Error::unavailable(text).hint("AWS is failing; retry later")
            } else {
                Error::bad_input(text)
            }
        }
        SdkError::TimeoutError(_) => Error::temp_fail(format!(
            "{what}: no answer from AWS within {}s",
            OPERATION_TIMEOUT.as_secs()
        ))
        .hint("AWS or the network is slow; retry later"),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Error::temp_fail(format!("{what}: timed out reaching AWS")).hint("retry later")
        }
        SdkError::DispatchFailure(d) => Error::unavailable(format!(
            "{what}: cannot reach AWS: {}",
            crate::error::source_chain(
                d.as_connector_error()
                    .map_or(err as &dyn std::error::Error, |c| c)
            )
        ))
        .hint("check the network, AWS_REGION and AWS_ENDPOINT_URL; retry later"),
        SdkError::ResponseError(_) => Error::unavailable(format!(
            "{what}: AWS sent an answer that could not be read: {}",
            crate::error::source_chain(err)
        )),
        _ => Error::internal(format!("{what}: {}", crate::error::source_chain(err))),
    }
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "ProvisionedThroughputExceededException"
            | "TransactionConflictException"
    )
}

fn is_denial(code: &str) -> bool {
    code.contains("AccessDenied")
        || matches!(
            code,
            "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "SignatureDoesNotMatch"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
        )
}
