//! Building and signing the GetCallerIdentity request with aws-sigv4.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use common::aws::StsSettings;
use common::proof::{EKS_CLUSTER_HEADER, SERVER_ID_HEADER, SignedRequest, is_region};
use common::{Error, Result};

pub const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// What `aws eks get-token` uses; the verifier bounds it at 900.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);

/// Where the request is signed for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, ending in `/`.
    pub url: String,
    /// The Host header value (authority of the URL).
    pub host: String,
    /// The region of the signature's credential scope.
    pub region: String,
}

impl Target {
    /// The STS endpoint the SDKs would use here (see [`StsSettings`]): an endpoint
    /// override, else the regional endpoint of `--region`, FIPS and dual-stack
    /// settings applied; without either, the global endpoint.
    pub fn resolve(region: Option<&str>, settings: &StsSettings) -> Result<Target> {
        if let Some(r) = region
            && !is_region(r)
        {
            return Err(
                Error::usage(format!("--region: `{r}` is not an AWS region name"))
                    .hint("e.g. --region eu-west-1"),
            );
        }
        let variant = settings.use_fips || settings.use_dual_stack;
        // FIPS and dual-stack endpoints are regional: the configured region then.
        let region = region
            .map(str::to_string)
            .or_else(|| settings.region.clone().filter(|_| variant))
            .or_else(|| variant.then(|| "us-east-1".to_string()));
        // An endpoint override (a VPC endpoint, say) is signed for the configured
        // region, as the SDKs sign it; the global endpoint's region is us-east-1.
        let signing_region = region
            .clone()
            .or_else(|| settings.endpoint_url.as_ref().and(settings.region.clone()))
            .unwrap_or_else(|| "us-east-1".to_string());
        let (url, host) = match &settings.endpoint_url {
            Some(url) => {
                let uri: http::Uri = url.parse().map_err(|e| {
                    Error::usage(format!("STS endpoint URL `{url}` is not a URL ({e})"))
                        .hint("check AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL and endpoint_url in ~/.aws/config")
                })?;
                let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
                    return Err(Error::usage(format!(
                        "STS endpoint URL `{url}` needs a scheme and a host"
                    )));
                };
                let path = uri.path().trim_end_matches('/');
                (
                    format!("{scheme}://{authority}{path}/"),
                    authority.to_string(),
                )
            }
            None => {
                let host = match region.as_deref() {
                    None => "sts.amazonaws.com".to_string(),
                    Some(r) => {
                        let china = r.starts_with("cn-");
                        let name = if settings.use_fips { "sts-fips" } else { "sts" };
                        let domain = match (china, settings.use_dual_stack) {
                            (true, true) => "api.amazonwebservices.com.cn",
                            (true, false) => "amazonaws.com.cn",
                            (false, true) => "api.aws",
                            (false, false) => "amazonaws.com",
                        };
                        format!("{name}.{r}.{domain}")
                    }
                };
                (format!("https://{host}/"), host)
            }
        };
        Ok(Target {
            url,
            host,
            region: signing_region,
        })
    }
}

fn signed(
    req: &mut http::Request<String>,
    creds: &Credentials,
    region: &str,
    settings: SigningSettings,
    now: SystemTime,
) -> Result<()> {
    let identity: aws_smithy_runtime_api::client::identity::Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| Error::internal(format!("signing parameters: {e}")))?
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body().as_bytes()),
    )
    .map_err(|e| Error::internal(format!("signing: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| Error::internal(format!("signing: {e}")))?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

fn header_err(e: impl std::fmt::Display) -> Error {
    Error::usage(format!("header value not allowed in an HTTP header: {e}"))
}

/// A signed header with 64 random bits, so that two proofs made by one identity in
/// the same second (X-Amz-Date's resolution) differ: a verifier that lets a proof
/// verify once must not refuse the second of two honest logins. STS ignores it;
/// Vault forwards it as it does every header that is not X-Amz-*.
pub const NONCE_HEADER: &str = "X-Vaultless-Nonce";

/// Signs `POST <url>` with the GetCallerIdentity body, as Vault and Akeyless expect.
pub fn post(
    target: &Target,
    creds: &Credentials,
    server_id: Option<&str>,
    now: SystemTime,
) -> Result<SignedRequest> {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(&target.url)
        .header("Host", &target.host)
        .header("Content-Type", CONTENT_TYPE)
        .header(NONCE_HEADER, format!("{:016x}", fastrand::u64(..)));
    if let Some(id) = server_id {
        builder = builder.header(SERVER_ID_HEADER, id);
    }
    let mut req = builder.body(BODY.to_string()).map_err(header_err)?;
    signed(
        &mut req,
        creds,
        &target.region,
        SigningSettings::default(),
        now,
    )?;
    // Header names as Go's http.Header and Vault's clients write them.
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                canonical_name(k.as_str()),
                vec![v.to_str().unwrap_or_default().to_string()],
            )
        })
        .collect();
    Ok(SignedRequest {
        method: "POST".into(),
        url: target.url.clone(),
        headers,
        body: BODY.as_bytes().to_vec(),
    })
}

