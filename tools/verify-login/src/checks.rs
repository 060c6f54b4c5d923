//! Everything verify-login checks about a proof before it opens any connection.
//!
//! A proof is a request the caller built; forwarding it makes the broker a proxy for
//! it. So the checks here whitelist rather than blacklist: the method, scheme, host,
//! port, path, query keys, body keys and `X-Amz-*` headers must each be one of a short
//! list, and anything repeated, unsigned or out of time is refused.

use std::time::Duration;

use common::config::{Authority, is_loopback};
use common::proof::{Decoded, EKS_CLUSTER_HEADER, Format, SERVER_ID_HEADER, is_region};
use common::{Error, Result};
use jiff::Timestamp;

/// The largest proof document read (Vault's own limit on a login body is far larger,
/// but a real proof is about 2 KiB).
pub const MAX_PROOF_BYTES: usize = 64 * 1024;
const MAX_URL_BYTES: usize = 4096;
const MAX_BODY_BYTES: usize = 1024;
const MAX_HEADERS: usize = 32;
const MAX_PRESIGN_EXPIRES: u64 = 900;
const STS_VERSION: &str = "2011-06-15";

/// `X-Amz-*` headers a GetCallerIdentity request may carry; any other is refused.
/// (`X-Amz-User-Agent` is what the AWS SDK for JavaScript signs in place of
/// User-Agent, which browsers do not let it set.)
const ALLOWED_AMZ_HEADERS: &[&str] = &[
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amz-user-agent",
];
/// Headers that change how a request is framed or routed; never forwarded.
const FORBIDDEN_HEADERS: &[&str] = &[
    "connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "keep-alive",
    "expect",
    "proxy-authorization",
    "proxy-connection",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
];
/// Query keys of a presigned GetCallerIdentity URL (EKS tokens).
const PRESIGN_QUERY_KEYS: &[&str] = &[
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// What the operator allows, from `[login]`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `None` only when `require_server_id = false` and no server ID is set.
    pub server_id: Option<String>,
    pub max_skew: Duration,
    pub allowed_hosts: Vec<Authority>,
}

/// A proof that passed every local check: the request to forward.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: http::Method,
    pub scheme: String,
    /// The authority as the proof's URL writes it: where the request goes when no
    /// `sts_endpoint` is set.
    pub connect: String,
    /// The host (and port) that was signed, sent as Host wherever the request goes.
    pub host_header: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Presigned GET: STS is asked for JSON, as the EKS authenticator does.
    pub presigned: bool,
    /// The SigV4 signature (hex), which names the proof for single use.
    pub signature: String,
    /// The signed time (X-Amz-Date).
    pub signed_at: Timestamp,
}

fn denied(text: impl Into<String>) -> Error {
    Error::denied(text)
}

/// True for the real STS endpoints: global, regional, FIPS, dual-stack (`api.aws`,
/// what botocore uses with `use_dualstack_endpoint`), and China.
pub fn is_sts_host(host: &str) -> bool {
    if host == "sts.amazonaws.com" {
        return true;
    }
    let china = |region: &str| region.starts_with("cn-") && is_region(region);
    if let Some(region) = host.strip_prefix("sts.").and_then(|h| {
        h.strip_suffix(".amazonaws.com.cn")
            .or_else(|| h.strip_suffix(".api.amazonwebservices.com.cn"))
    }) {
        return china(region);
    }
    let region = host
        .strip_prefix("sts.")
        .or_else(|| host.strip_prefix("sts-fips."))
        .and_then(|h| {
            h.strip_suffix(".amazonaws.com")
                .or_else(|| h.strip_suffix(".api.aws"))
        });
    region.is_some_and(|r| is_region(r) && !china(r))
}

struct Url<'a> {
    scheme: &'a str,
    /// As written in the URL.
    authority: String,
    /// What a signer signs as Host for this URL: the authority without a port
    /// that is the scheme's default (botocore and the Go SDKs both drop it).
    signed_host: String,
    path: &'a str,
    query: Option<&'a str>,
}

