//! fetch-secret against moto (signature checks on): workload reads in every output
//! mode, --exec, batches, errors and their exit codes, the broker pipeline
//! (sign-login | verify-login | fetch-secret) within role grants, and a canary that
//! must never reach stderr, error messages or an --exec child's argv.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use base64::Engine;
use common::docs::{ErrorLine, Secret};
use serde_json::{Value, json};
use support::{ACCOUNT, Creds, SERVER_ID, bin, config, moto, sign, unique, verify};

const REGION: &str = "us-east-1";

fn stdout(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn stderr(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

fn secretsmanager_policy() -> Value {
    json!({"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]})
}

/// A new moto IAM user with an access key and, when given, an inline policy.
fn new_user(prefix: &str, policy: Option<Value>) -> (Creds, String) {
    let mut request = json!({"op": "user", "name": unique(prefix)});
    if let Some(p) = policy {
        request["policy"] = p;
    }
    let v = moto().call(request);
    let creds = Creds {
        access_key_id: v["access_key_id"].as_str().unwrap().into(),
        secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
        session_token: None,
    };
    (creds, v["arn"].as_str().unwrap().into())
}

/// Where fetch-secret runs: moto's endpoint and the keys of a user.
struct Aws {
    endpoint: String,
    creds: Creds,
}

impl Aws {
    /// A user allowed `secretsmanager:*`.
    fn reader() -> Aws {
        let (creds, _) = new_user("reader", Some(secretsmanager_policy()));
        Aws {
            endpoint: moto().endpoint.clone(),
            creds,
        }
    }

    /// A user with no permission at all.
    fn nobody() -> Aws {
        let (creds, _) = new_user("nobody", None);
        Aws {
            endpoint: moto().endpoint.clone(),
            creds,
        }
    }

    fn fetch(&self) -> Command {
        let mut cmd = bin("fetch-secret");
        self.creds.apply(&mut cmd);
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", REGION);
        cmd
    }

    /// The same environment as [`Aws::fetch`], for a process the test drives itself.
    fn std_fetch(&self) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("fetch-secret"));
        clean_env(&mut cmd);
        cmd.env("AWS_ACCESS_KEY_ID", &self.creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.creds.secret_access_key)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", REGION);
        cmd
    }
}

/// What `support::bin` does to the environment, for a `std::process::Command`.
fn clean_env(cmd: &mut StdCommand) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("AWS_") || key.starts_with("VAULTLESS_") {
            cmd.env_remove(&key);
        }
    }
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let home = HOME.get_or_init(|| tempfile::tempdir().unwrap()).path();
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// Creates a string secret (or puts a new current version): (ARN, version id).
fn put_string(name: &str, value: &str) -> (String, String) {
    let v = moto().call(json!({"op": "secret", "name": name, "string": value}));
    (
        v["arn"].as_str().unwrap().into(),
        v["version_id"].as_str().unwrap().into(),
    )
}

fn put_json(name: &str, value: &Value) -> (String, String) {
    put_string(name, &value.to_string())
}

fn put_binary(name: &str, bytes: &[u8]) -> (String, String) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let v = moto().call(json!({"op": "secret", "name": name, "binary": b64}));
    (
        v["arn"].as_str().unwrap().into(),
        v["version_id"].as_str().unwrap().into(),
    )
}

/// A string nobody else could have produced, to grep for.
fn canary() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}-{nanos:09}", unique("CANARY"))
}

fn parse_secret(line: &str) -> Secret {
    assert!(
        serde_json::from_str::<ErrorLine>(line).is_err(),
        "an error line where a secret was expected: {line}"
    );
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a secret document ({e}): {line}"))
}

fn parse_error(line: &str) -> ErrorLine {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not an error line ({e}): {line}"))
}

/// A value that every quoting scheme has to get right.
const NASTY: &str = "it's $HOME and `id` and $(id) \"dq\" \\back\\slash\nline two\ttab\r\nend ' ";

/// `NAME='v'` / `NAME="v"` lines, parsed the way a dotenv loader does: single quotes
/// are literal, double quotes know `\\ \" \$ \n \r`.
fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "dotenv ends with a newline: {text:?}"
    );
    for line in text.split_terminator('\n') {
        let (name, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not NAME=value: {line:?}"));
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "bad variable name {name:?}"
        );
        let parsed =
            if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                assert!(
                    !inner.contains('\''),
                    "a quote inside single quotes: {line:?}"
                );
                inner.to_string()
            } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                let mut s = String::new();
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('r') => s.push('\r'),
                            Some('\\') => s.push('\\'),
                            Some('"') => s.push('"'),
                            Some('$') => s.push('$'),
                            other => panic!("unknown escape \\{other:?} in {line:?}"),
                        },
                        '"' => panic!("an unescaped double quote inside double quotes: {line:?}"),
                        '$' => panic!("an unescaped $ inside double quotes: {line:?}"),
                        c => s.push(c),
                    }
                }
                s
            } else {
                panic!("unquoted dotenv value: {line:?}")
            };
        assert!(
            out.insert(name.to_string(), parsed).is_none(),
            "{name} twice"
        );
    }
    out
}

