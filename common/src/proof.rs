//! Login proofs in their three wire formats (Vault, EKS token, Akeyless cloud id), to
//! and from the signed request they carry. sign-login encodes; verify-login decodes.
//!
//! Decoding is strict and says which field is wrong: the documents come from callers a
//! broker does not trust, so a duplicate header or stray field is an error, not a guess.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::docs::{
    AkeylessCloudId, AkeylessProof, ExecCredential, ExecCredentialStatus, Request, VaultProof,
};
use crate::error::{Error, Result};

/// The name a proof goes by once used: the SHA-256 (hex) of its SigV4 signature.
/// Single-use records and audit lines carry this, never the proof.
pub fn signature_hash(signature: &str) -> String {
    crate::sha256_hex(signature.to_ascii_lowercase().as_bytes())
}

/// Prefix of an EKS token; the rest is the unpadded base64url of a presigned URL.
pub const EKS_TOKEN_PREFIX: &str = "k8s-aws-v1.";
pub const EKS_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";
/// The signed header that names the cluster in an EKS token.
pub const EKS_CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// The header that binds a Vault-style proof to one server.
pub const SERVER_ID_HEADER: &str = "X-Vault-AWS-IAM-Server-ID";

/// True for an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`): what a
/// signer may put in a hostname and a verifier accepts in a credential scope.
pub fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Vault,
    Eks,
    Akeyless,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Vault => "vault",
            Format::Eks => "eks",
            Format::Akeyless => "akeyless",
        }
    }
}

/// A signed HTTP request as a proof carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    /// Header names as given, each with its values (more than one is refused later).
    pub headers: Vec<(String, Vec<String>)>,
    pub body: Vec<u8>,
}

/// A decoded proof: the request, plus the unsigned extras that ride along with it.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub format: Format,
    pub request: SignedRequest,
    pub role: Option<String>,
    pub extra: Option<Request>,
}

/// Encodes the header map as Vault and Akeyless expect: a JSON object of name to list.
/// Keeps the signer's header order, which a `serde_json::Map` would sort away.
fn headers_json(headers: &[(String, Vec<String>)]) -> String {
    struct Ordered<'a>(&'a [(String, Vec<String>)]);
    impl serde::Serialize for Ordered<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    serde_json::to_string(&Ordered(headers)).expect("strings serialize")
}

pub fn to_vault(req: &SignedRequest, role: Option<String>, extra: Option<Request>) -> VaultProof {
    VaultProof {
        iam_http_request_method: req.method.clone(),
        iam_request_url: STANDARD.encode(&req.url),
        iam_request_body: STANDARD.encode(&req.body),
        iam_request_headers: STANDARD.encode(headers_json(&req.headers)),
        role,
        request: extra,
    }
}

pub fn to_akeyless(
    req: &SignedRequest,
    role: Option<String>,
    extra: Option<Request>,
) -> AkeylessProof {
    let inner = AkeylessCloudId {
        sts_request_method: req.method.clone(),
        sts_request_url: STANDARD.encode(&req.url),
        sts_request_body: STANDARD.encode(&req.body),
        sts_request_headers: STANDARD.encode(headers_json(&req.headers)),
    };
    let json = serde_json::to_string(&inner).expect("plain strings serialize");
    AkeylessProof {
        cloud_id: STANDARD.encode(json),
        role,
        request: extra,
    }
}

/// `presigned_url` is the full URL with the signature in its query.
pub fn to_eks(
    presigned_url: &str,
    expiration: String,
    role: Option<String>,
    extra: Option<Request>,
) -> ExecCredential {
    ExecCredential {
        kind: "ExecCredential".to_string(),
        api_version: EKS_API_VERSION.to_string(),
        spec: Default::default(),
        status: ExecCredentialStatus {
            expiration_timestamp: expiration,
            token: format!(
                "{EKS_TOKEN_PREFIX}{}",
                URL_SAFE_NO_PAD.encode(presigned_url)
            ),
        },
        role,
        request: extra,
    }
}

fn bad(field: &str, what: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("{field}: {what}"))
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(text.trim_end_matches(['\n', '\r']))
        .map_err(|e| bad(field, format_args!("not valid base64 ({e})")))
}

fn b64_text(field: &str, text: &str) -> Result<String> {
    String::from_utf8(b64(field, text)?)
        .map_err(|_| bad(field, "decodes to bytes that are not UTF-8"))
}

