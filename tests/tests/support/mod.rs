//! Shared by the black-box tests: running the built binaries in a clean environment,
//! config files, proofs to tamper with, and a moto server (signature checks on) for
//! the whole test binary, stopped when the binary exits.

#![allow(dead_code)]

pub mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use assert_cmd::Command;
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const SERVER_ID: &str = "broker.test";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

/// A built binary with an environment that holds nothing of the machine's: no AWS
/// settings, no vaultless config, an empty home (its state and credential cache there
/// too), and no instance metadata service.
pub fn bin(name: &str) -> Command {
    let mut cmd = Command::cargo_bin(name)
        .unwrap_or_else(|e| panic!("{name} is not built ({e}); run scripts/test"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("AWS_") || key.starts_with("VAULTLESS_") {
            cmd.env_remove(&key);
        }
    }
    let home = scratch().path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env_remove("XDG_RUNTIME_DIR")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

#[derive(Debug, Clone)]
pub struct Creds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Creds {
    /// Keys nobody knows: enough to sign, never accepted by STS.
    pub fn fake() -> Creds {
        Creds {
            access_key_id: "AKIAFAKEFAKEFAKEFAKE".into(),
            secret_access_key: "fakeSecretKeyfakeSecretKeyfakeSecretKey0".into(),
            session_token: None,
        }
    }

    fn from_json(v: &Value) -> Creds {
        Creds {
            access_key_id: v["access_key_id"].as_str().unwrap().into(),
            secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
            session_token: v["session_token"].as_str().map(str::to_string),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key,
               "session_token": self.session_token})
    }

    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key);
        if let Some(t) = &self.session_token {
            cmd.env("AWS_SESSION_TOKEN", t);
        }
    }
}

/// Runs sign-login with these credentials and returns its one line of output.
/// A proof for this test server's ID, asking role `role` for `request` (k=v).
#[allow(dead_code)]
pub fn sign_request(creds: &Creds, role: &str, request: &str) -> String {
    sign(
        creds,
        &[
            "--server-id",
            SERVER_ID,
            "--role",
            role,
            "--request",
            request,
        ],
    )
}

pub fn sign(creds: &Creds, args: &[&str]) -> String {
    let mut cmd = bin("sign-login");
    creds.apply(&mut cmd);
    let out = cmd
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1, "one proof per line: {text}");
    text.trim_end().to_string()
}

/// Writes a config file that lives as long as the test binary.
pub fn config(text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let path = scratch()
        .path()
        .join(format!("config-{}.toml", N.fetch_add(1, Ordering::SeqCst)));
    std::fs::write(&path, text).unwrap();
    path
}

/// A config that sends every proof to `endpoint` and has roles for the usual tests.
pub fn config_for(endpoint: &str, extra: &str) -> PathBuf {
    config(&format!(
        r#"[login]
server_id = "{SERVER_ID}"
sts_endpoint = "{endpoint}"
timeout = "5s"

[roles.any]
bound_account_ids = ["{ACCOUNT}"]
{extra}
"#
    ))
}

pub fn verify(config: &Path, stdin: impl Into<Vec<u8>>) -> assert_cmd::assert::Assert {
    bin("verify-login")
        .arg("--config")
        .arg(config)
        .write_stdin(stdin)
        .assert()
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Decodes a Vault-format proof, lets `edit` change the request, and re-encodes it.
pub fn tamper(proof: &str, edit: impl FnOnce(&mut common::proof::SignedRequest)) -> String {
    let decoded = common::proof::decode(proof.as_bytes()).unwrap();
    let mut req = decoded.request;
    edit(&mut req);
    serde_json::to_string(&common::proof::to_vault(&req, decoded.role, decoded.extra)).unwrap()
}

/// Sets (or adds) a header, keeping the name's case as given.
pub fn set_header(req: &mut common::proof::SignedRequest, name: &str, value: &str) {
    match req
        .headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some((_, v)) => *v = vec![value.to_string()],
        None => req
            .headers
            .push((name.to_string(), vec![value.to_string()])),
    }
}

pub fn header(req: &common::proof::SignedRequest, name: &str) -> String {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v[0].clone())
        .unwrap()
}

pub fn parse_identity(line: &str) -> common::docs::VerifiedIdentity {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not an identity document ({e}): {line}"))
}