/// Evaluates `export` lines in sh and prints one variable, exactly.
fn sh_eval(exports: &str, var: &str) -> String {
    let mut child = StdCommand::new("sh")
        .arg("-c")
        .arg(format!("eval \"$(cat)\"; printf %s \"${var}\""))
        .env_remove("DB_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exports.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sh could not evaluate the export lines: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------- 1. secret kinds

#[test]
fn string_json_and_binary_secrets() {
    let aws = Aws::reader();

    let plain = unique("fs/plain");
    put_string(&plain, "hunter2");
    let out = aws.fetch().arg(&plain).assert().success();
    let s = parse_secret(stdout(&out).trim_end());
    assert_eq!(s.secret_string.as_deref(), Some("hunter2"));
    assert!(s.secret_binary.is_none());
    assert!(s.caller.is_none());

    let structured = unique("fs/json");
    let doc = json!({"user": "app", "password": "pw-1", "port": 5432});
    put_json(&structured, &doc);
    let out = aws.fetch().arg(&structured).assert().success();
    let s = parse_secret(stdout(&out).trim_end());
    let back: Value = serde_json::from_str(s.secret_string.as_deref().unwrap()).unwrap();
    assert_eq!(back, doc);

    let bin_name = unique("fs/binary");
    let bytes: Vec<u8> = vec![0, 1, 2, 0xff, 0xfe, b'\n', b'\r', 0x80, 0, b'x'];
    put_binary(&bin_name, &bytes);
    let out = aws
        .fetch()
        .args([bin_name.as_str(), "--output", "raw"])
        .assert()
        .success();
    assert_eq!(
        out.get_output().stdout,
        bytes,
        "raw gives exactly the bytes"
    );
    let out = aws.fetch().arg(&bin_name).assert().success();
    let s = parse_secret(stdout(&out).trim_end());
    assert!(s.secret_string.is_none());
    assert_eq!(
        s.secret_binary.as_deref(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(&bytes)
                .as_str()
        )
    );
}

#[test]
fn versions_by_stage_and_by_id() {
    let aws = Aws::reader();
    let name = unique("fs/versions");
    let (_, v1) = put_string(&name, "first-value");
    let (_, v2) = put_string(&name, "second-value");
    assert_ne!(v1, v2);

    let current = parse_secret(stdout(&aws.fetch().arg(&name).assert().success()).trim_end());
    assert_eq!(current.secret_string.as_deref(), Some("second-value"));
    assert_eq!(current.version_id, v2);
    assert!(current.version_stages.iter().any(|s| s == "AWSCURRENT"));

    let previous = parse_secret(
        stdout(
            &aws.fetch()
                .args([name.as_str(), "--version-stage", "AWSPREVIOUS"])
                .assert()
                .success(),
        )
        .trim_end(),
    );
    assert_eq!(previous.secret_string.as_deref(), Some("first-value"));
    assert_eq!(previous.version_id, v1);
    assert!(previous.version_stages.iter().any(|s| s == "AWSPREVIOUS"));

    for (id, want) in [(&v1, "first-value"), (&v2, "second-value")] {
        let out = aws
            .fetch()
            .args([
                name.as_str(),
                "--version-id",
                id.as_str(),
                "--output",
                "raw",
            ])
            .assert()
            .success();
        assert_eq!(stdout(&out), want);
    }

    // A version that does not exist is "not found".
    aws.fetch()
        .args([name.as_str(), "--version-stage", "NOSUCHSTAGE"])
        .assert()
        .code(1);
    // Both at once is a usage error.
    aws.fetch()
        .args([
            name.as_str(),
            "--version-id",
            v1.as_str(),
            "--version-stage",
            "AWSCURRENT",
        ])
        .assert()
        .code(64);
}

// ---------------------------------------------------------------- 2. output modes

#[test]
fn json_document_fields() {
    let aws = Aws::reader();
    let name = unique("fs/doc");
    let (arn, version) = put_string(&name, "v");
    let out = aws.fetch().arg(&name).assert().success();
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.ends_with('\n'));
    let s = parse_secret(text.trim_end());
    assert_eq!(s.name, name);
    assert_eq!(s.arn, arn);
    assert!(s.arn.starts_with(&format!(
        "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    )));
    assert_eq!(s.version_id, version);
    assert!(
        s.version_stages.iter().any(|st| st == "AWSCURRENT"),
        "{:?}",
        s.version_stages
    );
    let created: jiff::Timestamp = s
        .created_date
        .as_deref()
        .expect("created_date")
        .parse()
        .expect("created_date is RFC 3339");
    let age = jiff::Timestamp::now().duration_since(created).as_secs();
    assert!((-300..3600).contains(&age), "created {age}s ago");
    // snake_case field names, as the contract says.
    let raw: Value = serde_json::from_str(text.trim_end()).unwrap();
    for key in [
        "name",
        "arn",
        "version_id",
        "version_stages",
        "created_date",
        "secret_string",
    ] {
        assert!(raw.get(key).is_some(), "{key} missing: {raw}");
    }
}

#[test]
fn raw_is_the_value_exactly() {
    let aws = Aws::reader();
    let name = unique("fs/raw");
    put_string(&name, NASTY);
    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "raw"])
        .assert()
        .success();
    assert_eq!(
        out.get_output().stdout,
        NASTY.as_bytes(),
        "no newline added when stdout is not a terminal"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let trailing = unique("fs/raw-nl");
    put_string(&trailing, "ends-with-newline\n");
    let out = aws
        .fetch()
        .args([trailing.as_str(), "--output", "raw"])
        .assert()
        .success();
    assert_eq!(stdout(&out), "ends-with-newline\n");
}

#[test]
fn env_lines_quote_everything() {
    let aws = Aws::reader();
    let name = unique("fs/env");
    put_json(
        &name,
        &json!({"db-password": NASTY, "user.name": "alice", "port": 5432, "9lives": "cat"}),
    );
    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "env"])
        .assert()
        .success();
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l == "export USER_NAME='alice'"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "export PORT='5432'"), "{text}");
    assert!(text.lines().any(|l| l == "export _9LIVES='cat'"), "{text}");
    assert!(text.contains("export DB_PASSWORD='"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("export ")) {
        assert!(!line.contains("db-password") && !line.contains("user.name"));
    }
    assert_eq!(sh_eval(&text, "DB_PASSWORD"), NASTY);
    assert_eq!(sh_eval(&text, "USER_NAME"), "alice");

    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "env", "--env-prefix", "app_"])
        .assert()
        .success();
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l == "export APP_USER_NAME='alice'"),
        "{text}"
    );
    assert!(!text.contains("export USER_NAME="), "{text}");
    assert_eq!(sh_eval(&text, "APP_DB_PASSWORD"), NASTY);
}

