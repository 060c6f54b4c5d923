//! A corpus of hostile and malformed login proofs, each of which verify-login must
//! refuse *before it opens any connection*: the configured `sts_endpoint` is a local
//! listener that counts connections, and it must see none for the whole corpus.
//!
//! The proofs are made by signing a real one with fake keys and then editing it, so
//! their signatures are wrong; that does not matter, because nothing here may ever
//! reach a place where a signature is checked.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::docs::ErrorLine;
use common::proof::SignedRequest;
use serde_json::{Value, json};
use support::{Creds, SERVER_ID, set_header, tamper};

// ---------------------------------------------------------------------------------
// A listener that counts the connections made to it and closes each at once.

struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            drop(stream);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Listener {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far, after giving a just-made one time to be counted.
    fn count(&self) -> usize {
        std::thread::sleep(Duration::from_millis(30));
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------
// Configs and proofs.

fn config_with(login_extra: &str) -> PathBuf {
    support::config(&format!(
        r#"[login]
server_id = "{SERVER_ID}"
timeout = "2s"
max_skew = "5m"
{login_extra}

[roles.any]
bound_account_ids = ["{acct}"]
"#,
        acct = support::ACCOUNT
    ))
}

/// Every proof goes to the counting listener, and nothing is allowlisted.
fn config_to(listener: &Listener) -> PathBuf {
    config_with(&format!(
        "sts_endpoint = \"http://127.0.0.1:{}\"",
        listener.port
    ))
}

/// A freshly signed Vault-format proof for this server, with role `any`.
fn good() -> String {
    support::sign(&Creds::fake(), &["--server-id", SERVER_ID, "--role", "any"])
}

/// A freshly signed EKS ExecCredential for cluster `broker.test`.
fn good_eks() -> String {
    support::sign(&Creds::fake(), &["--format", "eks", "--cluster", SERVER_ID])
}

/// Edits the presigned URL inside an EKS token.
fn tamper_eks(proof: &str, edit: impl FnOnce(String) -> String) -> String {
    let mut v: Value = serde_json::from_str(proof).unwrap();
    let token = v["status"]["token"].as_str().unwrap();
    let encoded = token.strip_prefix("k8s-aws-v1.").expect("an EKS token");
    let url = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    let edited = edit(url);
    v["status"]["token"] = json!(format!("k8s-aws-v1.{}", URL_SAFE_NO_PAD.encode(edited)));
    v.to_string()
}

/// Edits the proof as a JSON document (its top-level fields).
fn tamper_json(proof: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut v: Value = serde_json::from_str(proof).unwrap();
    edit(v.as_object_mut().unwrap());
    v.to_string()
}

fn remove_header(req: &mut SignedRequest, name: &str) {
    let before = req.headers.len();
    req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    assert_eq!(
        before,
        req.headers.len() + 1,
        "the signed proof has one {name} header"
    );
}

/// Changes the SignedHeaders list of the Authorization header.
fn edit_signed_headers(req: &mut SignedRequest, edit: impl FnOnce(&str) -> String) {
    let auth = support::header(req, "Authorization");
    let start = auth.find("SignedHeaders=").unwrap() + "SignedHeaders=".len();
    let end = start + auth[start..].find(',').unwrap();
    let edited = format!(
        "{}{}{}",
        &auth[..start],
        edit(&auth[start..end]),
        &auth[end..]
    );
    set_header(req, "Authorization", &edited);
}

/// The value list of the Authorization header.
fn auth_values(req: &mut SignedRequest) -> &mut Vec<String> {
    &mut req
        .headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case("Authorization"))
        .unwrap()
        .1
}

fn amz_date(offset: jiff::SignedDuration) -> String {
    jiff::Timestamp::now()
        .checked_add(offset)
        .unwrap()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Deterministic junk bytes (no newline, so it is one oversized document).
fn junk(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match (x >> 32) as u8 {
                b'\n' => b'?',
                b => b,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The corpus.

/// One hostile input: what it is, the bytes on stdin, the exit code and a fragment of
/// the message verify-login must print on stderr.
struct Case {
    name: &'static str,
    stdin: Vec<u8>,
    code: i32,
    message: &'static str,
}

const DENIED: i32 = 77;
const BAD_INPUT: i32 = 65;

fn corpus() -> Vec<Case> {
    let g = good();
    let eks = good_eks();
    let p = |edit: &dyn Fn(&mut SignedRequest)| tamper(&g, |r| edit(r)).into_bytes();
    let url = |u: &'static str| p(&move |r| r.url = u.to_string());
    let body = |b: &'static str| p(&move |r| r.body = b.as_bytes().to_vec());
    let hdr = |n: &'static str, v: &'static str| p(&move |r| set_header(r, n, v));
    let without = |n: &'static str| p(&move |r| remove_header(r, n));
    let old = amz_date(jiff::SignedDuration::from_hours(-1));
    let future = amz_date(jiff::SignedDuration::from_hours(1));
    let expires = |to: &'static str| {
        tamper_eks(&eks, |u| {
            assert!(
                u.contains("X-Amz-Expires=60&"),
                "sign-login's EKS token expires in 60s: {u}"
            );
            u.replace("X-Amz-Expires=60&", &format!("X-Amz-Expires={to}&"))
        })
        .into_bytes()
    };
    let decoded = common::proof::decode(g.as_bytes()).unwrap().request;
    let vault_field = |field: &'static str, value: String| {
        tamper_json(&g, |o| {
            o.insert(field.into(), json!(value));
        })
        .into_bytes()
    };

    #[rustfmt::skip]
    let cases = vec![
        // name, how the proof is made, exit code, message fragment
        Case { name: "method GET on a POST proof", stdin: p(&|r| r.method = "GET".into()), code: DENIED, message: "request method must be POST" },
        Case { name: "method PUT", stdin: p(&|r| r.method = "PUT".into()), code: DENIED, message: "request method must be POST" },
        Case { name: "scheme http, host not allowlisted", stdin: url("http://sts.amazonaws.com/"), code: DENIED, message: "must be https" },
        Case { name: "scheme file", stdin: url("file://sts.amazonaws.com/"), code: DENIED, message: "scheme `file` is not https" },
        Case { name: "host evil.com", stdin: url("https://evil.com/"), code: DENIED, message: "host `evil.com` is not an STS endpoint" },
        Case { name: "host with a trailing dot", stdin: url("https://sts.amazonaws.com./"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "host [::1] not allowlisted", stdin: url("https://[::1]/"), code: DENIED, message: "request URL" },
        Case { name: "host sts.amazonaws.com.evil.com", stdin: url("https://sts.amazonaws.com.evil.com/"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "host is the metadata service", stdin: url("https://169.254.169.254/"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "host 127.0.0.1 not allowlisted", stdin: url("https://127.0.0.1/"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "host in upper case", stdin: url("https://STS.amazonaws.com/"), code: DENIED, message: "must be non-empty lower case" },
        Case { name: "userinfo in URL", stdin: url("https://user:pw@sts.amazonaws.com/"), code: DENIED, message: "userinfo" },
        Case { name: "userinfo pointing elsewhere", stdin: url("https://sts.amazonaws.com@evil.com/"), code: DENIED, message: "userinfo" },
        Case { name: "odd port 8443", stdin: url("https://sts.amazonaws.com:8443/"), code: DENIED, message: "port 8443 is not the default port" },
        Case { name: "port that is not a number", stdin: url("https://sts.amazonaws.com:x/"), code: DENIED, message: "is not a port" },
        Case { name: "path /admin", stdin: url("https://sts.amazonaws.com/admin"), code: DENIED, message: "path must be /" },
        Case { name: "path with dot segments", stdin: url("https://sts.amazonaws.com/../"), code: DENIED, message: "path must be /" },
        Case { name: "fragment in URL", stdin: url("https://sts.amazonaws.com/#x"), code: DENIED, message: "fragment" },
        Case { name: "POST URL with a query", stdin: url("https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"), code: DENIED, message: "must have no query" },
        Case { name: "body Action=AssumeRole", stdin: body("Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/admin&RoleSessionName=x"), code: DENIED, message: "Action must be GetCallerIdentity (got `AssumeRole`)" },
        Case { name: "body without Action", stdin: body("Version=2011-06-15"), code: DENIED, message: "has no Action=GetCallerIdentity" },
        Case { name: "body with two Actions", stdin: body("Action=GetCallerIdentity&Action=GetCallerIdentity&Version=2011-06-15"), code: DENIED, message: "repeats the key `Action`" },
        Case { name: "body with an extra key", stdin: body("Action=GetCallerIdentity&Version=2011-06-15&DurationSeconds=43200"), code: DENIED, message: "has a key beyond Action and Version: `DurationSeconds`" },
        Case { name: "body keys differing only in case", stdin: body("Action=GetCallerIdentity&Version=2011-06-15&action=AssumeRole"), code: DENIED, message: "repeats the key `action`" },
        Case { name: "body key repeated via percent-encoding", stdin: body("Action=GetCallerIdentity&Version=2011-06-15&%41ction=AssumeRole"), code: DENIED, message: "repeats the key `Action`" },
        Case { name: "body with an empty field", stdin: body("Action=GetCallerIdentity&&Version=2011-06-15"), code: DENIED, message: "has an empty field" },
        Case { name: "body with wrong Version", stdin: body("Action=GetCallerIdentity&Version=2099-01-01"), code: DENIED, message: "Version must be 2011-06-15" },
        Case { name: "header X-Amz-Target", stdin: hdr("X-Amz-Target", "AWSSecurityTokenServiceV20110615.AssumeRole"), code: DENIED, message: "X-Amz-Target is not an allowed X-Amz-* header" },
        Case { name: "header Transfer-Encoding (smuggling)", stdin: hdr("Transfer-Encoding", "chunked"), code: DENIED, message: "Transfer-Encoding is not allowed in a proof" },
        Case { name: "header value with CRLF", stdin: hdr("X-Vault-AWS-IAM-Server-ID", "broker.test\r\nX-Injected: 1"), code: DENIED, message: "has control characters" },
        Case { name: "Host header differs from URL", stdin: hdr("Host", "evil.com"), code: DENIED, message: "differs from the URL's host" },
        Case { name: "Content-Length does not match the body", stdin: hdr("Content-Length", "4096"), code: DENIED, message: "Content-Length does not match the body" },
        Case { name: "server-ID header missing", stdin: without("X-Vault-AWS-IAM-Server-ID"), code: DENIED, message: "no X-Vault-AWS-IAM-Server-ID header" },
        Case { name: "server-ID wrong", stdin: hdr("X-Vault-AWS-IAM-Server-ID", "other.test"), code: DENIED, message: "is `other.test`, not this server's ID" },
        Case { name: "server-ID not in SignedHeaders", stdin: p(&|r| edit_signed_headers(r, |s| s.replace(";x-vault-aws-iam-server-id", ""))), code: DENIED, message: "X-Vault-AWS-IAM-Server-ID is not among the signed headers" },
        Case { name: "host not in SignedHeaders", stdin: p(&|r| edit_signed_headers(r, |s| s.replace(";host", ""))), code: DENIED, message: "host is not among the signed headers" },
        Case { name: "Authorization missing", stdin: without("Authorization"), code: DENIED, message: "no Authorization header" },
        Case { name: "Authorization twice (two JSON keys)", stdin: p(&|r| { let a = support::header(r, "Authorization"); r.headers.push(("authorization".into(), vec![a])); }), code: DENIED, message: "header authorization is repeated" },
        Case { name: "Authorization twice (the same JSON key)", stdin: p(&|r| { let a = support::header(r, "Authorization"); r.headers.push(("Authorization".into(), vec![a])); }), code: BAD_INPUT, message: "`Authorization` appears twice" },
        Case { name: "Authorization twice (list of two)", stdin: p(&|r| auth_values(r).push("AWS4-HMAC-SHA256 Credential=AKIAEVIL/20260101/us-east-1/sts/aws4_request".into())), code: DENIED, message: "Authorization must have exactly one value (has 2)" },
        Case { name: "Authorization empty list", stdin: p(&|r| auth_values(r).clear()), code: DENIED, message: "Authorization must have exactly one value (has 0)" },
        Case { name: "Authorization Basic", stdin: hdr("Authorization", "Basic dXNlcjpwYXNz"), code: DENIED, message: "Authorization is not AWS4-HMAC-SHA256" },
        Case { name: "Authorization garbled", stdin: hdr("Authorization", "AWS4-HMAC-SHA256 garbage"), code: DENIED, message: "not KEY=VALUE" },
        Case { name: "Authorization short signature", stdin: p(&|r| { let a = support::header(r, "Authorization"); let i = a.find("Signature=").unwrap(); set_header(r, "Authorization", &format!("{}Signature=abc", &a[..i])); }), code: DENIED, message: "Signature is not 64 hex digits" },
        Case { name: "Authorization signed for s3", stdin: p(&|r| { let a = support::header(r, "Authorization").replace("/sts/", "/s3/"); set_header(r, "Authorization", &a); }), code: DENIED, message: "signature is for service `s3`, not sts" },
        Case { name: "X-Amz-Date missing", stdin: without("X-Amz-Date"), code: DENIED, message: "no X-Amz-Date header" },
        Case { name: "X-Amz-Date malformed", stdin: hdr("X-Amz-Date", "2026-11-22T10:00:00Z"), code: DENIED, message: "is not a date like" },
        Case { name: "X-Amz-Date an hour old", stdin: p(&|r| set_header(r, "X-Amz-Date", &old)), code: DENIED, message: "is older than max_skew (300s)" },
        Case { name: "X-Amz-Date an hour ahead", stdin: p(&|r| set_header(r, "X-Amz-Date", &future)), code: DENIED, message: "is in the future beyond max_skew (300s)" },
        Case { name: "EKS X-Amz-Expires=3600", stdin: expires("3600"), code: DENIED, message: "X-Amz-Expires must be 0-900 (got 3600)" },
        Case { name: "EKS X-Amz-Expires=901", stdin: expires("901"), code: DENIED, message: "X-Amz-Expires must be 0-900 (got 901)" },
        Case { name: "EKS X-Amz-Expires=-1", stdin: expires("-1"), code: DENIED, message: "X-Amz-Expires is not a number" },
        Case { name: "EKS X-Amz-Expires given twice", stdin: tamper_eks(&eks, |u| u.replace("X-Amz-Expires=60&", "X-Amz-Expires=60&X-Amz-Expires=3600&")).into_bytes(), code: DENIED, message: "repeats the key `X-Amz-Expires`" },
        Case { name: "EKS x-amz-expires in another case", stdin: tamper_eks(&eks, |u| u.replace("X-Amz-Expires=60&", "X-Amz-Expires=60&x-amz-expires=3600&")).into_bytes(), code: DENIED, message: "repeats the key `x-amz-expires`" },
        Case { name: "EKS token with a body key beyond the allowlist", stdin: tamper_eks(&eks, |u| format!("{u}&RoleArn=x")).into_bytes(), code: DENIED, message: "has a key beyond Action and Version: `RoleArn`" },
        Case { name: "EKS token without x-k8s-aws-id signed", stdin: tamper_eks(&eks, |u| u.replace("host%3Bx-k8s-aws-id", "host")).into_bytes(), code: DENIED, message: "x-k8s-aws-id is not among the signed headers" },
        Case { name: "EKS token for evil.com", stdin: tamper_eks(&eks, |u| u.replace("https://sts.amazonaws.com/", "https://evil.com/")).into_bytes(), code: DENIED, message: "host `evil.com` is not an STS endpoint" },
        Case { name: "EKS token with Action=AssumeRole", stdin: tamper_eks(&eks, |u| u.replace("Action=GetCallerIdentity", "Action=AssumeRole")).into_bytes(), code: DENIED, message: "Action must be GetCallerIdentity" },
        Case { name: "Akeyless proof for evil.com", stdin: serde_json::to_vec(&common::proof::to_akeyless(&SignedRequest { url: "https://evil.com/".into(), ..decoded.clone() }, Some("any".into()), None)).unwrap(), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "oversized proof (> 64 KiB)", stdin: tamper_json(&g, |o| { o.insert("request".into(), json!({"pad": "x".repeat(70 * 1024)})); }).into_bytes(), code: BAD_INPUT, message: "proof is larger than 64 KiB" },
        Case { name: "8 MB of junk", stdin: junk(8 << 20), code: BAD_INPUT, message: "proof is larger than 64 KiB" },
        Case { name: "bad base64 in iam_request_url", stdin: vault_field("iam_request_url", "!!!not base64!!!".into()), code: BAD_INPUT, message: "iam_request_url: not valid base64" },
        Case { name: "bad base64 in iam_request_headers", stdin: vault_field("iam_request_headers", "e30".into()), code: BAD_INPUT, message: "iam_request_headers: not valid base64" },
        Case { name: "headers not a JSON object", stdin: vault_field("iam_request_headers", STANDARD.encode(r#"[["Authorization","x"]]"#)), code: BAD_INPUT, message: "iam_request_headers: not a JSON header object" },
        Case { name: "header value a number", stdin: vault_field("iam_request_headers", STANDARD.encode(r#"{"Authorization":1}"#)), code: BAD_INPUT, message: "not a JSON header object" },
        Case { name: "not JSON", stdin: b"this is not a proof".to_vec(), code: BAD_INPUT, message: "proof is not valid JSON" },
        Case { name: "truncated JSON", stdin: g.as_bytes()[..g.len() / 2].to_vec(), code: BAD_INPUT, message: "proof is not valid JSON" },
        Case { name: "JSON array", stdin: b"[]".to_vec(), code: BAD_INPUT, message: "proof must be a JSON object" },
        Case { name: "JSON object of no known format", stdin: br#"{"hello":"world"}"#.to_vec(), code: BAD_INPUT, message: "proof is in no known format" },
        Case { name: "empty stdin", stdin: Vec::new(), code: BAD_INPUT, message: "no proof on stdin" },
        Case { name: "only whitespace", stdin: b"  \n\n\t \n".to_vec(), code: BAD_INPUT, message: "no proof on stdin" },
        Case { name: "unknown top-level field", stdin: tamper_json(&g, |o| { o.insert("iam_server_id_header_value".into(), json!("broker.test")); }).into_bytes(), code: BAD_INPUT, message: "unknown field `iam_server_id_header_value`" },
        Case { name: "role given twice (last one would win)", stdin: g.replacen('{', r#"{"role":"admin","#, 1).into_bytes(), code: BAD_INPUT, message: "`role` appears twice" },
        Case { name: "request object with a repeated key", stdin: g.replacen('{', r#"{"request":{"secret_id":"ci/db","secret_id":"prod/db"},"#, 1).into_bytes(), code: BAD_INPUT, message: "`secret_id` appears twice" },
        Case { name: "Content-Length with a sign", stdin: p(&|r| set_header(r, "Content-Length", &format!("+{}", r.body.len()))), code: DENIED, message: "Content-Length does not match the body" },
        Case { name: "signed Date, unsigned fresh X-Amz-Date", stdin: p(&|r| { edit_signed_headers(r, |s| s.replace("x-amz-date", "date")); set_header(r, "Date", "Sun, 22 Nov 2026 08:00:00 GMT"); }), code: DENIED, message: "X-Amz-Date is not among the signed headers" },
        Case { name: "loopback port nobody allowlisted", stdin: url("http://127.0.0.1:6379/"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "dual-stack host of another partition", stdin: url("https://sts.cn-north-1.api.aws/"), code: DENIED, message: "is not an STS endpoint" },
        Case { name: "method field a number", stdin: tamper_json(&g, |o| { o.insert("iam_http_request_method".into(), json!(1)); }).into_bytes(), code: BAD_INPUT, message: "vault proof" },
    ];
    cases
}

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn corpus_is_refused_without_any_connection() {
    let listener = Listener::start();
    let config = config_to(&listener);
    let cases = corpus();
    assert!(cases.len() >= 25, "the corpus has {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let before = listener.count();
        let assert = support::verify(&config, case.stdin.clone());
        let out = assert.get_output();
        let stderr = stderr_of(&assert);
        let code = out.status.code();
        if code != Some(case.code) {
            failures.push(format!(
                "{}: exit code {code:?}, expected {}; stderr: {stderr}",
                case.name, case.code
            ));
        } else if !stderr.contains(case.message) {
            failures.push(format!(
                "{}: stderr lacks `{}`: {stderr}",
                case.name, case.message
            ));
        } else if !stderr.starts_with("verify-login: error: ") {
            failures.push(format!(
                "{}: stderr is not `verify-login: error: ...`: {stderr}",
                case.name
            ));
        }
        if !out.stdout.is_empty() {
            failures.push(format!(
                "{}: stdout is not empty: {}",
                case.name,
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let after = listener.count();
        if after != before {
            failures.push(format!(
                "{}: verify-login connected to the STS endpoint ({} connections)",
                case.name,
                after - before
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile proofs not refused as expected:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(listener.count(), 0, "no connection for the whole corpus");
}

/// The control for the corpus: the untampered proof does reach the listener, so a zero
/// count above means something.
#[test]
fn untampered_proof_does_connect() {
    let listener = Listener::start();
    let config = config_to(&listener);
    let assert = support::verify(&config, good()).code(69);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("cannot reach STS at 127.0.0.1:{}", listener.port)),
        "{stderr}"
    );
    assert!(
        listener.count() >= 1,
        "the good proof was forwarded to the listener"
    );
}

/// A proof naming a host the client chose (the listener itself) with no
/// `sts_endpoint`: refused, no connection. Once that host is allowlisted, a connection
/// is made, which shows this test can fail.
#[test]
fn client_chosen_host_is_never_contacted() {
    let listener = Listener::start();
    let authority = format!("127.0.0.1:{}", listener.port);
    let proof = tamper(&good(), |r| {
        r.url = format!("http://{authority}/");
        set_header(r, "Host", &authority);
    });

    let refusing = config_with("");
    let assert = support::verify(&refusing, proof.clone()).code(77);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("host `127.0.0.1` is not an STS endpoint"),
        "{stderr}"
    );
    assert_eq!(
        listener.count(),
        0,
        "verify-login connected to the host the proof named"
    );

    // A bare host admits its default port only, not the listener's.
    let bare = config_with(r#"allowed_sts_hosts = ["127.0.0.1"]"#);
    let assert = support::verify(&bare, proof.clone()).code(77);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("port {} is not the default port", listener.port)),
        "{stderr}"
    );
    assert_eq!(
        listener.count(),
        0,
        "a bare allowlisted host opened another port"
    );

    let allowing = config_with(&format!(r#"allowed_sts_hosts = ["{authority}"]"#));
    let assert = support::verify(&allowing, proof).code(69);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("cannot reach STS at {authority}")),
        "{stderr}"
    );
    assert!(
        listener.count() >= 1,
        "with the host allowlisted, the proof is sent there"
    );
}

/// An allowlisted IPv6 loopback host without a port is a host, not a port: the proof
/// passes the URL checks and is forwarded (here, to the counting listener). With an
/// explicit port (`[::1]:80`) it already is.
#[test]
fn allowlisted_ipv6_loopback_without_port_is_forwarded() {
    let listener = Listener::start();
    let config = config_with(&format!(
        "sts_endpoint = \"http://127.0.0.1:{}\"\nallowed_sts_hosts = [\"[::1]\"]",
        listener.port
    ));
    for (url, host) in [("http://[::1]:80/", "[::1]:80"), ("http://[::1]/", "[::1]")] {
        let before = listener.count();
        let proof = tamper(&good(), |r| {
            r.url = url.into();
            set_header(r, "Host", host);
        });
        let assert = support::verify(&config, proof);
        let stderr = stderr_of(&assert);
        assert_eq!(
            assert.get_output().status.code(),
            Some(69),
            "{url}: {stderr}"
        );
        assert!(
            listener.count() > before,
            "{url} was not forwarded: {stderr}"
        );
    }
}

/// `allowed_sts_hosts` binds host and port, also when `sts_endpoint` decides where
/// proofs go: a proof for an authority nobody listed is refused before any connection,
/// one for a listed authority is forwarded.
#[test]
fn allowlist_binds_host_and_port_with_sts_endpoint() {
    let listener = Listener::start();
    let port = listener.port;
    let cases: Vec<(String, String, bool)> = vec![
        // (allowlist entry, proof URL authority, forwarded?)
        ("127.0.0.1:4566".into(), "127.0.0.1:4566".into(), true),
        ("127.0.0.1:4566".into(), "127.0.0.1:6379".into(), false),
        ("127.0.0.1:4566".into(), "127.0.0.1".into(), false),
        ("127.0.0.1".into(), "127.0.0.1".into(), true),
        ("127.0.0.1".into(), "127.0.0.1:80".into(), true),
        ("127.0.0.1".into(), "127.0.0.1:6379".into(), false),
        ("[::1]:8200".into(), "[::1]:8200".into(), true),
        ("[::1]:8200".into(), "[::1]:8201".into(), false),
        ("[::1]".into(), "[::1]:8200".into(), false),
        ("localhost".into(), "localhost:6379".into(), false),
    ];
    for (entry, authority, forwarded) in cases {
        let config = config_with(&format!(
            "sts_endpoint = \"http://127.0.0.1:{port}\"\nallowed_sts_hosts = [\"{entry}\"]"
        ));
        let proof = tamper(&good(), |r| {
            r.url = format!("http://{authority}/");
            set_header(r, "Host", &authority);
        });
        let before = listener.count();
        let assert = support::verify(&config, proof);
        let stderr = stderr_of(&assert);
        let code = assert.get_output().status.code();
        let connected = listener.count() > before;
        if forwarded {
            assert_eq!(code, Some(69), "{entry} / {authority}: {stderr}");
            assert!(
                connected,
                "{entry} / {authority} was not forwarded: {stderr}"
            );
        } else {
            assert_eq!(code, Some(77), "{entry} / {authority}: {stderr}");
            assert!(
                stderr.contains("is not the default port")
                    || stderr.contains("not an allowlisted authority"),
                "{entry} / {authority}: {stderr}"
            );
            assert!(!connected, "{entry} / {authority} reached the listener");
        }
    }
}

/// Writing an authority with its port is how an entry names a port; anything else
/// there (a URL, a path, a bad port) is a config error naming the line.
#[test]
fn allowlist_entries_that_are_not_authorities_are_config_errors() {
    for bad in [
        "http://127.0.0.1:4566",
        "127.0.0.1:http",
        "127.0.0.1:70000",
        "sts.example/",
    ] {
        let config = config_with(&format!("allowed_sts_hosts = [\"{bad}\"]"));
        let assert = support::verify(&config, good()).code(78);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains("allowed_sts_hosts"), "{bad}: {stderr}");
    }
}

/// An allowlisted non-loopback host still needs https.
#[test]
fn allowlisted_host_over_http_is_refused_unless_loopback() {
    let listener = Listener::start();
    let config = support::config(&format!(
        r#"[login]
server_id = "{SERVER_ID}"
sts_endpoint = "http://127.0.0.1:{}"
timeout = "2s"
allowed_sts_hosts = ["sts.internal.example"]

[roles.any]
bound_account_ids = ["123456789012"]
"#,
        listener.port
    ));
    let proof = tamper(&good(), |r| {
        r.url = "http://sts.internal.example/".into();
        set_header(r, "Host", "sts.internal.example");
    });
    let assert = support::verify(&config, proof).code(77);
    assert!(
        stderr_of(&assert).contains("must be https"),
        "{}",
        stderr_of(&assert)
    );
    assert_eq!(listener.count(), 0);
}

/// Several proofs as NDJSON: one error line per proof, in input order, and the exit
/// code of the most serious failure.
#[test]
fn batch_gives_one_line_per_proof_in_order() {
    let listener = Listener::start();
    let config = config_to(&listener);
    let g = good();
    let inputs: Vec<(String, u8, &str)> = vec![
        (
            tamper(&g, |r| {
                set_header(r, "X-Vault-AWS-IAM-Server-ID", "other.test")
            }),
            77,
            "not this server's ID",
        ),
        ("not json at all".to_string(), 65, "proof is not valid JSON"),
        (
            tamper(&g, |r| r.url = "https://evil.com/".into()),
            77,
            "is not an STS endpoint",
        ),
        (
            tamper_json(&g, |o| {
                o.insert("iam_request_body".into(), json!("%%%"));
            }),
            65,
            "iam_request_body: not valid base64",
        ),
        (
            tamper(&g, |r| {
                r.body = b"Action=AssumeRole&Version=2011-06-15".to_vec()
            }),
            77,
            "Action must be GetCallerIdentity",
        ),
        (
            tamper_json(&g, |o| {
                o.insert("surprise".into(), json!(true));
            }),
            65,
            "unknown field `surprise`",
        ),
        (
            tamper(&g, |r| remove_header(r, "Authorization")),
            77,
            "no Authorization header",
        ),
    ];
    let stdin: String = inputs.iter().map(|(p, _, _)| format!("{p}\n\n")).collect();

    let assert = support::verify(&config, stdin).code(77);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let stderr = stderr_of(&assert);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), inputs.len(), "one line per proof: {stdout}");
    for (i, (line, (_, code, message))) in lines.iter().zip(&inputs).enumerate() {
        let parsed: ErrorLine = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {}: not an error line ({e}): {line}", i + 1));
        assert_eq!(parsed.error.code, *code, "line {}: {line}", i + 1);
        assert!(
            parsed.error.message.contains(message),
            "line {}: `{}` lacks `{message}`",
            i + 1,
            parsed.error.message
        );
        assert!(
            stderr.contains(&format!("verify-login: error: proof {}: ", i + 1)),
            "stderr names proof {}: {stderr}",
            i + 1
        );
    }
    assert_eq!(listener.count(), 0, "no proof of the batch was forwarded");

    // Only bad documents: the batch exits 65.
    let stdin = format!(
        "{}\n[]\n{}\n",
        "garbage",
        tamper_json(&g, |o| {
            o.remove("iam_request_url");
        })
    );
    let assert = support::verify(&config, stdin).code(65);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let codes: Vec<u8> = stdout
        .lines()
        .map(|l| serde_json::from_str::<ErrorLine>(l).unwrap().error.code)
        .collect();
    assert_eq!(codes, [65, 65, 65], "{stdout}");
    assert_eq!(listener.count(), 0);
}

/// The listener really is reachable (guards the zero-count assertions above against a
/// listener that silently died).
#[test]
fn listener_counts_connections() {
    let listener = Listener::start();
    drop(TcpStream::connect(("127.0.0.1", listener.port)).unwrap());
    assert_eq!(listener.count(), 1);
}

// ---------------------------------------------------------------------------------
// The attack classes the peers fixed, each re-signed with a valid signature (botocore,
// over the edited request) wherever the attack needs one, so that only verify-login's
// own checks can refuse them. The source of each is in its name.

/// A proof botocore signs over exactly this request.
fn signed(edit: serde_json::Value) -> String {
    let mut req = edit;
    req["op"] = json!("botocore");
    req["creds"] = Creds::fake().to_json();
    if req.get("server_id").is_none() {
        req["server_id"] = json!(SERVER_ID);
    }
    let mut v = support::moto().call(req);
    v["role"] = json!("any");
    v.to_string()
}

#[test]
fn the_peers_attack_classes_are_refused_before_any_connection() {
    let listener = Listener::start();
    let config = config_to(&listener);
    let eks = good_eks();
    let g = good();
    #[rustfmt::skip]
    let cases: Vec<(&str, String, i32, &str)> = vec![
        // Vault CVE-2020-16250/16251 (hashicorp/vault#9825): another action in the URL
        // query of a POST, or beside GetCallerIdentity in the body; an X-Amz-* header
        // of the attacker's ("Map-illegal-header" in its tests); the server-ID header
        // missing or unsigned.
        ("vault#9825: Action=AssumeRole in the POST URL query", signed(json!({"url": "https://sts.amazonaws.com/?Action=AssumeRole&RoleArn=x"})), DENIED, "must have no query"),
        ("vault#9825: a body key beyond Action and Version", signed(json!({"body": "Action=GetCallerIdentity&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/x"})), DENIED, "has a key beyond Action and Version"),
        ("vault#9825: body Action=AssumeRole", signed(json!({"body": "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y"})), DENIED, "Action must be GetCallerIdentity"),
        ("vault#9825: X-Amz-Mallory-Header signed", signed(json!({"sign_headers": {"X-Amz-Mallory-Header": "<?xml><h4ck0r/>"}})), DENIED, "is not an allowed X-Amz-* header"),
        ("vault#9825: server-ID header absent", signed(json!({"server_id": null})), DENIED, "no X-Vault-AWS-IAM-Server-ID header"),
        ("vault#9825: server-ID header unsigned", signed(json!({"server_id": null, "unsigned": {"X-Vault-AWS-IAM-Server-ID": SERVER_ID}})), DENIED, "is not among the signed headers"),
        // Vault's validateVaultHeaderValue joins repeated values with "," and reads
        // SignedHeaders with a greedy regex, so the last of two wins.
        ("vault: server-ID given as two values", tamper(&g, |r| { let v = support::header(r, "X-Vault-AWS-IAM-Server-ID"); set_header(r, "X-Vault-AWS-IAM-Server-ID", &v); r.headers.iter_mut().find(|(k, _)| k == "X-Vault-AWS-IAM-Server-ID").unwrap().1.push(v); }), DENIED, "must have exactly one value (has 2)"),
        ("vault: two SignedHeaders in Authorization (greedy regex)", tamper(&g, |r| { let a = support::header(r, "Authorization").replace("SignedHeaders=", "SignedHeaders=host;x-amz-date, SignedHeaders="); set_header(r, "Authorization", &a); }), DENIED, "Authorization repeats `SignedHeaders`"),
        // Not an attack: Vault has accepted signed GETs since vault#10961. verify-login
        // takes GET only as a presigned EKS token, and refuses it before any connection
        // in Vault's format (a known difference, in the README).
        ("Vault-format signed GET (accepted by Vault since vault#10961)", signed(json!({"method": "GET", "url": "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", "body": ""})), DENIED, "request method must be POST"),
        // aws-iam-authenticator CVE-2022-2385 (kubernetes-sigs/aws-iam-authenticator#469):
        // a second X-Amz-Credential differing only in case, read by the verifier while
        // STS reads the first; and its other pre-STS checks.
        ("iam-authenticator CVE-2022-2385: x-amz-credential twice", tamper_eks(&eks, |u| u.replace("X-Amz-Credential=", "x-amz-credential=AKIAEVIL%2F20261122%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Credential=")), DENIED, "repeats the key"),
        ("iam-authenticator: token longer than 4096 bytes", tamper_eks(&eks, |u| format!("{u}&X-Amz-Security-Token={}", "A".repeat(5000))), DENIED, "longer than 4096 bytes"),
        ("iam-authenticator: path other than /", tamper_eks(&eks, |u| u.replace("amazonaws.com/?", "amazonaws.com/x?")), DENIED, "path must be /"),
        ("iam-authenticator: scheme http", tamper_eks(&eks, |u| u.replace("https://", "http://")), DENIED, "must be https"),
        ("iam-authenticator: host of another partition", tamper_eks(&eks, |u| u.replace("sts.amazonaws.com", "sts.cn-north-1.api.aws")), DENIED, "is not an STS endpoint"),
        ("iam-authenticator: host with a port", tamper_eks(&eks, |u| u.replace("sts.amazonaws.com/", "sts.amazonaws.com:8443/")), DENIED, "is not the default port"),
        ("iam-authenticator: no Action", tamper_eks(&eks, |u| u.replace("Action=GetCallerIdentity&", "")), DENIED, "has no Action=GetCallerIdentity"),
        // Its token-shape checks (pkg/token: the prefix, base64url, the cluster ID header
        // signed).
        ("iam-authenticator: token without the k8s-aws-v1. prefix", tamper_json(&eks, |m| { let t = m["status"]["token"].as_str().unwrap().replacen("k8s-aws-v1.", "k8s-aws-v2.", 1); m.get_mut("status").unwrap()["token"] = json!(t); }), BAD_INPUT, "must start with k8s-aws-v1."),
        ("iam-authenticator: token in standard base64", tamper_json(&eks, |m| { m.get_mut("status").unwrap()["token"] = json!("k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1h+/+/"); }), BAD_INPUT, "not valid base64url"),
        ("iam-authenticator: empty token", tamper_json(&eks, |m| { m.get_mut("status").unwrap()["token"] = json!("k8s-aws-v1."); }), DENIED, "not an absolute URL"),
        ("iam-authenticator: x-k8s-aws-id not signed", tamper_eks(&eks, |u| u.replace("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id", "X-Amz-SignedHeaders=host")), DENIED, "x-k8s-aws-id"),
        // Teleport's IAM join (lib/auth/join_iam.go): the body must be exactly the one
        // request; the host one of the STS endpoints; the challenge header signed.
        ("teleport: a trailing & in the body", signed(json!({"body": "Action=GetCallerIdentity&Version=2011-06-15&"})), DENIED, "has an empty field"),
        ("teleport: Version missing", signed(json!({"body": "Action=GetCallerIdentity"})), DENIED, "has no Version"),
        ("teleport: wrong sts host", signed(json!({"url": "https://sts.amazonaws.com.evil.example/"})), DENIED, "is not an STS endpoint"),
        // Routing the request elsewhere through headers that were signed.
        ("Host of another region than the URL, signed", signed(json!({"sign_headers": {"Host": "sts.us-west-2.amazonaws.com"}})), DENIED, "differs from the URL's host"),
        ("X-Forwarded-Host signed", signed(json!({"sign_headers": {"X-Forwarded-Host": "evil.example"}})), DENIED, "is not allowed in a proof"),
    ];
    let mut failures = Vec::new();
    for (name, stdin, code, message) in &cases {
        let before = listener.count();
        let assert = support::verify(&config, stdin.clone());
        let stderr = stderr_of(&assert);
        if assert.get_output().status.code() != Some(*code) || !stderr.contains(message) {
            failures.push(format!(
                "{name}: {:?} {stderr}",
                assert.get_output().status.code()
            ));
        }
        if listener.count() != before {
            failures.push(format!("{name}: a connection was made"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