/// Presigns `GET <url>?Action=GetCallerIdentity&Version=2011-06-15` with the cluster
/// name in a signed `x-k8s-aws-id` header, as `aws eks get-token` does.
pub fn presign(
    target: &Target,
    creds: &Credentials,
    cluster: &str,
    now: SystemTime,
) -> Result<String> {
    let mut req = http::Request::builder()
        .method("GET")
        .uri(format!("{}?{BODY}", target.url))
        .header("host", &target.host)
        .header(EKS_CLUSTER_HEADER, cluster)
        .body(String::new())
        .map_err(header_err)?;
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    signed(&mut req, creds, &target.region, settings, now)?;
    Ok(req.uri().to_string())
}

/// `x-amz-date` → `X-Amz-Date`; the server ID header keeps its own spelling.
fn canonical_name(name: &str) -> String {
    if name.eq_ignore_ascii_case(SERVER_ID_HEADER) {
        return SERVER_ID_HEADER.to_string();
    }
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_sdk_settings() {
        let url = |region: Option<&str>, s: StsSettings| Target::resolve(region, &s).unwrap().url;
        let plain = StsSettings::default();
        assert_eq!(url(None, plain.clone()), "https://sts.amazonaws.com/");
        assert_eq!(
            url(Some("eu-west-1"), plain.clone()),
            "https://sts.eu-west-1.amazonaws.com/"
        );
        assert_eq!(
            url(Some("cn-north-1"), plain.clone()),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        let configured = |fips, dual| StsSettings {
            use_fips: fips,
            use_dual_stack: dual,
            region: Some("us-west-2".into()),
            ..StsSettings::default()
        };
        assert_eq!(
            url(None, configured(false, false)),
            "https://sts.amazonaws.com/"
        );
        assert_eq!(
            url(None, configured(true, false)),
            "https://sts-fips.us-west-2.amazonaws.com/"
        );
        assert_eq!(
            url(None, configured(false, true)),
            "https://sts.us-west-2.api.aws/"
        );
        assert_eq!(
            url(None, configured(true, true)),
            "https://sts-fips.us-west-2.api.aws/"
        );
        assert_eq!(
            url(Some("cn-northwest-1"), configured(false, true)),
            "https://sts.cn-northwest-1.api.amazonwebservices.com.cn/"
        );
        let over = StsSettings {
            endpoint_url: Some("http://127.0.0.1:4566".into()),
            ..configured(true, true)
        };
        let t = Target::resolve(None, &over).unwrap();
        assert_eq!(
            (t.url.as_str(), t.host.as_str(), t.region.as_str()),
            ("http://127.0.0.1:4566/", "127.0.0.1:4566", "us-west-2")
        );
        // A regional VPC endpoint with only AWS_REGION set is signed for that region.
        let vpce = StsSettings {
            endpoint_url: Some("https://vpce-0abc.sts.eu-west-1.vpce.amazonaws.com".into()),
            region: Some("eu-west-1".into()),
            ..StsSettings::default()
        };
        assert_eq!(Target::resolve(None, &vpce).unwrap().region, "eu-west-1");
        let bare = StsSettings {
            endpoint_url: Some("http://127.0.0.1:4566".into()),
            ..StsSettings::default()
        };
        assert_eq!(Target::resolve(None, &bare).unwrap().region, "us-east-1");
    }

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(
            canonical_name("x-amz-security-token"),
            "X-Amz-Security-Token"
        );
        assert_eq!(
            canonical_name("x-vault-aws-iam-server-id"),
            SERVER_ID_HEADER
        );
        assert_eq!(canonical_name("authorization"), "Authorization");
    }

    #[test]
    fn post_signs_host_server_id_and_token() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let target = Target {
            url: "https://sts.amazonaws.com/".into(),
            host: "sts.amazonaws.com".into(),
            region: "us-east-1".into(),
        };
        let req = post(
            &target,
            &creds,
            Some("broker"),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
        .unwrap();
        let get = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v[0].clone())
        };
        let auth = get("Authorization").unwrap();
        assert!(
            auth.contains("Credential=AKIDEXAMPLE/20270115/us-east-1/sts/aws4_request"),
            "{auth}"
        );
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id"), "{auth}");
        assert_eq!(get("X-Amz-Date").as_deref(), Some("20270115T080000Z"));
        assert_eq!(get("X-Amz-Security-Token").as_deref(), Some("token"));
        assert!(!auth.contains("secret"));
    }

    #[test]
    fn presign_puts_signature_in_query() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let target = Target {
            url: "https://sts.us-west-2.amazonaws.com/".into(),
            host: "sts.us-west-2.amazonaws.com".into(),
            region: "us-west-2".into(),
        };
        let url = presign(&target, &creds, "prod", SystemTime::now()).unwrap();
        assert!(
            url.starts_with(
                "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
            ),
            "{url}"
        );
        assert!(
            url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=60"), "{url}");
    }
}