/// Decodes one proof document. Errors are bad input (65) naming the field.
pub fn decode(doc: &[u8]) -> Result<Decoded> {
    let value: Value = serde_json::from_slice(doc).map_err(|e| {
        Error::bad_input(format!("proof is not valid JSON ({e})"))
            .hint("pipe sign-login's output in as it is, one proof per line")
    })?;
    crate::input::check_unique_keys(doc)
        .map_err(|e| Error::bad_input(format!("proof is not a plain JSON document: {e}")))?;
    let Value::Object(obj) = &value else {
        return Err(Error::bad_input("proof must be a JSON object"));
    };
    let format = if obj.contains_key("iam_request_url")
        || obj.contains_key("iam_http_request_method")
    {
        Format::Vault
    } else if obj.contains_key("cloud_id") {
        Format::Akeyless
    } else if obj.contains_key("status") || obj.get("kind").is_some_and(|k| k == "ExecCredential") {
        Format::Eks
    } else {
        return Err(Error::bad_input(
            "proof is in no known format (expected Vault's iam_* fields, an ExecCredential, or a cloud_id)",
        ));
    };
    let typed = |e: serde_json::Error| bad(&format!("{} proof", format.name()), e);
    match format {
        Format::Vault => {
            let p: VaultProof = serde_json::from_value(value).map_err(typed)?;
            let request = SignedRequest {
                method: p.iam_http_request_method,
                url: b64_text("iam_request_url", &p.iam_request_url)?,
                headers: parse_headers(
                    "iam_request_headers",
                    &b64("iam_request_headers", &p.iam_request_headers)?,
                )?,
                body: b64("iam_request_body", &p.iam_request_body)?,
            };
            Ok(Decoded {
                format,
                request,
                role: p.role,
                extra: p.request,
            })
        }
        Format::Akeyless => {
            let p: AkeylessProof = serde_json::from_value(value).map_err(typed)?;
            let inner = b64("cloud_id", &p.cloud_id)?;
            crate::input::check_unique_keys(&inner).map_err(|e| bad("cloud_id", e))?;
            let c: AkeylessCloudId = serde_json::from_slice(&inner)
                .map_err(|e| bad("cloud_id", format_args!("not the expected JSON ({e})")))?;
            let request = SignedRequest {
                method: c.sts_request_method,
                url: b64_text("cloud_id.sts_request_url", &c.sts_request_url)?,
                headers: parse_headers(
                    "cloud_id.sts_request_headers",
                    &b64("cloud_id.sts_request_headers", &c.sts_request_headers)?,
                )?,
                body: b64("cloud_id.sts_request_body", &c.sts_request_body)?,
            };
            Ok(Decoded {
                format,
                request,
                role: p.role,
                extra: p.request,
            })
        }
        Format::Eks => {
            let p: ExecCredential = serde_json::from_value(value).map_err(typed)?;
            if p.kind != "ExecCredential" {
                return Err(bad(
                    "kind",
                    format_args!("must be ExecCredential (got {:?})", p.kind),
                ));
            }
            let token = p
                .status
                .token
                .strip_prefix(EKS_TOKEN_PREFIX)
                .ok_or_else(|| {
                    bad(
                        "status.token",
                        format_args!("must start with {EKS_TOKEN_PREFIX}"),
                    )
                })?;
            let url = URL_SAFE_NO_PAD
                .decode(token.trim_end_matches('='))
                .map_err(|e| bad("status.token", format_args!("not valid base64url ({e})")))?;
            let url = String::from_utf8(url)
                .map_err(|_| bad("status.token", "decodes to bytes that are not UTF-8"))?;
            let request = SignedRequest {
                method: "GET".to_string(),
                url,
                headers: Vec::new(),
                body: Vec::new(),
            };
            Ok(Decoded {
                format,
                request,
                role: p.role,
                extra: p.request,
            })
        }
    }
}

