//! The fuzz targets' entry points, shared by `cargo fuzz` (tests/fuzz, nightly) and by
//! the stable test that replays the committed corpus (tests/tests/fuzz_corpus.rs).
//!
//! Each target feeds untrusted bytes to the code that parses them and asserts what must
//! hold of anything accepted, not only that nothing panics: a proof that passes the
//! local checks asks for exactly one GetCallerIdentity, carries this server's ID signed
//! and names an allowlisted authority; an accepted STS answer names one principal whose
//! ARN belongs to the answer's account.

use std::path::Path;
use std::time::Duration;

use common::config::{Authority, Endpoint};
use common::proof::{EKS_CLUSTER_HEADER, Format};
use jiff::Timestamp;
use verify_login::checks::{self, Policy};

/// Every target, by name (each has `tests/fuzz/fuzz_targets/NAME.rs` and a corpus).
pub const TARGETS: &[&str] = &[
    "proof",
    "sts_answer",
    "identity_doc",
    "lease_ids",
    "config",
    "sigv4_auth",
];

pub const SERVER_ID: &str = "broker.test";

/// Runs one input through one target; panics when an invariant is broken.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "proof" => proof(data),
        "sts_answer" => sts_answer(data),
        "identity_doc" => identity_doc(data),
        "lease_ids" => lease_ids(data),
        "config" => config(data),
        "sigv4_auth" => sigv4_auth(data),
        other => panic!("no fuzz target {other}"),
    }
}

fn policy() -> Policy {
    Policy {
        server_id: Some(SERVER_ID.to_string()),
        max_skew: Duration::from_secs(300),
        allowed_hosts: ["127.0.0.1:4566", "sts.internal.example", "[::1]:8080"]
            .iter()
            .map(|a| Authority::parse(a).expect("a valid authority"))
            .collect(),
    }
}

/// The X-Amz-Date a proof names (header or presigned query), to check it at a time
/// when its date passes and the checks behind it are reached too.
fn claimed_time(decoded: &common::proof::Decoded) -> Option<Timestamp> {
    let req = &decoded.request;
    let value = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| {
            let query = req.url.split_once('?')?.1;
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "X-Amz-Date")
                .map(|(_, v)| v.into_owned())
        })?;
    let t = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", &value).ok()?;
    Some(
        t.to_datetime()
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp(),
    )
}

fn form(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn proof(data: &[u8]) {
    let Ok(decoded) = common::proof::decode(data) else {
        return;
    };
    let fixed: Timestamp = "2026-11-22T10:00:00Z".parse().expect("a timestamp");
    let policy = policy();
    for now in [Some(fixed), claimed_time(&decoded)].into_iter().flatten() {
        let Ok(out) = checks::check(&decoded, &policy, now) else {
            continue;
        };
        // The authority is a real STS endpoint on its default port, or listed.
        let (host, port) = Authority::split(&out.connect).expect("an accepted authority parses");
        let default = if out.scheme == "https" { 443 } else { 80 };
        let sts = checks::is_sts_host(host) && port.unwrap_or(default) == default;
        let listed = policy
            .allowed_hosts
            .iter()
            .any(|a| a.admits(host, port, default));
        assert!(
            sts || listed,
            "accepted an unlisted authority {}",
            out.connect
        );
        assert!(out.scheme == "https" || (listed && common::config::is_loopback(host)));
        // The Host sent is the signed one, and it names the same authority.
        let (signed_host, signed_port) =
            Authority::split(&out.host_header).expect("the signed Host parses");
        assert!(
            signed_host.eq_ignore_ascii_case(host),
            "Host {signed_host} for {host}"
        );
        assert_eq!(signed_port.unwrap_or(default), port.unwrap_or(default));
        // The time checked is the signed time, within max_skew of now.
        let skew = (now.as_second() - out.signed_at.as_second()).unsigned_abs();
        assert!(
            skew <= policy.max_skew.as_secs(),
            "signed {} checked at {now}",
            out.signed_at
        );
        // Exactly one Action, and it is GetCallerIdentity.
        let pairs = if out.presigned {
            let query = out.path_and_query.split_once('?').expect("a query").1;
            form(query)
        } else {
            form(std::str::from_utf8(&out.body).expect("an accepted body is UTF-8"))
        };
        let actions: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("action"))
            .collect();
        assert_eq!(actions.len(), 1, "{pairs:?}");
        assert_eq!(actions[0].1, "GetCallerIdentity");
        assert!(out.signature.len() == 64);
        if decoded.format == Format::Eks {
            let signed = pairs
                .iter()
                .find(|(k, _)| k == "X-Amz-SignedHeaders")
                .expect("signed headers");
            assert!(signed.1.split(';').any(|h| h == EKS_CLUSTER_HEADER));
        } else {
            // Forwarded headers are the signed ones: the server ID and the date are.
            let has = |name: &str| out.headers.iter().any(|(k, _)| k == name);
            assert!(
                out.headers
                    .iter()
                    .any(|(k, v)| k == "x-vault-aws-iam-server-id" && v == SERVER_ID)
            );
            assert!(has("x-amz-date") && has("authorization"));
            assert!(pairs.iter().all(|(k, _)| k == "Action" || k == "Version"));
        }
    }
}

