//! AWS client setup shared by the tools that call AWS: the standard credential chain
//! and settings (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL*`, `~/.aws/config`),
//! one rustls HTTPS client, bounded timeouts, and an instance metadata client that
//! gives up quickly off EC2 instead of the SDK's multi-second default wait.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
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
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::error::{Error, Result};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// IMDS answers in well under a millisecond on EC2; off EC2 nothing answers at all.
const IMDS_TIMEOUT: Duration = Duration::from_millis(1000);

/// The places the standard chain looks for credentials, for hints.
pub const CREDENTIAL_SOURCES: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/{config,credentials}, \
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

fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(LazyHttpClient::default())
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Loads the SDK config for `region`. The region is always given, so it is never
/// looked up over IMDS.
pub async fn sdk_config(region: &str) -> SdkConfig {
    let region = Region::new(region.to_string());
    let http = http_client();
    let provider_config = ProviderConfig::default()
        .with_http_client(http.clone())
        .with_region(Some(region.clone()));
    let imds = aws_config::imds::Client::builder()
        .configure(&provider_config)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build();
    let chain = DefaultCredentialsChain::builder()
        .configure(provider_config)
        .region(region.clone())
        .imds_client(imds)
        .build()
        .await;
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .http_client(http)
        .timeout_config(timeouts())
        .credentials_provider(chain)
        .load()
        .await
}

/// Resolves credentials from the SDK config's chain, turning failure into a denial
/// with a hint naming where it looked.
pub async fn credentials(config: &SdkConfig) -> Result<Credentials> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::internal("no credential provider configured"))?;
    provider.provide_credentials().await.map_err(|e| {
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
    })
}