/// Parses and checks the proof URL: scheme, host, port, userinfo, path.
fn check_url<'a>(url: &'a str, policy: &Policy) -> Result<Url<'a>> {
    if url.len() > MAX_URL_BYTES {
        return Err(denied(format!(
            "request URL is longer than {MAX_URL_BYTES} bytes"
        )));
    }
    if url
        .bytes()
        .any(|b| b <= b' ' || b >= 0x7f || b == b'\\' || b == b'#')
    {
        return Err(denied(
            "request URL has spaces, control characters, a backslash or a fragment",
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        // Not quoted: a URL (a presigned one above all) may carry a session token.
        .ok_or_else(|| denied("request URL is not an absolute URL (scheme://host/)"))?;
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(denied("request URL carries userinfo (user@host)"));
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let (host, port) =
        Authority::split(authority).map_err(|e| denied(format!("request URL {e}")))?;
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(denied(format!(
            "request URL host `{host}` must be non-empty lower case"
        )));
    }
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        other => return Err(denied(format!("request URL scheme `{other}` is not https"))),
    };
    // An allowlist entry binds a host and a port: a bare host admits the default
    // port only, so allowlisting a loopback host does not open its every service.
    let allowlisted = policy
        .allowed_hosts
        .iter()
        .any(|a| a.admits(host, port, default));
    let sts = is_sts_host(host);
    if !allowlisted && !sts && !policy.allowed_hosts.iter().any(|a| a.host == host) {
        return Err(denied(format!("request URL host `{host}` is not an STS endpoint"))
            .hint("only real STS endpoints are accepted; add test or private hosts to [login] allowed_sts_hosts"));
    }
    if let Some(p) = port
        && p != default
        && !allowlisted
    {
        return Err(denied(format!(
            "request URL port {p} is not the default port of {scheme}"
        ))
        .hint("list the authority with its port in [login] allowed_sts_hosts (\"host:port\") to accept it"));
    }
    if !allowlisted && !sts {
        return Err(denied(format!(
            "request URL {scheme}://{authority} is not an allowlisted authority"
        ))
        .hint("[login] allowed_sts_hosts lists this host for another port"));
    }
    match scheme {
        "https" => {}
        _ if allowlisted && is_loopback(host) => {}
        _ => {
            return Err(denied(
                "request URL must be https (http is accepted only for allowlisted loopback hosts)",
            ));
        }
    }
    let signed_host = match port {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host.to_string(),
    };
    if path != "/" {
        return Err(denied(format!("request URL path must be / (got `{path}`)")));
    }
    Ok(Url {
        scheme,
        authority: authority.to_string(),
        signed_host,
        path,
        query,
    })
}

/// Parses `a=b&c=d`, refusing repeated keys, also ones that differ only in case.
fn form_pairs(what: &str, text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in text.split('&') {
        if part.is_empty() {
            return Err(denied(format!("{what} has an empty field")));
        }
        if !part.contains('=') {
            return Err(denied(format!("{what} field `{part}` has no value")));
        }
    }
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        if pairs.iter().any(|(seen, _)| seen.eq_ignore_ascii_case(&k)) {
            return Err(denied(format!("{what} repeats the key `{k}`")));
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(pairs)
}

fn check_action(what: &str, pairs: &[(String, String)], allowed_extra: &[&str]) -> Result<()> {
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match get("Action") {
        Some("GetCallerIdentity") => {}
        Some(other) => {
            return Err(denied(format!(
                "{what} Action must be GetCallerIdentity (got `{other}`)"
            )));
        }
        None => return Err(denied(format!("{what} has no Action=GetCallerIdentity"))),
    }
    match get("Version") {
        Some(STS_VERSION) => {}
        Some(other) => {
            return Err(denied(format!(
                "{what} Version must be {STS_VERSION} (got `{other}`)"
            )));
        }
        None => return Err(denied(format!("{what} has no Version={STS_VERSION}"))),
    }
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, _)| k != "Action" && k != "Version" && !allowed_extra.contains(&k.as_str()))
    {
        return Err(denied(format!(
            "{what} has a key beyond Action and Version: `{k}`"
        )));
    }
    Ok(())
}