fn sts_answer(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = match selector % 4 {
        0 => "text/xml",
        1 => "application/json",
        2 => "application/xml; charset=utf-8",
        _ => "text/html",
    };
    let presigned = selector & 4 != 0;
    let Ok(caller) = verify_login::answer::parse(body, Some(content_type), presigned) else {
        return;
    };
    assert!(!caller.arn.is_empty() && !caller.account.is_empty() && !caller.user_id.is_empty());
    if let Ok(id) = verify_login::identity::identity(&caller) {
        assert_eq!(id.account_id, caller.account);
        assert_eq!(id.arn, caller.arn);
        let parts: Vec<&str> = id.arn.splitn(6, ':').collect();
        assert_eq!(parts.len(), 6);
        assert_eq!(parts[4], id.account_id, "the ARN's account is the answer's");
        assert!(matches!(
            id.principal_type.as_str(),
            "user" | "assumed-role" | "role"
        ));
    }
}

fn identity_doc(data: &[u8]) {
    if let Ok(id) = common::broker::parse_identity(data) {
        let again = serde_json::to_vec(&id).expect("serializes");
        let back = common::broker::parse_identity(&again).expect("its own output parses");
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&id).unwrap()
        );
    }
}

fn lease_ids(data: &[u8]) {
    if let Ok(ids) = revoke_lease::lease_ids(data) {
        let lines = data
            .split(|b| *b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count();
        assert!(ids.len() <= lines);
        for id in ids {
            assert!(!id.is_empty() && !id.contains('\n') && id.trim() == id);
        }
    }
}

fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = common::config::parse(text, Path::new("fuzz.toml")) else {
        return;
    };
    assert!(c.login.max_skew() <= common::config::MAX_SKEW_LIMIT);
    assert!(!c.login.timeout().is_zero());
    for role in c.roles.values() {
        assert!(
            !(role.bound_account_ids.is_empty()
                && role.bound_principal_arns.is_empty()
                && role.bound_user_ids.is_empty()),
            "a role that binds no principal was accepted"
        );
    }
    if let Some(Endpoint { scheme, authority }) = &c.login.sts_endpoint {
        assert!(scheme == "https" || common::config::is_loopback(&authority.host));
    }
    for a in &c.login.allowed_sts_hosts {
        assert_eq!(a.host, a.host.to_ascii_lowercase());
        assert_eq!(Authority::parse(&a.to_string()).as_ref(), Ok(a));
    }
}

fn sigv4_auth(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = checks::parse_authorization(text) {
        assert_eq!(a.signature.len(), 64);
        assert!(a.signature.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!a.signed_headers.is_empty());
        assert!(a.signed_headers.iter().all(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
        assert!(!a.service.is_empty());
        assert!(a.scope_date.len() == 8 && a.scope_date.bytes().all(|b| b.is_ascii_digit()));
    }
}
