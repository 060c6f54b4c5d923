//! verify-login against a fake STS that answers whatever the test crafts: a
//! well-formed answer is accepted and the forwarded request is checked; every crafted
//! answer (two results, garbage, wrong content types, redirects, 5xx, throttling, a
//! slow or huge answer, entity expansion, odd ARNs, AWS errors) is refused with the
//! right exit code, within the timeout.
//!
//! The fake checks no signature, so proofs signed with `Creds::fake()` are fine here;
//! the real signature path is tested against moto elsewhere.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use support::{ACCOUNT, Creds, SERVER_ID};

// ---------------------------------------------------------------------------------
// The fake STS.

/// A request as the fake received it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the fake does with a request.
#[derive(Clone)]
enum Reply {
    /// Writes these bytes; keeps the connection open for more requests.
    Raw(Vec<u8>),
    /// Writes these bytes, then `len` bytes of filler (as fast as the peer reads,
    /// stopping when it goes away), then closes.
    Endless {
        head: Vec<u8>,
        chunked: bool,
        len: usize,
    },
    /// Waits this long (or until the fake is stopped), then answers.
    Slow(Duration, Vec<u8>),
    /// Writes these bytes one at a time, 100 ms apart (a slow-loris answer).
    Drip(Vec<u8>),
}