/// Checks an X-Amz-Date against the clock.
fn check_date(value: &str, now: Timestamp, max_skew: Duration) -> Result<Timestamp> {
    let when = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", value)
        .ok()
        .filter(|_| value.len() == 16)
        .and_then(|t| t.to_datetime().ok())
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            denied(format!(
                "X-Amz-Date `{value}` is not a date like 20261122T100000Z"
            ))
        })?;
    let skew = jiff::SignedDuration::try_from(max_skew).unwrap_or(jiff::SignedDuration::MAX);
    let age = now.duration_since(when);
    if age > skew {
        return Err(denied(format!(
            "X-Amz-Date {value} is older than max_skew ({}s)",
            max_skew.as_secs()
        ))
        .hint("make a fresh proof for every login; check the signer's clock"));
    }
    if -age > skew {
        return Err(denied(format!(
            "X-Amz-Date {value} is in the future beyond max_skew ({}s)",
            max_skew.as_secs()
        ))
        .hint("check the signer's clock"));
    }
    Ok(when)
}

/// The parts of `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
pub struct Authorization {
    pub scope_date: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn parse_credential(value: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = value.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts[0].is_empty() {
        return Err(denied(
            "credential scope is not AKID/DATE/REGION/SERVICE/aws4_request",
        ));
    }
    if parts[0].bytes().any(|b| !b.is_ascii_alphanumeric()) {
        return Err(denied("access key id in the credential scope is malformed"));
    }
    if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(denied("credential scope date is not YYYYMMDD"));
    }
    if !is_region(parts[2]) {
        return Err(denied(format!(
            "credential scope region `{}` is not a region",
            parts[2]
        )));
    }
    if parts[3].is_empty()
        || !parts[3]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(denied("credential scope service is malformed"));
    }
    Ok((parts[1].to_string(), parts[3].to_string()))
}

pub fn parse_authorization(value: &str) -> Result<Authorization> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| denied("Authorization is not AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (k, v) = field
            .trim()
            .split_once('=')
            .ok_or_else(|| denied("Authorization has a field that is not KEY=VALUE"))?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => {
                return Err(denied(format!(
                    "Authorization has an unknown field `{other}`"
                )));
            }
        };
        if slot.replace(v).is_some() {
            return Err(denied(format!("Authorization repeats `{k}`")));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(denied(
            "Authorization lacks Credential, SignedHeaders or Signature",
        ));
    };
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(denied("Authorization Signature is not 64 hex digits"));
    }
    let (scope_date, service) = parse_credential(credential)?;
    Ok(Authorization {
        scope_date,
        service,
        signed_headers: signed_list(signed)?,
        signature: signature.to_ascii_lowercase(),
    })
}

fn signed_list(signed: &str) -> Result<Vec<String>> {
    let list: Vec<String> = signed.split(';').map(str::to_string).collect();
    if list.iter().any(|h| {
        h.is_empty()
            || h.bytes()
                .any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    }) {
        return Err(denied(
            "SignedHeaders is not a ;-separated list of lower-case header names",
        ));
    }
    Ok(list)
}

fn check_scope(scope_date: &str, service: &str, amz_date: &str) -> Result<()> {
    if service != "sts" {
        return Err(denied(format!(
            "signature is for service `{service}`, not sts"
        )));
    }
    if !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(denied("credential scope date does not match X-Amz-Date"));
    }
    Ok(())
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..0x7f).contains(&b))
}

/// Runs every local check on a decoded proof and returns the request to forward.
pub fn check(proof: &Decoded, policy: &Policy, now: Timestamp) -> Result<Outgoing> {
    let req = &proof.request;
    match (proof.format, req.method.as_str()) {
        (Format::Eks, "GET") | (Format::Vault | Format::Akeyless, "POST") => {}
        (_, m) => {
            return Err(denied(format!(
                "request method must be POST (GET for EKS tokens), got `{m}`"
            )));
        }
    }
    let url = check_url(&req.url, policy)?;
    if proof.format == Format::Eks {
        check_presigned(&url, req.body.is_empty(), policy, now)
    } else {
        check_post(proof, url, policy, now)
    }
}