#[test]
fn dotenv_lines_round_trip() {
    let aws = Aws::reader();
    let name = unique("fs/dotenv");
    let simple = "plain $dollar `tick` \"dq\" no single quote";
    put_json(
        &name,
        &json!({"db-password": NASTY, "simple": simple, "user.name": "alice", "n": 3}),
    );
    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "dotenv"])
        .assert()
        .success();
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 4, "one line per key: {text}");
    let vars = parse_dotenv(&text);
    assert_eq!(vars["DB_PASSWORD"], NASTY);
    assert_eq!(vars["SIMPLE"], simple);
    assert_eq!(vars["USER_NAME"], "alice");
    assert_eq!(vars["N"], "3");

    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "dotenv", "--env-prefix", "X-"])
        .assert()
        .success();
    let vars = parse_dotenv(&stdout(&out));
    assert_eq!(vars["X_DB_PASSWORD"], NASTY);
    assert_eq!(vars.len(), 4);
}

#[test]
fn plain_string_needs_a_variable_name() {
    let aws = Aws::reader();
    let name = unique("fs/token");
    put_string(&name, NASTY);
    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "env", "--env", "api-token"])
        .assert()
        .success();
    let text = stdout(&out);
    assert!(text.starts_with("export API_TOKEN='"), "{text}");
    assert_eq!(sh_eval(&text, "API_TOKEN"), NASTY);

    let out = aws
        .fetch()
        .args([name.as_str(), "--output", "dotenv", "--env", "TOKEN"])
        .assert()
        .success();
    assert_eq!(parse_dotenv(&stdout(&out))["TOKEN"], NASTY);

    for mode in ["env", "dotenv"] {
        let out = aws
            .fetch()
            .args([name.as_str(), "--output", mode])
            .assert()
            .code(64);
        assert!(stdout(&out).is_empty());
        let err = stderr(&out);
        assert!(err.contains("--env"), "{err}");
        assert!(!err.contains("line two"), "value in stderr: {err}");
    }
    // A binary secret cannot be a variable at all.
    let binary = unique("fs/bin-env");
    put_binary(&binary, b"\x00\x01");
    aws.fetch()
        .args([binary.as_str(), "--output", "env", "--env", "B"])
        .assert()
        .code(64);
}

// ---------------------------------------------------------------- 3. --field

#[test]
fn fields_top_level_and_nested() {
    let aws = Aws::reader();
    let name = unique("fs/field");
    let hidden = canary();
    put_json(
        &name,
        &json!({"user": "app", "password": hidden, "db": {"host": "db.internal", "port": 5432,
                "auth": {"token": hidden}}}),
    );
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "user"])
        .assert()
        .success();
    assert_eq!(stdout(&out), "app");
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "db.host"])
        .assert()
        .success();
    assert_eq!(stdout(&out), "db.internal");
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "db.port"])
        .assert()
        .success();
    assert_eq!(stdout(&out), "5432");
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "db.auth.token"])
        .assert()
        .success();
    assert_eq!(stdout(&out), hidden);

    // Missing fields: exit 1, the keys are named, never a value.
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "pasword"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(stdout(&out).is_empty());
    assert!(err.contains("pasword"), "{err}");
    for key in ["user", "password", "db"] {
        assert!(err.contains(key), "key {key} not named: {err}");
    }
    assert!(!err.contains(&hidden), "value in stderr: {err}");
    assert!(
        !err.contains("app\n") && !err.contains("db.internal"),
        "{err}"
    );

    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "db.pass"])
        .assert()
        .code(1);
    let err = stderr(&out);
    for key in ["host", "port", "auth"] {
        assert!(err.contains(key), "key {key} not named: {err}");
    }
    assert!(!err.contains(&hidden), "value in stderr: {err}");
    assert!(
        !err.contains("db.internal") && !err.contains("5432"),
        "{err}"
    );

    // Walking into a string is not found either, and shows nothing of it.
    let out = aws
        .fetch()
        .args([name.as_str(), "--field", "password.x"])
        .assert()
        .code(1);
    assert!(!stderr(&out).contains(&hidden), "{}", stderr(&out));
}

// ---------------------------------------------------------------- 4. --exec