pub struct Moto {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let python = root().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/test, which creates it",
            python.display()
        );
        let mut child = StdCommand::new(python)
            .arg(root().join("tests/support/moto_harness.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting moto");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let hello: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("moto did not start ({e}): {line}"));
        Moto {
            child,
            stdin,
            stdout,
            endpoint: hello["endpoint"].as_str().unwrap().to_string(),
        }
    }

    pub fn call(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(v.get("error").is_none(), "moto harness: {v}");
        v
    }

    /// A new IAM user with an access key: (credentials, ARN, unique id).
    pub fn user(&mut self, name: &str) -> (Creds, String, String) {
        let v = self.call(json!({"op": "user", "name": name}));
        (
            Creds::from_json(&v),
            v["arn"].as_str().unwrap().into(),
            v["user_id"].as_str().unwrap().into(),
        )
    }

    /// A new IAM user allowed every action, with an access key (a broker's or an
    /// operator's identity).
    pub fn admin(&mut self, prefix: &str) -> Creds {
        let v = self.call(json!({"op": "user", "name": unique(prefix), "policy": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}));
        Creds::from_json(&v)
    }

    /// A new IAM role, assumed: (temporary credentials, assumed-role ARN, role ARN).
    pub fn role(&mut self, name: &str) -> (Creds, String, String) {
        let v = self.call(json!({"op": "role", "name": name}));
        (
            Creds::from_json(&v),
            v["arn"].as_str().unwrap().into(),
            v["role_arn"].as_str().unwrap().into(),
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The test binary's moto server, started on first use. Its harness exits when its
/// stdin closes, which happens when this process exits.
pub fn moto() -> MutexGuard<'static, Moto> {
    static MOTO: OnceLock<Mutex<Moto>> = OnceLock::new();
    MOTO.get_or_init(|| Mutex::new(Moto::start()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Waits at most `limit` for a child: its exit code, or -1 when a signal ended it. A
/// child still running then is killed and the test fails instead of hanging.
pub fn wait_within(child: &mut std::process::Child, limit: std::time::Duration, what: &str) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Everything left on a child's output pipe, as text ("" when it was not piped).
pub fn drain(pipe: Option<impl std::io::Read>) -> String {
    let mut text = String::new();
    if let Some(mut p) = pipe {
        p.read_to_string(&mut text).unwrap();
    }
    text
}

/// Runs a command whose stdin is a pipe held open and never written, as a caller that
/// never closes it would: (exit code, stdout, stderr). A tool that waits on that stdin
/// fails the test after `limit` instead of hanging it.
pub fn run_with_open_stdin(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
    what: &str,
) -> (i32, String, String) {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let held = child.stdin.take();
    let code = wait_within(&mut child, limit, what);
    drop(held);
    (code, drain(child.stdout.take()), drain(child.stderr.take()))
}

/// Runs a future to its end on a one-thread runtime, for test code that is not async.
/// Whether a program a test needs is here. Where it is not, the test is skipped with a
/// message; under CI (CI set), whose machine image has every one of them, that fails.
pub fn have(program: &str, found: bool) -> bool {
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is not installed, and CI runs every test"
        );
        eprintln!("{program} is not installed: skipped");
    }
    found
}

pub fn block<F: std::future::Future>(f: F) -> F::Output {
    common::runtime::current_thread().unwrap().block_on(f)
}

/// An SDK config for moto with these keys, as a tool would load it from the
/// environment (for tests that read a DynamoDB store directly).
pub fn sdk_config(endpoint: &str, creds: &Creds) -> aws_config::SdkConfig {
    block(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .http_client(common::aws::http_client())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                &creds.access_key_id,
                &creds.secret_access_key,
                creds.session_token.clone(),
                None,
                "test",
            ))
            .load(),
    )
}

/// Starts `cmd` with `input` written to its stdin (then closed) and its output piped.
pub fn spawn_with_stdin(cmd: &mut std::process::Command, input: &[u8]) -> std::process::Child {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child
}

/// Runs `cmd` with `input` on stdin: (exit code, stdout, stderr).
pub fn run_with_stdin(cmd: &mut std::process::Command, input: &[u8]) -> (i32, String, String) {
    let out = spawn_with_stdin(cmd, input).wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