fn check_presigned(
    url: &Url<'_>,
    empty_body: bool,
    policy: &Policy,
    now: Timestamp,
) -> Result<Outgoing> {
    if !empty_body {
        return Err(denied("a presigned GET must have no body"));
    }
    let query = url
        .query
        .ok_or_else(|| denied("EKS token URL has no query"))?;
    let pairs = form_pairs("EKS token query", query)?;
    check_action("EKS token query", &pairs, PRESIGN_QUERY_KEYS)?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let need = |key: &str| get(key).ok_or_else(|| denied(format!("EKS token query has no {key}")));
    if need("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(denied("EKS token X-Amz-Algorithm is not AWS4-HMAC-SHA256"));
    }
    let sig = need("X-Amz-Signature")?;
    if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(denied("EKS token X-Amz-Signature is not 64 hex digits"));
    }
    let expires: u64 = need("X-Amz-Expires")?
        .parse()
        .map_err(|_| denied("EKS token X-Amz-Expires is not a number"))?;
    if expires > MAX_PRESIGN_EXPIRES {
        return Err(denied(format!(
            "X-Amz-Expires must be 0-{MAX_PRESIGN_EXPIRES} (got {expires})"
        )));
    }
    let amz_date = need("X-Amz-Date")?;
    let signed_at = check_date(amz_date, now, policy.max_skew)?;
    let (scope_date, service) = parse_credential(need("X-Amz-Credential")?)?;
    check_scope(&scope_date, &service, amz_date)?;
    let signed = signed_list(need("X-Amz-SignedHeaders")?)?;
    if !signed.iter().any(|h| h == "host") {
        return Err(denied("host is not among the signed headers"));
    }
    let Some(cluster) = &policy.server_id else {
        return Err(denied(
            "EKS tokens need [login] server_id, the cluster ID their x-k8s-aws-id must carry",
        )
        .hint("set [login] server_id to the cluster name given to sign-login --cluster"));
    };
    if !signed.iter().any(|h| h == EKS_CLUSTER_HEADER) {
        return Err(denied(
            "x-k8s-aws-id is not among the signed headers of the EKS token",
        ));
    }
    if let Some(extra) = signed
        .iter()
        .find(|h| *h != "host" && *h != EKS_CLUSTER_HEADER)
    {
        return Err(denied(format!(
            "EKS token signs a header the verifier cannot supply: {extra}"
        )));
    }
    Ok(Outgoing {
        method: http::Method::GET,
        scheme: url.scheme.to_string(),
        connect: url.authority.clone(),
        host_header: url.signed_host.clone(),
        path_and_query: format!("{}?{query}", url.path),
        headers: vec![
            (EKS_CLUSTER_HEADER.to_string(), cluster.clone()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Vec::new(),
        presigned: true,
        signature: sig.to_ascii_lowercase(),
        signed_at,
    })
}

fn check_post(proof: &Decoded, url: Url<'_>, policy: &Policy, now: Timestamp) -> Result<Outgoing> {
    let req = &proof.request;
    if url.query.is_some() {
        return Err(denied("a POST proof URL must have no query"));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(denied(format!(
            "request body is longer than {MAX_BODY_BYTES} bytes"
        )));
    }
    let body = std::str::from_utf8(&req.body).map_err(|_| denied("request body is not UTF-8"))?;
    let pairs = form_pairs("request body", body)?;
    check_action("request body", &pairs, &[])?;

    if req.headers.len() > MAX_HEADERS {
        return Err(denied(format!("more than {MAX_HEADERS} headers")));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, values) in &req.headers {
        let lower = name.to_ascii_lowercase();
        if !valid_header_name(name) {
            return Err(denied(format!("`{name}` is not a valid header name")));
        }
        if seen.contains(&lower) {
            return Err(denied(format!("header {name} is repeated")));
        }
        seen.push(lower.clone());
        // A header the signature or the request's framing depends on has one value.
        // Others may carry several, as Go's http.Header does: SigV4 signs them joined
        // with ",", and they are forwarded so.
        let single = lower == "authorization"
            || lower == "host"
            || lower == "content-length"
            || lower == "content-type"
            || lower.starts_with("x-amz-")
            || lower.starts_with("x-vault-");
        let value = match values.as_slice() {
            [value] => value.clone(),
            _ if single || values.is_empty() => {
                return Err(denied(format!(
                    "header {name} must have exactly one value (has {})",
                    values.len()
                )));
            }
            many => many.iter().map(|v| v.trim()).collect::<Vec<_>>().join(","),
        };
        if !valid_header_value(&value) {
            return Err(denied(format!("header {name} has control characters")));
        }
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            return Err(denied(format!("header {name} is not allowed in a proof")));
        }
        if lower.starts_with("x-amz-") && !ALLOWED_AMZ_HEADERS.contains(&lower.as_str()) {
            return Err(denied(format!(
                "header {name} is not an allowed X-Amz-* header"
            )));
        }
        headers.push((lower, value));
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };

    let auth = get("authorization").ok_or_else(|| denied("proof has no Authorization header"))?;
    let auth = parse_authorization(auth)?;
    let amz_date = get("x-amz-date").ok_or_else(|| denied("proof has no X-Amz-Date header"))?;
    // SigV4 takes the time from Date when X-Amz-Date is not signed: an unsigned
    // X-Amz-Date says nothing about when the signature was made.
    if !auth.signed_headers.iter().any(|h| h == "x-amz-date") {
        return Err(denied("X-Amz-Date is not among the signed headers")
            .hint("the signing time must be signed; sign with an AWS SDK or sign-login"));
    }
    let signed_at = check_date(amz_date, now, policy.max_skew)?;
    check_scope(&auth.scope_date, &auth.service, amz_date)?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(denied("host is not among the signed headers"));
    }
    let host_header = match get("host") {
        Some(host)
            if host.eq_ignore_ascii_case(&url.signed_host)
                || host.eq_ignore_ascii_case(&url.authority) =>
        {
            host.to_string()
        }
        Some(host) => {
            return Err(denied(format!(
                "Host header `{host}` differs from the URL's host `{}`",
                url.authority
            )));
        }
        None => url.signed_host.clone(),
    };
    if let Some(len) = get("content-length")
        && (len.is_empty()
            || !len.bytes().all(|b| b.is_ascii_digit())
            || len.parse::<usize>().ok() != Some(req.body.len()))
    {
        return Err(denied("Content-Length does not match the body"));
    }
    if let Some(expected) = &policy.server_id {
        let lower = SERVER_ID_HEADER.to_ascii_lowercase();
        match get(&lower) {
            None => {
                return Err(denied(format!("proof has no {SERVER_ID_HEADER} header"))
                    .hint(format!("sign with `sign-login --server-id {expected}`")));
            }
            Some(v) if v != expected => {
                return Err(denied(format!(
                    "{SERVER_ID_HEADER} is `{v}`, not this server's ID"
                )));
            }
            Some(_) => {}
        }
        if !auth.signed_headers.contains(&lower) {
            return Err(denied(format!(
                "{SERVER_ID_HEADER} is not among the signed headers"
            )));
        }
    }
    // Host and Content-Length are what HTTP itself sends for this URL and body, so a
    // signer may sign them without listing them (Go's http.Header never holds them).
    for h in &auth.signed_headers {
        if h != "host" && h != "content-length" && get(h).is_none() {
            return Err(denied(format!(
                "signed header {h} is missing from the proof"
            )));
        }
    }
    // Forward what the signature covers, plus what STS needs to read the request.
    let forwarded = headers
        .into_iter()
        .filter(|(k, _)| {
            k != "host"
                && k != "content-length"
                && (k == "authorization"
                    || k == "content-type"
                    || k == "x-amz-security-token"
                    || auth.signed_headers.contains(k))
        })
        .collect();
    Ok(Outgoing {
        method: http::Method::POST,
        scheme: url.scheme.to_string(),
        connect: url.authority.clone(),
        host_header,
        path_and_query: url.path.to_string(),
        headers: forwarded,
        body: req.body.clone(),
        presigned: false,
        signature: auth.signature,
        signed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_hosts() {
        for good in [
            "sts.amazonaws.com",
            "sts.us-west-2.amazonaws.com",
            "sts-fips.us-east-1.amazonaws.com",
            "sts.cn-north-1.amazonaws.com.cn",
            "sts.us-gov-west-1.amazonaws.com",
            "sts.us-east-1.api.aws",
            "sts-fips.us-east-1.api.aws",
            "sts.cn-north-1.api.amazonwebservices.com.cn",
        ] {
            assert!(is_sts_host(good), "{good}");
        }
        for bad in [
            "sts.amazonaws.com.",
            "evil.com",
            "sts.amazonaws.com.evil.com",
            "sts.evil.amazonaws.com",
            "sts.us-west-2.amazonaws.com.cn",
            "xsts.amazonaws.com",
            "sts..amazonaws.com",
            "s3.amazonaws.com",
            "sts.api.aws",
            "sts.cn-north-1.api.aws",
            "sts.us-east-1.api.aws.evil.com",
            "sts.us-east-1.api.amazonwebservices.com.cn",
            "sts-fips.cn-north-1.amazonaws.com.cn",
        ] {
            assert!(!is_sts_host(bad), "{bad}");
        }
    }

    #[test]
    fn host_and_port() {
        assert_eq!(Authority::split("[::1]").unwrap(), ("[::1]", None));
        assert_eq!(
            Authority::split("[::1]:8080").unwrap(),
            ("[::1]", Some(8080))
        );
        assert_eq!(
            Authority::split("sts.amazonaws.com:443").unwrap(),
            ("sts.amazonaws.com", Some(443))
        );
        assert!(Authority::split("[::1]x").is_err());
        assert!(Authority::split("a:b:c").is_err());
        assert!(Authority::split("a:").is_err());
        assert!(Authority::split("a:+80").is_err());
    }

    fn policy(allowed: &[&str]) -> Policy {
        Policy {
            server_id: Some("s".into()),
            max_skew: Duration::from_secs(300),
            allowed_hosts: allowed
                .iter()
                .map(|a| Authority::parse(a).unwrap())
                .collect(),
        }
    }

    /// Every combination of listed port, other port, bare host with and without the
    /// default port, and IPv6.
    #[test]
    fn allowlist_binds_the_port() {
        let cases: &[(&[&str], &str, Option<&str>)] = &[
            // (allowlist, URL, Some(signed host) when accepted)
            (
                &["127.0.0.1:4566"],
                "http://127.0.0.1:4566/",
                Some("127.0.0.1:4566"),
            ),
            (&["127.0.0.1:4566"], "http://127.0.0.1:6379/", None),
            (&["127.0.0.1:4566"], "http://127.0.0.1/", None),
            (&["127.0.0.1"], "http://127.0.0.1/", Some("127.0.0.1")),
            (&["127.0.0.1"], "http://127.0.0.1:80/", Some("127.0.0.1")),
            (&["127.0.0.1"], "http://127.0.0.1:6379/", None),
            (&["127.0.0.1"], "https://127.0.0.1:443/", Some("127.0.0.1")),
            (&["[::1]:8080"], "http://[::1]:8080/", Some("[::1]:8080")),
            (&["[::1]:8080"], "http://[::1]:8081/", None),
            (&["[::1]"], "http://[::1]/", Some("[::1]")),
            (&["[::1]"], "http://[::1]:8080/", None),
            (
                &["sts.internal"],
                "https://sts.internal/",
                Some("sts.internal"),
            ),
            (&["sts.internal"], "https://sts.internal:8443/", None),
            (
                &["sts.internal:8443"],
                "https://sts.internal:8443/",
                Some("sts.internal:8443"),
            ),
            (&["sts.internal:8443"], "http://sts.internal:8443/", None),
            (
                &[],
                "https://sts.amazonaws.com:443/",
                Some("sts.amazonaws.com"),
            ),
            (&[], "https://sts.amazonaws.com:8443/", None),
            (
                &["sts.amazonaws.com:8443"],
                "https://sts.amazonaws.com:8443/",
                Some("sts.amazonaws.com:8443"),
            ),
            (&[], "http://127.0.0.1:4566/", None),
        ];
        for (allowed, url, want) in cases {
            let got = check_url(url, &policy(allowed)).map(|u| u.signed_host);
            match (want, got) {
                (Some(w), Ok(g)) => assert_eq!(*w, g, "{allowed:?} {url}"),
                (None, Err(e)) => assert_eq!(e.code(), common::ExitCode::Denied, "{url}"),
                (w, g) => panic!("{allowed:?} {url}: wanted {w:?}, got {g:?}"),
            }
        }
    }

    const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

    /// A POST proof as a signer would send it, with `signed` as SignedHeaders and
    /// `headers` beside Authorization; the signature itself is never checked here.
    fn post(url: &str, signed: &str, headers: &[(&str, &str)], now: Timestamp) -> Decoded {
        let date = now.strftime("%Y%m%dT%H%M%SZ").to_string();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/sts/aws4_request, SignedHeaders={signed}, Signature={}",
            &date[..8],
            "0".repeat(64)
        );
        let mut list = vec![("Authorization".to_string(), vec![auth])];
        for (k, v) in headers {
            let v = if *v == "NOW" {
                date.clone()
            } else {
                v.to_string()
            };
            list.push((k.to_string(), vec![v]));
        }
        Decoded {
            format: Format::Vault,
            request: common::proof::SignedRequest {
                method: "POST".into(),
                url: url.into(),
                headers: list,
                body: BODY.as_bytes().to_vec(),
            },
            role: None,
            extra: None,
        }
    }

    fn now() -> Timestamp {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn run(d: &Decoded) -> Result<Outgoing> {
        check(d, &policy(&[]), now())
    }

    const SIGNED: &str = "content-type;host;x-amz-date;x-vault-aws-iam-server-id";
    const BASE: &[(&str, &str)] = &[
        ("X-Amz-Date", "NOW"),
        ("X-Vault-AWS-IAM-Server-ID", "s"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().chain(extra).copied().collect()
    }

    #[test]
    fn content_length_is_digits_only() {
        let url = "https://sts.amazonaws.com/";
        let signed = "content-length;content-type;host;x-amz-date;x-vault-aws-iam-server-id";
        assert!(
            run(&post(
                url,
                signed,
                &with(&[("Content-Length", "43")]),
                now()
            ))
            .is_ok()
        );
        for bad in ["+43", "043x", " 43", "", "42", "4.3e1"] {
            let err =
                run(&post(url, signed, &with(&[("Content-Length", bad)]), now())).expect_err(bad);
            assert!(
                err.to_string().contains("Content-Length does not match"),
                "{bad}: {err}"
            );
        }
    }

    /// Vault's Go helper signs content-length but its header map has none: HTTP sends
    /// the body's length, so the proof verifies as it does with Vault.
    #[test]
    fn signed_content_length_may_be_left_to_http() {
        let signed = "content-length;content-type;host;x-amz-date;x-vault-aws-iam-server-id";
        let out = run(&post("https://sts.amazonaws.com/", signed, BASE, now())).unwrap();
        assert!(out.headers.iter().all(|(k, _)| k != "content-length"));
        assert_eq!(out.body, BODY.as_bytes());
        let err = run(&post(
            "https://sts.amazonaws.com/",
            &format!("{signed};x-amz-security-token"),
            BASE,
            now(),
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("signed header x-amz-security-token is missing"),
            "{err}"
        );
    }

    /// The time checked must be the signed one: a signature over Date with a fresh,
    /// unsigned X-Amz-Date is refused, however fresh that header is.
    #[test]
    fn freshness_is_judged_on_the_signed_time() {
        let url = "https://sts.amazonaws.com/";
        let signed = "content-type;date;host;x-vault-aws-iam-server-id";
        let d = post(
            url,
            signed,
            &with(&[("Date", "Sun, 22 Nov 2026 08:00:00 GMT")]),
            now(),
        );
        let err = run(&d).unwrap_err();
        assert!(
            err.to_string()
                .contains("X-Amz-Date is not among the signed headers"),
            "{err}"
        );
        // The credential scope's date must agree with the signed time.
        let mut d = post(url, SIGNED, BASE, now());
        let (_, v) = d
            .request
            .headers
            .iter_mut()
            .find(|(k, _)| k == "Authorization")
            .unwrap();
        v[0] = v[0].replace("/20261122/", "/20261121/");
        assert!(
            run(&d)
                .unwrap_err()
                .to_string()
                .contains("credential scope date")
        );
    }

    #[test]
    fn sdk_headers_and_endpoints_real_clients_use() {
        let signed = "content-type;host;x-amz-date;x-amz-user-agent;x-vault-aws-iam-server-id";
        let d = post(
            "https://sts.us-west-2.api.aws/",
            signed,
            &with(&[("X-Amz-User-Agent", "aws-sdk-js/3.700.0")]),
            now(),
        );
        let out = run(&d).unwrap();
        assert!(out.headers.iter().any(|(k, _)| k == "x-amz-user-agent"));
        assert_eq!(out.host_header, "sts.us-west-2.api.aws");
        // An explicit default port: connect as written, send the Host that was signed.
        let out = run(&post("https://sts.amazonaws.com:443/", SIGNED, BASE, now())).unwrap();
        assert_eq!(
            (out.connect.as_str(), out.host_header.as_str()),
            ("sts.amazonaws.com:443", "sts.amazonaws.com")
        );
        let d = post(
            "https://sts.amazonaws.com:443/",
            SIGNED,
            &with(&[("Host", "sts.amazonaws.com:443")]),
            now(),
        );
        assert_eq!(run(&d).unwrap().host_header, "sts.amazonaws.com:443");
    }

    #[test]
    fn loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.9.9.9"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("localhost.evil.com"));
    }

    #[test]
    fn forms_refuse_case_duplicates() {
        assert!(form_pairs("b", "Action=GetCallerIdentity&action=x").is_err());
        assert!(form_pairs("b", "Action=GetCallerIdentity&&Version=1").is_err());
        assert!(form_pairs("b", "Action=GetCallerIdentity&Version=2011-06-15").is_ok());
    }

    #[test]
    fn dates() {
        let now: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let skew = Duration::from_secs(300);
        assert!(check_date("20261122T095600Z", now, skew).is_ok());
        assert!(check_date("20261122T095400Z", now, skew).is_err());
        assert!(check_date("20261122T100600Z", now, skew).is_err());
        assert!(check_date("2026-11-22T10:00:00Z", now, skew).is_err());
        assert!(check_date("20261122T100000ZZ", now, skew).is_err());
    }

    #[test]
    fn authorization_parsing() {
        let sig = "a".repeat(64);
        let ok = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/sts/aws4_request,  SignedHeaders=host;x-amz-date, Signature={sig}"
        );
        let a = parse_authorization(&ok).unwrap();
        assert_eq!(a.service, "sts");
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        assert!(parse_authorization(&ok.replace("sts/", "s3/")).is_ok());
        // The scope names a date and a service, as SigV4 writes them.
        for bad in ["//", "/STS/", "/s t/"] {
            assert!(
                parse_authorization(&ok.replace("/sts/", bad)).is_err(),
                "{bad}"
            );
        }
        for bad in ["/2026112/", "/2026-11-2/", "//"] {
            assert!(
                parse_authorization(&ok.replace("/20261122/", bad)).is_err(),
                "{bad}"
            );
        }
        assert!(parse_authorization(&format!("{ok}, Signature={sig}")).is_err());
        assert!(parse_authorization("Basic abc").is_err());
        assert!(parse_authorization(&ok.replace(&sig, "zz")).is_err());
    }
}