#[test]
fn exec_hands_variables_status_and_stdin_to_the_child() {
    let aws = Aws::reader();
    let name = unique("fs/exec");
    let hidden = canary();
    put_json(&name, &json!({"db-password": hidden, "user": "app"}));

    // The child sees the variables; fetch-secret itself prints nothing.
    let out = aws
        .fetch()
        .args([
            name.as_str(),
            "--exec",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$DB_PASSWORD\" \"$USER\"",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&out), format!("{hidden}|app"));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let out = aws
        .fetch()
        .args([name.as_str(), "--exec", "--", "sh", "-c", "exit 0"])
        .assert()
        .success();
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // The exit status is the child's.
    aws.fetch()
        .args([name.as_str(), "--exec", "--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);

    // --env-prefix applies to --exec too.
    let out = aws
        .fetch()
        .args([
            name.as_str(),
            "--env-prefix",
            "APP_",
            "--exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$APP_USER\"",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&out), "app");

    // The secret is in no process's argv: the child's command line is what was given.
    if Path::new("/proc/self/cmdline").exists() {
        let script = "tr '\\0' '\\n' < /proc/$$/cmdline";
        let out = aws
            .fetch()
            .args([name.as_str(), "--exec", "--", "sh", "-c", script])
            .assert()
            .success();
        let argv = stdout(&out);
        assert_eq!(argv, format!("sh\n-c\n{script}\n"));
        assert!(!argv.contains(&hidden));
    }

    // stdin belongs to the child, untouched.
    let out = aws
        .fetch()
        .args([name.as_str(), "--exec", "--", "cat"])
        .write_stdin("data")
        .assert()
        .success();
    assert_eq!(stdout(&out), "data");

    // A plain-string secret with --env.
    let token = unique("fs/exec-token");
    put_string(&token, "tok-value");
    let out = aws
        .fetch()
        .args([
            token.as_str(),
            "--env",
            "TOKEN",
            "--exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$TOKEN\"",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&out), "tok-value");

    // A command that cannot run is an error, not a silent success.
    aws.fetch()
        .args([name.as_str(), "--exec", "--", "/nonexistent/command"])
        .assert()
        .failure();
    // A command without --exec is a usage error.
    aws.fetch()
        .args([name.as_str(), "--", "true"])
        .assert()
        .code(64);
}

#[test]
fn exec_merges_several_secrets_later_wins() {
    let aws = Aws::reader();
    let first = unique("fs/merge-a");
    let second = unique("fs/merge-b");
    let (a, b) = (canary(), canary());
    put_json(&first, &json!({"shared": a, "only-a": "1"}));
    put_json(&second, &json!({"shared": b, "only-b": "2"}));
    let out = aws
        .fetch()
        .args([
            first.as_str(),
            second.as_str(),
            "--exec",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$SHARED\" \"$ONLY_A\" \"$ONLY_B\"",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&out), format!("{b}|1|2"));
    let err = stderr(&out);
    assert!(err.contains("SHARED"), "collision not named: {err}");
    assert!(err.contains(&second), "winner not named: {err}");
    assert!(
        !err.contains(&a) && !err.contains(&b),
        "value in stderr: {err}"
    );

    // The other order, the other winner.
    let out = aws
        .fetch()
        .args([
            second.as_str(),
            first.as_str(),
            "--exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$SHARED\"",
        ])
        .assert()
        .success();
    assert_eq!(stdout(&out), a);

    // env output merges the same way.
    let out = aws
        .fetch()
        .args([first.as_str(), second.as_str(), "--output", "dotenv"])
        .assert()
        .success();
    let vars = parse_dotenv(&stdout(&out));
    assert_eq!(vars["SHARED"], b);
    assert_eq!(vars.len(), 3);
}

// ---------------------------------------------------------------- 5. stdin left alone

#[test]
fn named_secret_never_waits_for_stdin() {
    let aws = Aws::reader();
    let name = unique("fs/stdin");
    put_string(&name, "ok");
    for extra in [&[][..], &["--output", "raw"][..], &["--field", "x"][..]] {
        let (code, out, _) = support::run_with_open_stdin(
            aws.std_fetch().arg(&name).args(extra),
            Duration::from_secs(20),
            "fetch-secret with an open stdin",
        );
        if extra.first() == Some(&"--field") {
            // "ok" is not a JSON object: a usage error, but still no wait.
            assert_eq!(code, 64);
        } else {
            assert_eq!(code, 0, "{out}");
            assert!(out.contains("ok"), "{out}");
        }
    }
}

// ---------------------------------------------------------------- 6. errors

#[test]
fn missing_and_deleted_secrets_are_not_found() {
    let aws = Aws::reader();
    let missing = unique("fs/missing");
    let out = aws.fetch().arg(&missing).assert().code(1);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("not found"), "{err}");
    assert!(err.contains(&missing), "{err}");

    let deleted = unique("fs/deleted");
    put_string(&deleted, "gone");
    moto().call(json!({"op": "delete_secret", "name": deleted}));
    let out = aws.fetch().arg(&deleted).assert().code(1);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("deletion"), "{err}");
    assert!(!err.contains("gone"), "{err}");
}

#[test]
fn access_denied_names_the_permission() {
    // moto checks the action only (it ignores Resource in IAM policies), so the denied
    // caller is a user with no policy at all.
    let aws = Aws::nobody();
    let name = unique("fs/denied");
    let hidden = canary();
    put_string(&name, &hidden);
    // Several at once: the batch is refused, each secret then reports the denial.
    let other = unique("fs/denied2");
    put_string(&other, &hidden);
    let out = aws.fetch().args([&name, &other]).assert().code(77);
    let lines: Vec<ErrorLine> = stdout(&out).lines().map(parse_error).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.error.code == 77), "{lines:?}");
    assert!(!stdout(&out).contains(&hidden));
    assert!(!stderr(&out).contains(&hidden));

    let out = aws.fetch().arg(&name).assert().code(77);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(!err.contains(&hidden), "{err}");
    assert!(err.contains(&name), "{err}");
    assert!(err.contains("secretsmanager:GetSecretValue"), "{err}");
}