struct FakeSts {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeSts {
    /// Starts a fake that gives `reply` to every request.
    fn start(reply: Reply) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (connections, requests, stop) =
                (connections.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            connections.fetch_add(1, Ordering::SeqCst);
                            let (requests, stop, reply) =
                                (requests.clone(), stop.clone(), reply.clone());
                            // Handlers are not joined: each ends when its peer goes away
                            // or the fake is stopped.
                            std::thread::spawn(move || serve(stream, &reply, &requests, &stop));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        FakeSts {
            port,
            connections,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Seen> {
        self.requests.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeSts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves requests on one connection until the peer closes it or the fake stops.
fn serve(mut stream: TcpStream, reply: &Reply, requests: &Mutex<Vec<Seen>>, stop: &AtomicBool) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = Vec::new();
    loop {
        let Some(seen) = read_request(&mut stream, &mut buf, stop) else {
            return;
        };
        requests.lock().unwrap().push(seen);
        match reply {
            Reply::Raw(bytes) => {
                if stream.write_all(bytes).is_err() {
                    return;
                }
            }
            Reply::Slow(wait, bytes) => {
                let until = Instant::now() + *wait;
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                if stream.write_all(bytes).is_err() {
                    return;
                }
            }
            Reply::Drip(bytes) => {
                for b in bytes {
                    if stop.load(Ordering::SeqCst) || stream.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            Reply::Endless { head, chunked, len } => {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                if stream.write_all(head).is_err() {
                    return;
                }
                let block = vec![b'A'; 64 * 1024];
                let mut sent = 0;
                while sent < *len && !stop.load(Ordering::SeqCst) {
                    let ok = if *chunked {
                        stream
                            .write_all(format!("{:x}\r\n", block.len()).as_bytes())
                            .is_ok()
                            && stream.write_all(&block).is_ok()
                            && stream.write_all(b"\r\n").is_ok()
                    } else {
                        stream.write_all(&block).is_ok()
                    };
                    if !ok {
                        return;
                    }
                    sent += block.len();
                }
                if *chunked {
                    let _ = stream.write_all(b"0\r\n\r\n");
                }
                return;
            }
        }
    }
}

/// Reads one HTTP/1.1 request (head up to the blank line, then Content-Length bytes).
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, stop: &AtomicBool) -> Option<Seen> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or_default().split(' ');
    let method = start.next().unwrap_or_default().to_string();
    let target = start.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

/// A raw HTTP/1.1 response with a correct Content-Length.
fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn xml(status: &str, body: &str) -> Reply {
    Reply::Raw(http(
        status,
        &[("Content-Type", "text/xml")],
        body.as_bytes(),
    ))
}

/// STS's answer naming this caller.
fn answer(arn: &str, user_id: &str, account: &str) -> String {
    format!(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>{arn}</Arn>
    <UserId>{user_id}</UserId>
    <Account>{account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
"#
    )
}

const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

fn good_answer() -> String {
    answer(ALICE, "AIDAEXAMPLE", ACCOUNT)
}

fn aws_error(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
</ErrorResponse>
"#
    )
}

// ---------------------------------------------------------------------------------
// Running verify-login.

fn config(endpoint: &str) -> PathBuf {
    support::config(&format!(
        r#"[login]
server_id = "{SERVER_ID}"
sts_endpoint = "{endpoint}"
timeout = "2s"
max_skew = "5m"

[roles.any]
bound_account_ids = ["{ACCOUNT}"]

[roles.alice]
bound_account_ids = ["{ACCOUNT}"]
bound_user_ids = ["AIDAEXAMPLE"]
"#
    ))
}

fn proof() -> String {
    support::sign(&Creds::fake(), &["--server-id", SERVER_ID, "--role", "any"])
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn run(endpoint: &str, stdin: &str) -> Run {
    let config = config(endpoint);
    let started = Instant::now();
    let assert = support::bin("verify-login")
        .arg("--config")
        .arg(&config)
        .timeout(Duration::from_secs(20))
        .write_stdin(stdin)
        .assert();
    let elapsed = started.elapsed();
    let out = assert.get_output();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    }
}

/// The longest a refusal may take with `timeout = "2s"`.
const PROMPT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------
// Accepted answers.

#[test]
fn well_formed_answer_is_accepted_and_request_forwarded_as_signed() {
    let sts = FakeSts::start(xml("200 OK", &good_answer()));
    let proof = proof();
    let config = config(&sts.endpoint());
    let assert = support::verify(&config, proof.clone()).code(0);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let v = support::parse_identity(stdout.trim_end());
    assert_eq!(v.role, "any");
    assert_eq!(v.identity.arn, ALICE);
    assert_eq!(v.identity.canonical_arn, ALICE);
    assert_eq!(v.identity.account_id, ACCOUNT);
    assert_eq!(v.identity.user_id, "AIDAEXAMPLE");
    assert_eq!(v.identity.principal_type, "user");
    assert_eq!(v.identity.principal_name, "alice");

    let seen = sts.requests();
    assert_eq!(seen.len(), 1, "one request: {seen:?}");
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/");
    assert_eq!(
        r.header("Host"),
        Some("sts.amazonaws.com"),
        "Host is the signed host: {r:?}"
    );
    assert_eq!(
        r.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
            .count(),
        1,
        "one Host header: {r:?}"
    );
    assert_eq!(r.body, b"Action=GetCallerIdentity&Version=2011-06-15");
    assert_eq!(r.header("X-Vault-AWS-IAM-Server-ID"), Some(SERVER_ID));
    let signed = common::proof::decode(proof.as_bytes()).unwrap().request;
    assert_eq!(
        r.header("Authorization"),
        Some(support::header(&signed, "Authorization").as_str())
    );
    assert_eq!(
        r.header("X-Amz-Date"),
        Some(support::header(&signed, "X-Amz-Date").as_str())
    );
    assert_eq!(
        r.header("Content-Type"),
        Some(support::header(&signed, "Content-Type").as_str())
    );
    assert_eq!(r.header("Content-Length"), Some("43"));
    assert!(r.header("Transfer-Encoding").is_none(), "{r:?}");
}

/// A proof without `role` logs in as the role named like the principal.
#[test]
fn proof_without_role_uses_the_principal_name() {
    let sts = FakeSts::start(xml("200 OK", &good_answer()));
    let proof = support::sign(&Creds::fake(), &["--server-id", SERVER_ID]);
    let r = run(&sts.endpoint(), &proof);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(support::parse_identity(r.stdout.trim_end()).role, "alice");
}

/// An EKS token is forwarded as a GET of the presigned URL, asking for JSON, with the
/// cluster ID header; STS's JSON answer is accepted for it.
#[test]
fn eks_token_is_forwarded_as_presigned_get() {
    let body = json!({"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Arn": ALICE, "UserId": "AIDAEXAMPLE", "Account": ACCOUNT},
        "ResponseMetadata": {"RequestId": "01234567-89ab-cdef-0123-456789abcdef"}}})
    .to_string();
    let sts = FakeSts::start(Reply::Raw(http(
        "200 OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )));
    let token = support::sign(&Creds::fake(), &["--format", "eks", "--cluster", SERVER_ID]);
    let r = run(&sts.endpoint(), &token);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(support::parse_identity(r.stdout.trim_end()).role, "alice");

    let v: serde_json::Value = serde_json::from_str(&token).unwrap();
    let encoded = v["status"]["token"]
        .as_str()
        .unwrap()
        .strip_prefix("k8s-aws-v1.")
        .unwrap();
    let url = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    let seen = sts.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(format!("https://sts.amazonaws.com{}", seen[0].target), url);
    assert_eq!(seen[0].header("Host"), Some("sts.amazonaws.com"));
    assert_eq!(seen[0].header("x-k8s-aws-id"), Some(SERVER_ID));
    assert_eq!(seen[0].header("Accept"), Some("application/json"));

    // kubectl reuses one token for up to 15 minutes: EKS tokens are not single-use.
    let again = run(&sts.endpoint(), &token);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(sts.requests().len(), 2);
}

// ---------------------------------------------------------------------------------
// Refused answers.

struct Case {
    name: &'static str,
    reply: Reply,
    code: i32,
    message: &'static str,
    /// How many requests the fake must have seen.
    requests: usize,
}

fn crafted() -> Vec<Case> {
    let good = good_answer();
    let two = good.replace(
        "</GetCallerIdentityResult>",
        "</GetCallerIdentityResult>\n  <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/admin</Arn>\
         <UserId>AIDAADMIN</UserId><Account>123456789012</Account></GetCallerIdentityResult>",
    );
    let laughs = format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
{}"#,
        answer(
            "arn:aws:iam::123456789012:user/&lol9;",
            "AIDAEXAMPLE",
            ACCOUNT
        )
    );
    let json_body = json!({"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Arn": ALICE, "UserId": "AIDAEXAMPLE", "Account": ACCOUNT}}})
    .to_string();
    let big = 10 << 20;
    let mut huge = good.clone().into_bytes();
    huge.resize(big, b' ');

    #[rustfmt::skip]
    let cases = vec![
        // name, the fake's answer, exit code, message fragment, requests seen
        Case { name: "two GetCallerIdentityResult elements", reply: xml("200 OK", &two), code: 77, message: "more than one GetCallerIdentityResult", requests: 1 },
        Case { name: "leading garbage before the XML", reply: xml("200 OK", &format!("garbage{good}")), code: 77, message: "STS answer not accepted", requests: 1 },
        Case { name: "second root after the answer", reply: xml("200 OK", &format!("{good}<GetCallerIdentityResponse/>")), code: 77, message: "STS answer not accepted", requests: 1 },
        Case { name: "JSON answer to a POST proof", reply: Reply::Raw(http("200 OK", &[("Content-Type", "application/json")], json_body.as_bytes())), code: 77, message: "content type application/json", requests: 1 },
        Case { name: "content type text/html", reply: Reply::Raw(http("200 OK", &[("Content-Type", "text/html")], good.as_bytes())), code: 77, message: "content type text/html", requests: 1 },
        Case { name: "no content type", reply: Reply::Raw(http("200 OK", &[], good.as_bytes())), code: 77, message: "no content type", requests: 1 },
        Case { name: "status 201", reply: xml("201 Created", &good), code: 77, message: "not 200", requests: 1 },
        Case { name: "500 three times", reply: xml("500 Internal Server Error", &aws_error("InternalFailure", "oops")), code: 69, message: "after 3 tries: STS answered 500", requests: 3 },
        Case { name: "503 three times", reply: xml("503 Service Unavailable", ""), code: 69, message: "STS answered 503", requests: 3 },
        Case { name: "429 three times", reply: xml("429 Too Many Requests", ""), code: 75, message: "throttled", requests: 3 },
        Case { name: "400 Throttling three times", reply: xml("400 Bad Request", &aws_error("Throttling", "Rate exceeded")), code: 75, message: "throttled", requests: 3 },
        Case { name: "answer dripped a byte per 100 ms", reply: Reply::Drip(http("200 OK", &[("Content-Type", "text/xml")], good.as_bytes())), code: 75, message: "within 2s", requests: 1 },
        Case { name: "10 MB answer with Content-Length", reply: Reply::Raw(http("200 OK", &[("Content-Type", "text/xml")], &huge)), code: 77, message: "larger than 64 KiB", requests: 1 },
        Case { name: "10 MB answer, no length, connection close", reply: Reply::Endless { head: b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n".to_vec(), chunked: false, len: big }, code: 77, message: "larger than 64 KiB", requests: 1 },
        Case { name: "10 MB answer, chunked", reply: Reply::Endless { head: b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(), chunked: true, len: big }, code: 77, message: "larger than 64 KiB", requests: 1 },
        Case { name: "entity expansion (billion laughs)", reply: xml("200 OK", &laughs), code: 77, message: "DOCTYPE", requests: 1 },
        Case { name: "undeclared entity", reply: xml("200 OK", &good.replace("alice", "&xxe;")), code: 77, message: "unknown entity &xxe;", requests: 1 },
        Case { name: "account mismatch", reply: xml("200 OK", &answer("arn:aws:iam::999999999999:user/alice", "AIDAEXAMPLE", ACCOUNT)), code: 77, message: "ARN account 999999999999 is not the answer's Account 123456789012", requests: 1 },
        Case { name: "root principal", reply: xml("200 OK", &answer("arn:aws:iam::123456789012:root", ACCOUNT, ACCOUNT)), code: 77, message: "principal type", requests: 1 },
        Case { name: "federated user", reply: xml("200 OK", &answer("arn:aws:sts::123456789012:federated-user/bob", "123456789012:bob", ACCOUNT)), code: 77, message: "principal type", requests: 1 },
        Case { name: "empty Arn", reply: xml("200 OK", &answer("", "AIDAEXAMPLE", ACCOUNT)), code: 77, message: "empty Arn", requests: 1 },
        Case { name: "other account, consistent answer", reply: xml("200 OK", &answer("arn:aws:iam::210987654321:user/alice", "AIDAEXAMPLE", "210987654321")), code: 77, message: "does not match login role any", requests: 1 },
        Case { name: "403 SignatureDoesNotMatch", reply: xml("403 Forbidden", &aws_error("SignatureDoesNotMatch", "The request signature we calculated does not match")), code: 77, message: "SignatureDoesNotMatch", requests: 1 },
        Case { name: "403 InvalidClientTokenId", reply: xml("403 Forbidden", &aws_error("InvalidClientTokenId", "The security token included in the request is invalid.")), code: 77, message: "STS refused the proof (403 Forbidden): InvalidClientTokenId", requests: 1 },
    ];
    cases
}

#[test]
fn crafted_answers_are_refused_promptly() {
    let proof = proof();
    let cases = crafted();
    let mut failures = Vec::new();
    for case in cases {
        let sts = FakeSts::start(case.reply);
        let r = run(&sts.endpoint(), &proof);
        if r.code != Some(case.code) {
            failures.push(format!(
                "{}: exit code {:?}, expected {}; stderr: {}",
                case.name, r.code, case.code, r.stderr
            ));
        } else if !r.stderr.contains(case.message) {
            failures.push(format!(
                "{}: stderr lacks `{}`: {}",
                case.name, case.message, r.stderr
            ));
        }
        if !r.stdout.is_empty() {
            failures.push(format!("{}: printed an identity: {}", case.name, r.stdout));
        }
        if r.elapsed >= PROMPT {
            failures.push(format!("{}: took {:?}", case.name, r.elapsed));
        }
        let seen = sts.requests().len();
        if seen != case.requests {
            failures.push(format!(
                "{}: the fake saw {seen} requests, expected {}",
                case.name, case.requests
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "crafted STS answers not refused as expected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn redirect_is_not_followed() {
    let target = FakeSts::start(xml("200 OK", &good_answer()));
    let location = format!("{}/", target.endpoint());
    let sts = FakeSts::start(Reply::Raw(http(
        "302 Found",
        &[
            ("Location", location.as_str()),
            ("Content-Type", "text/xml"),
        ],
        b"",
    )));
    let r = run(&sts.endpoint(), &proof());
    assert_eq!(r.code, Some(77), "{}", r.stderr);
    assert!(r.stderr.contains("redirect"), "{}", r.stderr);
    assert!(r.elapsed < PROMPT, "{:?}", r.elapsed);
    assert_eq!(sts.requests().len(), 1, "the redirect is not retried");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(target.connections(), 0, "the redirect was followed");
}

#[test]
fn slow_server_times_out() {
    let sts = FakeSts::start(Reply::Slow(
        Duration::from_secs(10),
        http(
            "200 OK",
            &[("Content-Type", "text/xml")],
            good_answer().as_bytes(),
        ),
    ));
    let r = run(&sts.endpoint(), &proof());
    assert_eq!(r.code, Some(75), "{}", r.stderr);
    assert!(
        r.stderr.contains("no answer from STS at 127.0.0.1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("within 2s"), "{}", r.stderr);
    assert!(
        r.elapsed >= Duration::from_millis(1900),
        "gave up before the timeout: {:?}",
        r.elapsed
    );
    assert!(
        r.elapsed < Duration::from_secs(4),
        "took {:?} with a 2s timeout",
        r.elapsed
    );
    assert_eq!(sts.requests().len(), 1);
}

/// A server that accepts and never answers (not even reads) is a timeout too.
#[test]
fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let r = run(&endpoint, &proof());
    assert_eq!(r.code, Some(75), "{}", r.stderr);
    assert!(
        r.elapsed < Duration::from_secs(4),
        "took {:?} with a 2s timeout",
        r.elapsed
    );
    drop(listener);
}

#[test]
fn connection_refused_is_unavailable() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = run(&format!("http://127.0.0.1:{port}"), &proof());
    assert_eq!(r.code, Some(69), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("cannot reach STS at 127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("after 3 tries"), "{}", r.stderr);
    assert!(r.elapsed < PROMPT, "{:?}", r.elapsed);
}

/// In a batch, each proof gets its own answer and line, and the exit code is the most
/// serious failure.
#[test]
fn batch_mixes_verified_and_refused() {
    let sts = FakeSts::start(xml("200 OK", &good_answer()));
    let good = proof();
    let wrong_role =
        support::tamper(&proof(), |_| {}).replace(r#""role":"any""#, r#""role":"nope""#);
    assert!(wrong_role.contains(r#""role":"nope""#));
    let other = proof();
    let stdin = format!("{good}\n{wrong_role}\nnot json\n{other}\n{good}\n");
    let r = run(&sts.endpoint(), &stdin);
    assert_eq!(r.code, Some(77), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert_eq!(support::parse_identity(lines[0]).identity.arn, ALICE);
    let e: common::docs::ErrorLine = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(e.error.code, 77);
    assert!(
        e.error
            .message
            .contains("login role `nope`, which is not configured"),
        "{}",
        e.error.message
    );
    let e: common::docs::ErrorLine = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(e.error.code, 65);
    assert_eq!(support::parse_identity(lines[3]).role, "any");
    // The first proof again: a replay, refused on its second line without a request.
    let e: common::docs::ErrorLine = serde_json::from_str(lines[4]).unwrap();
    assert_eq!(e.error.code, 77);
    assert!(
        e.error.message.contains("already used"),
        "{}",
        e.error.message
    );
    assert_eq!(
        sts.requests().len(),
        3,
        "neither the bad document nor the replay is sent"
    );
}

/// Runs verify-login on `stdin`, sampling its resident memory from /proc while it
/// runs: (exit code, stderr, peak RSS in KiB, time taken).
fn run_measuring_memory(endpoint: &str, stdin: &str) -> (Option<i32>, String, u64, Duration) {
    let (code, stderr, peak, elapsed, _) = run_measured(endpoint, stdin.as_bytes(), &[]);
    (code, stderr, peak, elapsed)
}

/// [`run_measuring_memory`] with extra arguments, also counting the lines on stdout.
fn run_measured(
    endpoint: &str,
    stdin: &[u8],
    args: &[&str],
) -> (Option<i32>, String, u64, Duration, usize) {
    let config = config(endpoint);
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("verify-login"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout).lines().count()
    });
    // Drained as it comes: a batch writes a message per refused proof there too.
    let stderr = child.stderr.take();
    let stderr = std::thread::spawn(move || support::drain(stderr));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let exit = loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let rss = text
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_kib = peak_kib.max(rss.unwrap_or(0));
        }
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "verify-login hangs"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    writer.join().unwrap();
    let stderr = stderr.join().unwrap();
    (
        exit.code(),
        stderr,
        peak_kib,
        elapsed,
        lines.join().unwrap(),
    )
}

/// Junk as NDJSON, 60 MB of long lines or 100,000 tiny ones: one error line per input
/// line, memory bounded by the input, and time that grows with it, not faster.
#[test]
fn junk_batches_get_one_error_line_each_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        return;
    }
    let sts = FakeSts::start(xml("200 OK", &good_answer()));
    let long_line: String = (0..600).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let big: String = (0..100_000).map(|_| format!("{long_line}\n")).collect();
    assert!(big.len() >= 60_000_000);
    let tiny = |n: usize| "x\n".repeat(n);
    let mut times = Vec::new();
    for (name, input, lines) in [
        ("60 MB of junk lines", big.clone(), 100_000),
        ("10,000 tiny bad lines", tiny(10_000), 10_000),
        ("100,000 tiny bad lines", tiny(100_000), 100_000),
    ] {
        let (code, stderr, peak_kib, elapsed, out_lines) =
            run_measured(&sts.endpoint(), input.as_bytes(), &["--jobs", "8"]);
        eprintln!(
            "{name}: peak RSS {} MiB, {elapsed:?}, {out_lines} lines",
            peak_kib / 1024
        );
        assert_eq!(
            code,
            Some(65),
            "{name}: {}",
            &stderr[..stderr.len().min(500)]
        );
        assert_eq!(out_lines, lines, "{name}: one error line per input line");
        // The input itself, and a few hundred bytes per line for what is kept of it.
        let bound_kib = (input.len() as u64 / 1024) * 3 + (lines as u64) / 2 + 64 * 1024;
        assert!(
            peak_kib < bound_kib,
            "{name}: peak {peak_kib} KiB, bound {bound_kib} KiB"
        );
        times.push(elapsed);
    }
    assert!(sts.requests().is_empty(), "junk is never sent");
    // Ten times the lines takes less than thirty times as long: linear, not quadratic.
    assert!(
        times[2] < times[1] * 30 + Duration::from_millis(500),
        "10,000 lines: {:?}, 100,000 lines: {:?}",
        times[1],
        times[2]
    );
}

/// A slow STS times --jobs: every proof waits at most the timeout, so the run takes
/// at most timeout x ceil(N / jobs), and never hangs.
#[test]
fn a_slow_sts_bounds_the_run_by_timeout_times_rounds() {
    let sts = FakeSts::start(Reply::Slow(
        Duration::from_secs(30),
        http(
            "200 OK",
            &[("Content-Type", "text/xml")],
            good_answer().as_bytes(),
        ),
    ));
    let proofs: String = (0..6).map(|_| format!("{}\n", proof())).collect();
    let started = Instant::now();
    let r = support::bin("verify-login")
        .arg("--config")
        .arg(config(&sts.endpoint()))
        .args(["--jobs", "3"])
        .timeout(Duration::from_secs(30))
        .write_stdin(proofs)
        .assert()
        .code(75);
    let elapsed = started.elapsed();
    let out = String::from_utf8_lossy(&r.get_output().stdout).into_owned();
    assert_eq!(out.lines().count(), 6, "{out}");
    // timeout = "2s" in the config; 6 proofs, 3 at a time: 2 rounds.
    assert!(elapsed >= Duration::from_millis(3900), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(6),
        "{elapsed:?}: over 2s x ceil(6 / 3) and slack"
    );
}

/// An endless answer is cut off at the size limit: verify-login's memory stays small
/// while the fake offers 512 MiB.
#[test]
fn endless_answer_is_read_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        return;
    }
    let proof = proof();
    for (name, head, chunked) in [
        (
            "connection-close body",
            &b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"[..],
            false,
        ),
        (
            "chunked body",
            &b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            true,
        ),
    ] {
        let sts = FakeSts::start(Reply::Endless {
            head: head.to_vec(),
            chunked,
            len: 512 << 20,
        });
        let (code, stderr, peak_kib, elapsed) = run_measuring_memory(&sts.endpoint(), &proof);
        assert_eq!(code, Some(77), "{name}: {stderr}");
        assert!(
            stderr.contains("STS answer is larger than 64 KiB"),
            "{name}: {stderr}"
        );
        assert!(peak_kib > 0, "{name}: no memory reading");
        assert!(
            peak_kib < 64 * 1024,
            "{name}: verify-login grew to {peak_kib} KiB"
        );
        assert!(elapsed < PROMPT, "{name}: took {elapsed:?}");
    }
}

/// Partition endpoints whose keys moto keeps in other partitions (China, GovCloud)
/// are accepted and forwarded as signed, with their own Host.
#[test]
fn partition_endpoints_are_forwarded_with_their_host() {
    let sts = FakeSts::start(xml("200 OK", &good_answer()));
    let config = config(&sts.endpoint());
    for (region, host) in [
        ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
        (
            "cn-northwest-1",
            "sts.cn-northwest-1.api.amazonwebservices.com.cn",
        ),
        ("us-gov-west-1", "sts.us-gov-west-1.amazonaws.com"),
        ("us-gov-east-1", "sts.us-gov-east-1.api.aws"),
    ] {
        let mut v = support::moto()
            .call(json!({"op": "botocore", "creds": Creds::fake().to_json(),
            "server_id": SERVER_ID, "region": region, "url": format!("https://{host}/")}));
        v["role"] = json!("any");
        let before = sts.requests().len();
        let a = support::verify(&config, v.to_string());
        assert_eq!(
            a.get_output().status.code(),
            Some(0),
            "{host}: {}",
            String::from_utf8_lossy(&a.get_output().stderr)
        );
        let seen = sts.requests();
        assert_eq!(seen.len(), before + 1);
        assert_eq!(seen[before].header("Host"), Some(host));
    }
}

/// The first versioned kubectl the machine has (the `kubectl` dispatcher makes calls
/// of its own, so a versioned binary is used).
fn kubectl() -> Option<PathBuf> {
    let dir = Path::new("/usr/lib/google-cloud-sdk/bin");
    [
        "kubectl.1.32",
        "kubectl.1.33",
        "kubectl.1.31",
        "kubectl.1.30",
    ]
    .iter()
    .map(|name| dir.join(name))
    .find(|p| p.exists())
}

/// scripts/kubeconfig.yaml, whose user runs `sign-login --format eks`, used by the real
/// kubectl against a test-local HTTPS API server: the Bearer token kubectl sends verifies with
/// verify-login (against the fake STS, which answers presigned GETs as STS does).
#[test]
fn kubectl_sends_sign_logins_token_and_it_verifies() {
    let found = kubectl();
    if !support::have(
        "a versioned kubectl under /usr/lib/google-cloud-sdk/bin",
        found.is_some(),
    ) {
        return;
    }
    let kubectl = found.expect("found");
    let api = support::moto().call(json!({"op": "api_server"}));
    let url = api["url"].as_str().unwrap().to_string();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let sign_login = assert_cmd::cargo::cargo_bin("sign-login");
    // The kit as shipped (scripts/kubeconfig.yaml), pointed at this API server, its CA
    // and this build of sign-login, with this server's ID as the cluster.
    let mut kit = std::fs::read_to_string(support::root().join("scripts/kubeconfig.yaml")).unwrap();
    for (from, to) in [
        (
            "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
            url.clone(),
        ),
        ("LS0tLS1CRUdJTi...", api["ca"].as_str().unwrap().to_string()),
        (
            "command: sign-login",
            format!("command: {}", sign_login.display()),
        ),
        (
            "\"--cluster\", \"prod\"",
            format!("\"--cluster\", \"{SERVER_ID}\""),
        ),
    ] {
        assert!(
            kit.contains(from),
            "scripts/kubeconfig.yaml no longer has {from}"
        );
        kit = kit.replace(from, &to);
    }
    std::fs::write(&kubeconfig, kit).unwrap();
    let creds = Creds::fake();
    let out = std::process::Command::new(&kubectl)
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "--raw", "/version"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("v1.32.0"));
    let seen = support::moto().call(json!({"op": "api_seen", "port": port}));
    let auth = seen["requests"][0]["authorization"]
        .as_str()
        .unwrap()
        .to_string();
    let token = auth.strip_prefix("Bearer ").expect("a Bearer token");
    assert!(token.starts_with("k8s-aws-v1."), "{token}");

    // The token, as an EKS authenticator receives it, verifies.
    let body = json!({"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Arn": ALICE, "UserId": "AIDAEXAMPLE", "Account": ACCOUNT}}})
    .to_string();
    let sts = FakeSts::start(Reply::Raw(http(
        "200 OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )));
    let credential = json!({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {}, "status": {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"}});
    let r = run(&sts.endpoint(), &credential.to_string());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        support::parse_identity(r.stdout.trim_end()).identity.arn,
        ALICE
    );
    assert_eq!(sts.requests()[0].method, "GET");
}

/// `sign-login --format eks` and `aws eks get-token` (the AWS CLI in the test venv)
/// print the same document shape and sign the same query keys.
#[test]
fn eks_token_has_the_shape_and_keys_of_aws_eks_get_token() {
    let aws = support::root().join(".venv/bin/aws");
    let creds = Creds::fake();
    let out = std::process::Command::new(&aws)
        .env_clear()
        .env("HOME", tempfile::tempdir().unwrap().path())
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "eks",
            "get-token",
            "--cluster-name",
            "prod",
            "--region",
            "eu-west-1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&support::sign(
        &creds,
        &[
            "--format",
            "eks",
            "--cluster",
            "prod",
            "--region",
            "eu-west-1",
        ],
    ))
    .unwrap();
    let shape = |v: &serde_json::Value| -> Vec<String> {
        let mut keys = vec![];
        for (k, inner) in v.as_object().unwrap() {
            keys.push(k.clone());
            if let Some(o) = inner.as_object() {
                keys.extend(o.keys().map(|i| format!("{k}.{i}")));
            }
        }
        keys.sort();
        keys
    };
    assert_eq!(shape(&ours), shape(&theirs));
    let query_keys = |v: &serde_json::Value| -> Vec<String> {
        let token = v["status"]["token"]
            .as_str()
            .unwrap()
            .strip_prefix("k8s-aws-v1.")
            .unwrap();
        let url = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).unwrap())
            .unwrap();
        let (base, query) = url.split_once('?').unwrap();
        assert_eq!(base, "https://sts.eu-west-1.amazonaws.com/");
        let mut keys: Vec<String> = query
            .split('&')
            .map(|p| p.split('=').next().unwrap().to_string())
            .collect();
        keys.sort();
        keys.push(
            query
                .split('&')
                .find_map(|p| p.strip_prefix("X-Amz-SignedHeaders="))
                .unwrap()
                .to_string(),
        );
        keys
    };
    assert_eq!(query_keys(&ours), query_keys(&theirs));
}