/// Parses a header map, keeping every key even when JSON repeats it, so that
/// duplicates are refused instead of silently overwritten.
fn parse_headers(field: &str, json: &[u8]) -> Result<Vec<(String, Vec<String>)>> {
    struct Headers(Vec<(String, Vec<String>)>);
    struct HeadersVisitor;

    impl<'de> Visitor<'de> for HeadersVisitor {
        type Value = Headers;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object of header name to a string or a list of strings")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Headers, A::Error> {
            let mut out = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                let value: Value = map.next_value()?;
                let values = match value {
                    Value::String(s) => vec![s],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s),
                            _ => Err(de::Error::custom(format!(
                                "header {key}: values must be strings"
                            ))),
                        })
                        .collect::<std::result::Result<_, _>>()?,
                    _ => {
                        return Err(de::Error::custom(format!(
                            "header {key}: value must be a string or a list of strings"
                        )));
                    }
                };
                out.push((key, values));
            }
            Ok(Headers(out))
        }
    }

    impl<'de> serde::Deserialize<'de> for Headers {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_map(HeadersVisitor)
        }
    }

    // A header named twice is a duplicate key like any other in the proof (65);
    // names differing only in case are the checks' to refuse.
    crate::input::check_unique_keys(json).map_err(|e| bad(field, e))?;
    let headers: Headers = serde_json::from_slice(json)
        .map_err(|e| bad(field, format_args!("not a JSON header object ({e})")))?;
    Ok(headers.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SignedRequest {
        SignedRequest {
            method: "POST".into(),
            url: "https://sts.amazonaws.com/".into(),
            headers: vec![
                ("Host".into(), vec!["sts.amazonaws.com".into()]),
                (
                    "Authorization".into(),
                    vec!["AWS4-HMAC-SHA256 Credential=x".into()],
                ),
            ],
            body: b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
        }
    }

    #[test]
    fn signature_hashes() {
        let h = signature_hash(&"A".repeat(64));
        assert_eq!(h.len(), 64);
        assert_eq!(
            h,
            signature_hash(&"a".repeat(64)),
            "hex case does not matter"
        );
        assert_ne!(h, signature_hash(&"b".repeat(64)));
    }

    #[test]
    fn regions() {
        for good in ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2"] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "useast1",
            "us-east",
            "US-EAST-1",
            "us-east-1.evil.com",
            "us-east-1/",
            "us--1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn vault_round_trip() {
        let doc = serde_json::to_vec(&to_vault(&sample(), Some("ci".into()), None)).unwrap();
        let d = decode(&doc).unwrap();
        assert_eq!(d.format, Format::Vault);
        assert_eq!(d.request, sample());
        assert_eq!(d.role.as_deref(), Some("ci"));
    }

    #[test]
    fn akeyless_round_trip() {
        let doc = serde_json::to_vec(&to_akeyless(&sample(), None, None)).unwrap();
        let d = decode(&doc).unwrap();
        assert_eq!(d.format, Format::Akeyless);
        assert_eq!(d.request, sample());
    }

    #[test]
    fn eks_round_trip() {
        let url =
            "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15";
        let doc =
            serde_json::to_vec(&to_eks(url, "2026-11-23T00:00:00Z".into(), None, None)).unwrap();
        let d = decode(&doc).unwrap();
        assert_eq!(d.format, Format::Eks);
        assert_eq!(d.request.url, url);
        assert_eq!(d.request.method, "GET");
    }

    #[test]
    fn repeated_keys_in_the_document_are_bad_input() {
        let doc = serde_json::to_string(&to_vault(&sample(), Some("ci".into()), None)).unwrap();
        let twice = doc.replacen('{', r#"{"role":"admin","#, 1);
        let err = decode(twice.as_bytes()).unwrap_err();
        assert_eq!(err.code(), crate::ExitCode::BadInput);
        assert!(err.to_string().contains("`role` appears twice"), "{err}");
        let nested = doc.replacen('{', r#"{"request":{"secret_id":"a","secret_id":"b"},"#, 1);
        assert_eq!(
            decode(nested.as_bytes()).unwrap_err().code(),
            crate::ExitCode::BadInput
        );
        let inner = r#"{"sts_request_method":"POST","sts_request_method":"GET","sts_request_url":"","sts_request_body":"","sts_request_headers":"e30="}"#;
        let akeyless = format!(r#"{{"cloud_id":"{}"}}"#, STANDARD.encode(inner));
        let err = decode(akeyless.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("cloud_id:"), "{err}");
    }

    /// A header key given twice is a duplicate key of the document (65); names that
    /// differ only in case are kept, for the checks to refuse.
    #[test]
    fn duplicate_json_header_keys_are_bad_input() {
        let err =
            parse_headers("h", br#"{"Authorization":["a"],"Authorization":"b"}"#).unwrap_err();
        assert_eq!(err.code(), crate::ExitCode::BadInput);
        assert!(err.to_string().starts_with("h:"), "{err}");
        let h = parse_headers("h", br#"{"Authorization":["a"],"authorization":"b"}"#).unwrap();
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode(br#"{"iam_http_request_method":"POST","iam_request_url":"!!","iam_request_body":"","iam_request_headers":"e30="}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("iam_request_url: not valid base64"),
            "{err}"
        );
        let err = decode(br#"{"iam_http_request_method":"POST","iam_request_url":"","iam_request_body":"","iam_request_headers":"W10="}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("iam_request_headers: not a JSON header object"),
            "{err}"
        );
        let err = decode(br#"{"iam_http_request_method":"POST","iam_request_url":"","iam_request_body":"","iam_request_headers":"e30=","extra":1}"#)
            .unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
        assert_eq!(decode(b"[]").unwrap_err().code(), crate::ExitCode::BadInput);
        assert_eq!(decode(b"").unwrap_err().code(), crate::ExitCode::BadInput);
    }
}