#[test]
fn a_policy_that_denies_the_read_is_a_denial() {
    // Allowed everything in Secrets Manager but GetSecretValue, which is denied outright.
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    let (creds, _) = new_user("denied-by-policy", Some(policy));
    let aws = Aws {
        endpoint: moto().endpoint.clone(),
        creds,
    };
    let name = unique("fs/policy-denied");
    let hidden = canary();
    put_string(&name, &hidden);
    let out = aws.fetch().arg(&name).assert().code(77);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("access to secret `{name}` is denied")),
        "{err}"
    );
    assert!(err.contains("secretsmanager:GetSecretValue"), "{err}");
    assert!(!err.contains(&hidden), "{err}");
}

#[test]
fn unknown_keys_are_denied() {
    let aws = Aws {
        endpoint: moto().endpoint.clone(),
        creds: Creds::fake(),
    };
    let out = aws.fetch().arg(unique("fs/any")).assert().code(77);
    assert!(stdout(&out).is_empty());
    assert!(
        !stderr(&out).contains(&Creds::fake().secret_access_key),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreachable_endpoint_is_69_within_the_timeout() {
    let aws = Aws {
        endpoint: "http://127.0.0.1:1".into(),
        creds: Creds::fake(),
    };
    let start = Instant::now();
    let out = aws.fetch().arg("fs/anything").assert().code(69);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("fetch-secret: error:"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn usage_errors() {
    let aws = Aws::reader();
    let out = aws
        .fetch()
        .args(["a", "b", "--output", "raw"])
        .assert()
        .code(64);
    assert!(stdout(&out).is_empty());
    aws.fetch()
        .args(["a", "b", "--field", "x"])
        .assert()
        .code(64);
    aws.fetch()
        .args(["a", "b", "--env", "X", "--output", "env"])
        .assert()
        .code(64);
    aws.fetch()
        .args(["--output", "nope", "a"])
        .assert()
        .code(64);
    // Nothing named and nothing on stdin: no identity to act for, nothing fetched.
    let out = aws.fetch().write_stdin("").assert().code(77);
    assert!(stdout(&out).is_empty());
}

#[test]
fn secret_id_from_the_environment() {
    let aws = Aws::reader();
    let name = unique("fs/envid");
    put_string(&name, "from-env");
    let out = aws
        .fetch()
        .env("VAULTLESS_SECRET_ID", &name)
        .args(["--output", "raw"])
        .assert()
        .success();
    assert_eq!(stdout(&out), "from-env");
}

// ---------------------------------------------------------------- 7. batches

#[test]
fn several_secrets_print_ndjson_in_argument_order() {
    let aws = Aws::reader();
    let names: Vec<String> = (0..3).map(|i| unique(&format!("fs/batch{i}"))).collect();
    for (i, n) in names.iter().enumerate() {
        put_string(n, &format!("value-{i}"));
    }
    let order = [&names[2], &names[0], &names[1]];
    let out = aws.fetch().args(order).assert().success();
    let lines: Vec<Secret> = stdout(&out).lines().map(parse_secret).collect();
    assert_eq!(lines.len(), 3);
    for (got, want) in lines.iter().zip(order) {
        assert_eq!(&got.name, want);
    }
    assert_eq!(lines[0].secret_string.as_deref(), Some("value-2"));
    assert_eq!(lines[1].secret_string.as_deref(), Some("value-0"));

    // One missing: an error line in its place, the others print, exit 1.
    let missing = unique("fs/batch-missing");
    let out = aws
        .fetch()
        .args([&names[0], &missing, &names[1]])
        .assert()
        .code(1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(parse_secret(lines[0]).name, names[0]);
    let err = parse_error(lines[1]);
    assert_eq!(err.error.code, 1);
    assert!(err.error.message.contains(&missing), "{err:?}");
    assert_eq!(parse_secret(lines[2]).name, names[1]);
    assert!(stderr(&out).contains("item 2"), "{}", stderr(&out));

    // The same secret by ARN and by name.
    let (arn, _) = put_string(&names[0], "value-0b");
    let out = aws.fetch().args([&arn, &names[0]]).assert().success();
    let lines: Vec<Secret> = stdout(&out).lines().map(parse_secret).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|s| s.arn == arn && s.name == names[0]));

    // Several with a version stage go one by one, still in order.
    let out = aws
        .fetch()
        .args([
            names[1].as_str(),
            names[0].as_str(),
            "--version-stage",
            "AWSPREVIOUS",
        ])
        .assert()
        .code(1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // names[1] has one version only; names[0] has a previous one.
    assert_eq!(parse_error(lines[0]).error.code, 1);
    assert_eq!(
        parse_secret(lines[1]).secret_string.as_deref(),
        Some("value-0")
    );
}

// ---------------------------------------------------------------- 8. broker

/// A broker: its config (role `ci` granted `<prefix>/*`), a caller moto knows, and the
/// broker's own Secrets Manager reader.
struct Broker {
    cfg: PathBuf,
    prefix: String,
    caller: Creds,
    caller_arn: String,
    aws: Aws,
}

impl Broker {
    fn new(extra: &str) -> Broker {
        let aws = Aws::reader();
        let (caller, caller_arn) = new_user("caller", None);
        let prefix = unique("grant");
        let cfg = config(&format!(
            r#"[login]
server_id = "{SERVER_ID}"
sts_endpoint = "{}"
timeout = "5s"

[roles.ci]
bound_account_ids = ["{ACCOUNT}"]
secrets = ["{prefix}/*"]

[roles.nothing]
bound_account_ids = ["{ACCOUNT}"]
{extra}
"#,
            aws.endpoint
        ));
        Broker {
            cfg,
            prefix,
            caller,
            caller_arn,
            aws,
        }
    }

    fn proof(&self, role: &str, secret_id: Option<&str>) -> String {
        let mut args = vec!["--server-id", SERVER_ID, "--role", role];
        let request;
        if let Some(id) = secret_id {
            request = format!("secret_id={id}");
            args.extend(["--request", request.as_str()]);
        }
        sign(&self.caller, &args)
    }

    /// sign-login | verify-login: one identity line.
    fn identity(&self, role: &str, secret_id: Option<&str>) -> String {
        let out = verify(&self.cfg, self.proof(role, secret_id)).success();
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        text
    }

    fn fetch(&self) -> Command {
        let mut cmd = self.aws.fetch();
        cmd.arg("--config").arg(&self.cfg);
        cmd
    }
}

#[test]
fn broker_returns_granted_secrets_with_the_caller() {
    let b = Broker::new("");
    let granted = format!("{}/db", b.prefix);
    put_string(&granted, "granted-value");
    let identity = b.identity("ci", Some(&granted));

    let out = b.fetch().write_stdin(identity.clone()).assert().success();
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let s = parse_secret(text.trim_end());
    assert_eq!(s.name, granted);
    assert_eq!(s.secret_string.as_deref(), Some("granted-value"));
    let caller = s.caller.expect("the caller travels along");
    assert_eq!(caller.identity.arn, b.caller_arn);
    assert_eq!(caller.identity.account_id, ACCOUNT);
    assert_eq!(caller.role, "ci");

    // --identity - reads the same from stdin; --output raw works for one caller.
    let out = b
        .fetch()
        .args(["--identity", "-", "--output", "raw"])
        .write_stdin(identity.clone())
        .assert()
        .success();
    assert_eq!(stdout(&out), "granted-value");

    // --identity FILE: stdin is not read at all.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &identity).unwrap();
    let out = b
        .fetch()
        .arg("--identity")
        .arg(file.path())
        .write_stdin("this is not an identity")
        .assert()
        .success();
    let s = parse_secret(stdout(&out).trim_end());
    assert_eq!(s.secret_string.as_deref(), Some("granted-value"));
    assert_eq!(s.caller.unwrap().identity.arn, b.caller_arn);
}

#[test]
fn broker_refuses_what_the_role_is_not_granted() {
    let b = Broker::new("");
    let outside = unique("outside") + "/db";
    let hidden = canary();
    put_string(&outside, &hidden);
    let identity = b.identity("ci", Some(&outside));
    let out = b.fetch().write_stdin(identity).assert().code(77);
    assert!(!stdout(&out).contains(&hidden), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("not granted"), "{err}");
    assert!(err.contains(&outside), "{err}");
    assert!(!err.contains(&hidden), "{err}");

    // A role with no grants at all.
    let granted = format!("{}/db", b.prefix);
    put_string(&granted, "x");
    let identity = b.identity("nothing", Some(&granted));
    b.fetch().write_stdin(identity).assert().code(77);

    // A prefix that only looks like the grant.
    let lookalike = format!("{}x/db", b.prefix);
    put_string(&lookalike, &hidden);
    let identity = b.identity("ci", Some(&lookalike));
    let out = b.fetch().write_stdin(identity).assert().code(77);
    assert!(!stdout(&out).contains(&hidden));

    // The ARN of a secret outside the grant is refused too.
    let (outside_arn, _) = put_string(&outside, &hidden);
    let identity = b.identity("ci", Some(&outside_arn));
    let out = b.fetch().write_stdin(identity).assert().code(77);
    assert!(!stdout(&out).contains(&hidden));
}

#[test]
fn broker_secret_as_an_argument() {
    let b = Broker::new("");
    let granted = format!("{}/arg", b.prefix);
    put_string(&granted, "arg-value");
    let outside = unique("outside") + "/arg";
    put_string(&outside, "outside-value");
    // The proof asks for nothing; the argument names the secret.
    let identity = b.identity("ci", None);
    let out = b
        .fetch()
        .args(["--identity", "-", granted.as_str()])
        .write_stdin(identity.clone())
        .assert()
        .success();
    let s = parse_secret(stdout(&out).trim_end());
    assert_eq!(s.secret_string.as_deref(), Some("arg-value"));
    assert_eq!(s.caller.unwrap().identity.arn, b.caller_arn);

    let out = b
        .fetch()
        .args(["--identity", "-", outside.as_str()])
        .write_stdin(identity.clone())
        .assert()
        .code(77);
    assert!(!stdout(&out).contains("outside-value"));

    // An argument overrides what the proof asked for.
    let identity = b.identity("ci", Some(&outside));
    let out = b
        .fetch()
        .args(["--identity", "-", granted.as_str()])
        .write_stdin(identity)
        .assert()
        .success();
    assert_eq!(
        parse_secret(stdout(&out).trim_end())
            .secret_string
            .as_deref(),
        Some("arg-value")
    );

    // An identity that asks for nothing, with nothing named: bad input, no value.
    let identity = b.identity("ci", None);
    let out = b.fetch().write_stdin(identity).assert().code(65);
    assert!(stdout(&out).is_empty());
}

#[test]
fn broker_batch_keeps_one_line_per_caller() {
    let b = Broker::new("");
    let granted = format!("{}/batch", b.prefix);
    put_string(&granted, "batch-value");
    let outside = unique("outside") + "/batch";
    let hidden = canary();
    put_string(&outside, &hidden);

    let identities = format!(
        "{}{}",
        b.identity("ci", Some(&granted)),
        b.identity("ci", Some(&outside))
    );
    let out = b.fetch().write_stdin(identities).assert().code(77);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let s = parse_secret(lines[0]);
    assert_eq!(s.secret_string.as_deref(), Some("batch-value"));
    assert_eq!(s.caller.unwrap().identity.arn, b.caller_arn);
    assert_eq!(parse_error(lines[1]).error.code, 77);
    assert!(!text.contains(&hidden));
    assert!(!stderr(&out).contains(&hidden));

    // The other order.
    let identities = format!(
        "{}{}",
        b.identity("ci", Some(&outside)),
        b.identity("ci", Some(&granted))
    );
    let out = b.fetch().write_stdin(identities).assert().code(77);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(parse_error(lines[0]).error.code, 77);
    assert_eq!(parse_secret(lines[1]).name, granted);
}

#[test]
fn broker_turns_refused_proofs_into_denials() {
    let b = Broker::new("");
    let granted = format!("{}/refused", b.prefix);
    put_string(&granted, "refused-test-value");
    // verify-login, given a good proof and one signed with keys moto never issued,
    // prints an identity and an error line.
    let good = b.proof("ci", Some(&granted));
    let bad = support::sign_request(&Creds::fake(), "ci", &format!("secret_id={granted}"));
    let verified = verify(&b.cfg, format!("{good}\n{bad}\n")).code(77);
    let identities = stdout(&verified);
    assert_eq!(identities.lines().count(), 2, "{identities}");
    assert!(
        serde_json::from_str::<ErrorLine>(identities.lines().nth(1).unwrap()).is_ok(),
        "{identities}"
    );

    let out = b.fetch().write_stdin(identities).assert().code(77);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        parse_secret(lines[0]).secret_string.as_deref(),
        Some("refused-test-value")
    );
    let refused = parse_error(lines[1]);
    assert_eq!(refused.error.code, 77);
    assert!(
        refused.error.message.contains("not verified"),
        "{refused:?}"
    );

    // An error line alone: a denial, and nothing fetched.
    let only_error = r#"{"error":{"code":77,"message":"proof refused"}}"#;
    let out = b.fetch().write_stdin(only_error).assert().code(77);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // Garbage is bad input.
    b.fetch()
        .write_stdin("{\"identity\": 1}\n")
        .assert()
        .code(65);
}

#[test]
fn broker_require_identity_never_falls_back() {
    let b = Broker::new("[broker]\nrequire_identity = true\n");
    let granted = format!("{}/req", b.prefix);
    let hidden = canary();
    put_string(&granted, &hidden);
    // The broker's own keys could read the secret; it must not act on them.
    let out = b.fetch().arg(&granted).write_stdin("").assert().code(77);
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(!stderr(&out).contains(&hidden));
    let out = b
        .fetch()
        .args([granted.as_str(), "--output", "raw"])
        .write_stdin("\n\n")
        .assert()
        .code(77);
    assert!(stdout(&out).is_empty());
    // --exec cannot act for callers.
    b.fetch()
        .args([
            granted.as_str(),
            "--exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$X\"",
        ])
        .write_stdin("")
        .assert()
        .code(64);
    // With a verified caller it works.
    let identity = b.identity("ci", None);
    let out = b
        .fetch()
        .arg(&granted)
        .write_stdin(identity)
        .assert()
        .success();
    assert_eq!(
        parse_secret(stdout(&out).trim_end())
            .secret_string
            .as_deref(),
        Some(hidden.as_str())
    );
}

// ---------------------------------------------------------------- 9. canary

#[test]
fn canary_never_reaches_stderr_or_argv() {
    let aws = Aws::reader();
    let c = canary();
    let json_secret = &unique("fs/canary-json");
    put_json(
        json_secret,
        &json!({"password": c, "nested": {"token": c}, "user": "u"}),
    );
    let plain = &unique("fs/canary-plain");
    put_string(plain, &c);
    let second = &unique("fs/canary-second");
    put_json(second, &json!({"password": format!("{c}-2")}));
    let binary = &unique("fs/canary-bin");
    put_binary(binary, c.as_bytes());
    let (json_secret, plain, second, binary) = (
        json_secret.as_str(),
        plain.as_str(),
        second.as_str(),
        binary.as_str(),
    );

    // (label, command, whether stdout may hold the value)
    let mut runs: Vec<(&str, Command, bool)> = Vec::new();
    let mut add = |label: &'static str, args: Vec<&str>, stdout_ok: bool| {
        let mut cmd = aws.fetch();
        cmd.args(args);
        runs.push((label, cmd, stdout_ok));
    };
    add("json", vec![json_secret], true);
    add("json -v", vec!["-v", json_secret], true);
    add("raw", vec![plain, "--output", "raw"], true);
    add("raw -v", vec![plain, "--output", "raw", "-v"], true);
    add("raw binary", vec![binary, "--output", "raw"], true);
    add("env", vec![json_secret, "--output", "env"], true);
    add("env -v", vec![json_secret, "--output", "env", "-v"], true);
    add("dotenv", vec![json_secret, "--output", "dotenv"], true);
    add(
        "env plain",
        vec![plain, "--output", "env", "--env", "P"],
        true,
    );
    add("field", vec![json_secret, "--field", "password"], true);
    add(
        "field nested",
        vec![json_secret, "--field", "nested.token"],
        true,
    );
    add("batch", vec![json_secret, plain, binary], true);
    add("batch -v", vec!["-v", json_secret, plain], true);
    add(
        "missing field",
        vec![json_secret, "--field", "nope", "-v"],
        false,
    );
    add(
        "missing nested field",
        vec![json_secret, "--field", "nested.nope"],
        false,
    );
    add(
        "field of a string",
        vec![json_secret, "--field", "password.x"],
        false,
    );
    add(
        "field of a plain secret",
        vec![plain, "--field", "x"],
        false,
    );
    add("plain without --env", vec![plain, "--output", "env"], false);
    add(
        "binary as env",
        vec![binary, "--output", "env", "--env", "B"],
        false,
    );
    add(
        "exec",
        vec![
            json_secret,
            "--exec",
            "--",
            "sh",
            "-c",
            "test -n \"$PASSWORD\"",
        ],
        false,
    );
    add(
        "exec -v merge",
        vec![
            "-v",
            json_secret,
            second,
            "--exec",
            "--",
            "sh",
            "-c",
            "test -n \"$PASSWORD\"",
        ],
        false,
    );
    add(
        "exec failing child",
        vec![json_secret, "--exec", "--", "sh", "-c", "exit 3"],
        false,
    );
    add(
        "exec missing command",
        vec![json_secret, "--exec", "--", "/nonexistent/cmd"],
        false,
    );

    let nobody = Aws::nobody();
    let mut denied = nobody.fetch();
    denied.args(["-v", json_secret]);
    runs.push(("denied", denied, false));
    let mut denied_raw = nobody.fetch();
    denied_raw.args([plain, "--output", "raw"]);
    runs.push(("denied raw", denied_raw, false));
    let mut denied_batch = nobody.fetch();
    denied_batch.args([json_secret, plain]);
    runs.push(("denied batch", denied_batch, false));

    let b = Broker::new("");
    let outside = unique("outside") + "/canary";
    put_string(&outside, &c);
    let granted = format!("{}/canary", b.prefix);
    put_string(&granted, &c);
    let mut refused = b.fetch();
    refused
        .arg("-v")
        .write_stdin(b.identity("ci", Some(&outside)));
    runs.push(("broker refused", refused, false));
    let mut refused_arg = b.fetch();
    refused_arg
        .args(["--identity", "-", outside.as_str(), "--output", "raw"])
        .write_stdin(b.identity("ci", None));
    runs.push(("broker refused arg", refused_arg, false));
    let mut served = b.fetch();
    served
        .arg("-v")
        .write_stdin(b.identity("ci", Some(&granted)));
    runs.push(("broker served -v", served, true));

    let secret_key = aws.creds.secret_access_key.clone();
    let c_b64 = base64::engine::general_purpose::STANDARD.encode(c.as_bytes());
    for (label, mut cmd, stdout_ok) in runs {
        let output = cmd.output().unwrap();
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !err.contains(&c),
            "{label}: the canary is on stderr:\n{err}"
        );
        assert!(
            !err.contains(&secret_key) && !err.contains(&b.aws.creds.secret_access_key),
            "{label}: an AWS secret key is on stderr:\n{err}"
        );
        if stdout_ok {
            assert!(
                output.status.success(),
                "{label}: {:?}\n{err}",
                output.status
            );
            // The value really is in the secret: the modes that show it do.
            assert!(
                out.contains(&c) || out.contains(&c_b64),
                "{label}: the value is not on stdout:\n{out}"
            );
        } else {
            assert!(
                !out.contains(&c),
                "{label}: the canary is on stdout:\n{out}"
            );
            // Every error line (stdout) and error message says nothing of the value.
            for line in out.lines() {
                if let Ok(e) = serde_json::from_str::<ErrorLine>(line) {
                    assert!(!e.error.message.contains(&c), "{label}: {line}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- 10. terminal

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn a_terminal_is_told_it_shows_a_secret() {
    let has_script = StdCommand::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_script {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let aws = Aws::reader();
    let name = unique("fs/tty");
    put_string(&name, "tty-value");
    let exe = assert_cmd::cargo::cargo_bin("fetch-secret");
    let run = |args: &str| -> String {
        let line = format!(
            "{} {} {args}",
            shell_quote(exe.to_str().unwrap()),
            shell_quote(&name)
        );
        let mut cmd = StdCommand::new("script");
        clean_env(&mut cmd);
        let output = cmd
            .env("AWS_ACCESS_KEY_ID", &aws.creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &aws.creds.secret_access_key)
            .env("AWS_ENDPOINT_URL", &aws.endpoint)
            .env("AWS_REGION", REGION)
            .env("SHELL", "/bin/sh")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{line}: {:?}\n{text}",
            output.status
        );
        text
    };
    let raw = run("--output raw");
    assert!(raw.contains("shown on this terminal"), "{raw:?}");
    // On a terminal a text value ends with a newline, so the prompt starts on its own line.
    assert!(
        raw.contains("tty-value\r\n") || raw.contains("tty-value\n"),
        "{raw:?}"
    );
    let json = run("");
    assert!(json.contains("shown on this terminal"), "{json:?}");
    assert!(json.contains("tty-value"), "{json:?}");
    // Through a pipe there is no notice.
    let piped = run("--output raw | cat");
    assert!(!piped.contains("shown on this terminal"), "{piped:?}");
    assert!(piped.contains("tty-value"), "{piped:?}");
}
