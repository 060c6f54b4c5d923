//! mint-creds against moto (signature checks on): each credential type minted and then
//! used for a real call, the lease document and the other output formats, the AWS CLI
//! running mint-creds as its credential_process, iam_user leases (policies, groups,
//! revocation), TTL rules, config errors, --exec, revocation when the credentials
//! cannot be handed over, the broker pipeline (sign-login | verify-login | mint-creds),
//! and that no secret key or session token ever reaches stderr.
//!
//! What moto cannot do, and what these tests therefore do not claim:
//! - GetFederationToken and GetSessionToken answer with the fixed example credentials
//!   of the AWS documentation (AKIAIOSFODNN7EXAMPLE), which moto itself then refuses
//!   (InvalidClientTokenId). For those two types the tests check the lease, the ledger
//!   and revocation, and use the credentials only if moto accepts them.
//! - moto's signature check fails (SignatureDoesNotMatch) on a form body that holds
//!   `%20`, which is how the Rust SDK encodes a space: the policy documents here are
//!   compact JSON, without spaces.

mod support;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use common::docs::{Lease, ProcessCredentials, Revocation, RevocationStatus};
use serde_json::{Value, json};
use support::{ACCOUNT, Creds, SERVER_ID, bin, moto, sign, unique, verify};

const REGION: &str = "us-east-1";
/// Compact on purpose: see the module comment.
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
/// The access key id of the AWS documentation, which moto hands out for some STS calls.
const EXAMPLE_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

fn allow_all() -> Value {
    serde_json::from_str(ALLOW_ALL).unwrap()
}

/// What one run of a tool did.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn out(a: &Assert) -> Out {
    let o = a.get_output();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout.clone()).unwrap(),
        stderr: String::from_utf8(o.stderr.clone()).unwrap(),
    }
}

fn run(cmd: &mut Command) -> Out {
    out(&cmd.assert())
}

fn aws_bin() -> PathBuf {
    support::root().join(".venv/bin/aws")
}

fn mint_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mint-creds")
}

fn revoke_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("revoke-lease")
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

/// A test's world: a moto user allowed everything (the minter), and a config file
/// with its own ledger, both in a temp dir of the test's own.
struct Setup {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    endpoint: String,
    minter: Creds,
    minter_arn: String,
}

impl Setup {
    /// `body` is the config after the `[ledger]` table.
    fn new(body: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let (minter, minter_arn, endpoint) = {
            let mut m = moto();
            let v = m.call(json!({"op": "user", "name": unique("minter"), "policy": allow_all()}));
            (
                Creds {
                    access_key_id: v["access_key_id"].as_str().unwrap().into(),
                    secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
                    session_token: None,
                },
                v["arn"].as_str().unwrap().to_string(),
                m.endpoint.clone(),
            )
        };
        let setup = Setup {
            cfg: dir.path().join("vaultless.toml"),
            dir,
            endpoint,
            minter,
            minter_arn,
        };
        setup.write_config(body);
        setup
    }

    fn write_config(&self, body: &str) {
        std::fs::write(
            &self.cfg,
            format!("[ledger]\npath = \"{}\"\n\n{body}", self.ledger().display()),
        )
        .unwrap();
    }

    fn ledger(&self) -> PathBuf {
        self.dir.path().join("leases.db")
    }

    /// Every byte the ledger keeps on disk (the database and its WAL).
    fn ledger_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("leases.db")
            {
                all.extend(std::fs::read(&path).unwrap());
            }
        }
        assert!(
            !all.is_empty(),
            "no ledger in {}",
            self.dir.path().display()
        );
        all
    }

    fn env(&self, cmd: &mut Command) {
        self.minter.apply(cmd);
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-credentials"),
            );
    }

    /// mint-creds with the minter's keys, this test's config, and -v (so that every
    /// run also shows that logs carry no secret).
    fn mint(&self) -> Command {
        let mut cmd = bin("mint-creds");
        self.env(&mut cmd);
        cmd.arg("--config").arg(&self.cfg).arg("-v");
        cmd
    }

    fn revoke(&self) -> Command {
        let mut cmd = bin("revoke-lease");
        self.env(&mut cmd);
        cmd.arg("--config").arg(&self.cfg);
        cmd
    }

    /// The same environment as [`Setup::mint`], for a process the test drives itself.
    fn std_mint(&self) -> StdCommand {
        let mut cmd = StdCommand::new(mint_bin());
        clean_env(&mut cmd);
        cmd.env("AWS_ACCESS_KEY_ID", &self.minter.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.minter.secret_access_key)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-credentials"),
            )
            .arg("--config")
            .arg(&self.cfg)
            .arg("-v");
        cmd
    }

    /// Mints a lease, which must succeed; checks its shape and that stderr kept its secrets.
    fn lease(&self, profile: &str, kind: &str, extra: &[&str]) -> (Lease, Out) {
        let o = run(self.mint().arg(profile).args(extra));
        assert_eq!(o.code, 0, "minting {profile}: {}", o.stderr);
        assert_eq!(
            o.stdout.lines().count(),
            1,
            "one lease, one line: {}",
            o.stdout
        );
        let lease = parse_lease(&o.stdout);
        check_lease(&lease, profile, kind);
        assert_quiet(&o.stderr, &lease.credentials);
        (lease, o)
    }

    /// `revoke-lease` with lease documents (or ids) on stdin: one result per lease.
    fn revoke_stdin(&self, input: &str) -> Vec<Revocation> {
        let o = run(self.revoke().write_stdin(input.to_string()));
        assert_eq!(o.code, 0, "revoke-lease: {}{}", o.stdout, o.stderr);
        parse_revocations(&o.stdout)
    }

    /// What the ledger says about a lease, without changing anything.
    fn ledger_state(&self, lease_id: &str) -> RevocationStatus {
        let o = run(self.revoke().args(["--dry-run", lease_id]));
        assert_eq!(o.code, 0, "revoke-lease --dry-run: {}", o.stderr);
        let r = parse_revocations(&o.stdout);
        assert_eq!(r.len(), 1, "{}", o.stdout);
        assert_eq!(r[0].lease_id, lease_id);
        r[0].status
    }

    /// The live (not revoked) leases whose id starts with `prefix`.
    fn live(&self, prefix: &str) -> Vec<String> {
        let o = run(self.revoke().args(["--dry-run", "--prefix", prefix]));
        assert_eq!(o.code, 0, "revoke-lease --dry-run: {}", o.stderr);
        parse_revocations(&o.stdout)
            .into_iter()
            .map(|r| {
                assert_eq!(r.status, RevocationStatus::WouldRevoke);
                r.lease_id
            })
            .collect()
    }

    /// Runs the AWS CLI as the minter (allowed everything): JSON output.
    fn admin_cli(&self, args: &[&str]) -> Value {
        let creds = ProcessCredentials {
            version: 1,
            access_key_id: self.minter.access_key_id.clone(),
            secret_access_key: self.minter.secret_access_key.clone(),
            session_token: None,
            expiration: None,
        };
        aws_cli(&creds, &self.endpoint, args)
            .unwrap_or_else(|e| panic!("aws {}: {e}", args.join(" ")))
    }
}

fn parse_lease(text: &str) -> Lease {
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("not a lease document ({e}): {text}"))
}

fn parse_revocations(text: &str) -> Vec<Revocation> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a revocation ({e}): {l}")))
        .collect()
}

fn timestamp(text: &str, what: &str) -> jiff::Timestamp {
    assert!(text.ends_with('Z'), "{what} is not RFC 3339 UTC: {text}");
    text.parse()
        .unwrap_or_else(|e| panic!("{what} is not RFC 3339 ({e}): {text}"))
}

/// The lease document's contract (DESIGN "Lease").
fn check_lease(lease: &Lease, profile: &str, kind: &str) {
    let random = lease
        .lease_id
        .strip_prefix(&format!("creds/{profile}/"))
        .unwrap_or_else(|| panic!("lease id {} is not creds/{profile}/...", lease.lease_id));
    assert!(
        random.len() >= 16
            && random
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "lease id {} does not end in lowercase hex",
        lease.lease_id
    );
    assert_eq!(lease.credential_type, kind);
    assert!(!lease.renewable);
    let issued = timestamp(&lease.issued_at, "issued_at");
    let expires = timestamp(&lease.expires_at, "expires_at");
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now - issued.as_second()).abs() < 120,
        "issued_at {} is not now",
        lease.issued_at
    );
    assert_eq!(
        u64::try_from(expires.as_second() - issued.as_second()).unwrap(),
        lease.lease_duration,
        "lease_duration is expires_at - issued_at"
    );
    let c = &lease.credentials;
    assert_eq!(c.version, 1);
    assert!(!c.access_key_id.is_empty());
    assert!(!c.secret_access_key.is_empty());
    assert_eq!(
        c.expiration.as_deref().map(|e| timestamp(e, "Expiration")),
        Some(expires),
        "credentials.Expiration is the lease's expiry"
    );
    if kind == "iam_user" {
        assert_eq!(c.session_token, None, "an access key has no session token");
        assert!(c.access_key_id.starts_with("AKIA"), "{}", c.access_key_id);
    } else {
        assert!(
            c.session_token.as_deref().is_some_and(|t| !t.is_empty()),
            "STS credentials carry a session token"
        );
    }
}

/// An STS lease lives `secs`: issued_at is mint-creds' clock before the call, and
/// expires_at is moto's (same machine) during it, which may be a second or two later.
fn assert_sts_duration(lease: &Lease, secs: u64, what: &str) {
    assert!(
        (secs..=secs + 2).contains(&lease.lease_duration),
        "{what}: lease_duration {} is not {secs}",
        lease.lease_duration
    );
}

/// DESIGN: "A secret value, secret key or session token never appears in stderr".
fn assert_quiet(stderr: &str, c: &ProcessCredentials) {
    let mut secrets = vec![c.secret_access_key.as_str()];
    if let Some(t) = &c.session_token {
        // The whole token, and also any recognisable piece of it.
        secrets.extend([
            t.as_str(),
            &t[..t.len().min(24)],
            &t[t.len().saturating_sub(24)..],
        ]);
    }
    for secret in secrets {
        if stderr.contains(secret) {
            panic!(
                "a secret is on stderr (shown here as <SECRET>): {}",
                stderr.replace(secret, "<SECRET>")
            );
        }
    }
}

/// Runs the AWS CLI with exactly these credentials against moto; JSON output or the
/// CLI's stderr.
fn aws_cli(c: &ProcessCredentials, endpoint: &str, args: &[&str]) -> Result<Value, String> {
    let mut cmd = StdCommand::new(aws_bin());
    clean_env(&mut cmd);
    cmd.env("AWS_ACCESS_KEY_ID", &c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .args(args)
        .args(["--output", "json"])
        .stdin(Stdio::null());
    if let Some(t) = &c.session_token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    let o = cmd.output().expect("running the AWS CLI");
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    let text = String::from_utf8(o.stdout).unwrap();
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws printed ({e}): {text}")))
}

/// `sts get-caller-identity` with the lease's credentials: the ARN, or the CLI's error.
fn caller_arn(c: &ProcessCredentials, endpoint: &str) -> Result<String, String> {
    aws_cli(c, endpoint, &["sts", "get-caller-identity"])
        .map(|v| v["Arn"].as_str().expect("an Arn").to_string())
}

/// The IAM users whose name starts with `prefix`.
fn users(prefix: &str) -> Vec<String> {
    let v = moto().call(json!({"op": "list_users", "prefix": prefix}));
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect()
}

/// A new IAM role anyone may assume: its ARN.
fn new_role(prefix: &str) -> String {
    let v = moto().call(json!({"op": "role", "name": unique(prefix)}));
    v["role_arn"].as_str().unwrap().to_string()
}

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// A profile name no other test uses (it ends up in lease ids and IAM user names).
fn profile(prefix: &str) -> String {
    unique(prefix)
}

// ---------------------------------------------------------------- 1. each type, used

#[test]
fn every_credential_type_is_minted_and_works() {
    let role = new_role("deployer");
    let managed = moto()
        .call(json!({"op": "managed_policy", "name": unique("fed"), "policy": allow_all()}))["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let (ar, iu, ft, ft_arns, st) = (
        profile("ar"),
        profile("iu"),
        profile("ft"),
        profile("fta"),
        profile("st"),
    );
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"

[creds.{iu}]
type = "iam_user"
policy_document = '{ALLOW_ALL}'

[creds.{ft}]
type = "federation_token"
policy_document = '{ALLOW_ALL}'

[creds.{ft_arns}]
type = "federation_token"
policy_arns = ["{managed}"]

[creds.{st}]
type = "session_token"
"#
    ));

    // assumed_role: the role, in a session named vaultless-...
    let (lease, _) = s.lease(&ar, "assumed_role", &[]);
    assert_sts_duration(&lease, 900, "the default lifetime, 15m");
    assert!(lease.credentials.access_key_id.starts_with("ASIA"));
    let arn = caller_arn(&lease.credentials, &s.endpoint).expect("assumed-role credentials work");
    let prefix = format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/{}/vaultless-",
        role_name(&role)
    );
    assert!(arn.starts_with(&prefix), "{arn} is not {prefix}...");
    let r = s.revoke_stdin(&serde_json::to_string(&lease).unwrap());
    assert_eq!(r[0].status, RevocationStatus::ExpiresOnly);
    assert_eq!(r[0].expires_at.as_deref(), Some(lease.expires_at.as_str()));

    // iam_user: a new user of the lease's own.
    let (lease, _) = s.lease(&iu, "iam_user", &[]);
    let arn = caller_arn(&lease.credentials, &s.endpoint).expect("the new user's key works");
    let prefix = format!("arn:aws:iam::{ACCOUNT}:user/vaultless-{iu}-");
    assert!(arn.starts_with(&prefix), "{arn} is not {prefix}...");
    assert_ne!(arn, s.minter_arn);
    let r = s.revoke_stdin(&lease.lease_id);
    assert_eq!(r[0].status, RevocationStatus::Revoked);
    assert_eq!(users(&format!("vaultless-{iu}-")), Vec::<String>::new());
    let gone = caller_arn(&lease.credentials, &s.endpoint)
        .expect_err("a revoked user's key must stop working");
    assert!(gone.contains("InvalidClientTokenId"), "{gone}");

    // federation_token and session_token: moto answers with the documentation's example
    // keys and then refuses them, so they are used only if moto accepts them.
    for (name, kind, shape) in [
        (&ft, "federation_token", "federated-user/vl-"),
        (&ft_arns, "federation_token", "federated-user/vl-"),
        (&st, "session_token", ""),
    ] {
        let (lease, _) = s.lease(name, kind, &[]);
        assert_sts_duration(&lease, 900, kind);
        match caller_arn(&lease.credentials, &s.endpoint) {
            Ok(arn) if kind == "session_token" => assert_eq!(arn, s.minter_arn),
            Ok(arn) => assert!(
                arn.starts_with(&format!("arn:aws:sts::{ACCOUNT}:{shape}")),
                "{arn}"
            ),
            Err(e) => {
                assert_eq!(
                    lease.credentials.access_key_id, EXAMPLE_KEY,
                    "moto refused {kind} credentials that are not its example ones: {e}"
                );
                assert!(e.contains("InvalidClientTokenId"), "{e}");
            }
        }
        assert_eq!(
            s.ledger_state(&lease.lease_id),
            RevocationStatus::WouldRevoke
        );
        let r = s.revoke_stdin(&serde_json::to_string(&lease).unwrap());
        assert_eq!(r[0].status, RevocationStatus::ExpiresOnly, "{kind}");
        assert_eq!(
            s.ledger_state(&lease.lease_id),
            RevocationStatus::AlreadyRevoked
        );
    }
}

// ---------------------------------------------------------------- 2. output formats

#[test]
fn lease_document_and_output_formats() {
    let role = new_role("fmt");
    let (ar, iu) = (profile("fmt-ar"), profile("fmt-iu"));
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"

[creds.{iu}]
type = "iam_user"
"#
    ));

    // json: the lease document; its credentials as they would be in the other formats.
    let (lease, o) = s.lease(&ar, "assumed_role", &[]);
    let doc: Value = serde_json::from_str(&o.stdout).unwrap();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "credential_type",
            "credentials",
            "expires_at",
            "issued_at",
            "lease_duration",
            "lease_id",
            "renewable"
        ]
    );
    assert_eq!(doc["credentials"]["Version"], json!(1));
    assert_eq!(doc["lease_duration"], json!(lease.lease_duration));

    // credential-process: exactly the credentials object, with and without a token.
    for (name, kind, keys_wanted) in [
        (
            &ar,
            "assumed_role",
            &[
                "AccessKeyId",
                "Expiration",
                "SecretAccessKey",
                "SessionToken",
                "Version",
            ][..],
        ),
        (
            &iu,
            "iam_user",
            &["AccessKeyId", "Expiration", "SecretAccessKey", "Version"][..],
        ),
    ] {
        let o = run(s.mint().args([name, "--output", "credential-process"]));
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, keys_wanted, "{kind}: {}", o.stdout);
        let c: ProcessCredentials = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(c.version, 1);
        assert_quiet(&o.stderr, &c);
        let expires = timestamp(c.expiration.as_deref().unwrap(), "Expiration");
        let left = expires.as_second() - jiff::Timestamp::now().as_second();
        // credential-process defaults to 1h: the SDKs re-run it within 15m of expiry.
        assert!((3500..=3602).contains(&left), "{kind}: expires in {left}s");
        if kind == "iam_user" {
            assert!(v.get("SessionToken").is_none());
            let arn = caller_arn(&c, &s.endpoint).expect("the key works");
            assert!(arn.contains(&format!(":user/vaultless-{iu}-")), "{arn}");
        }
    }

    // env: export lines that sh reads back exactly.
    let o = run(s.mint().args([&ar, "--output", "env"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    for line in o.stdout.lines() {
        assert!(line.starts_with("export AWS_"), "{line}");
    }
    let mut sh = StdCommand::new("sh");
    sh.arg("-c")
        .arg(
            r#"eval "$(cat)"; printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION""#,
        )
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_CREDENTIAL_EXPIRATION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = sh.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), o.stdout.as_bytes()).unwrap();
    let read = child.wait_with_output().unwrap();
    assert!(read.status.success());
    let read = String::from_utf8(read.stdout).unwrap();
    let vars: Vec<&str> = read.lines().collect();
    assert_eq!(vars.len(), 4, "{read}");
    assert!(vars[0].starts_with("ASIA"), "{read}");
    assert!(vars.iter().all(|v| !v.is_empty()), "{read}");
    timestamp(vars[3], "AWS_CREDENTIAL_EXPIRATION");
    let c = ProcessCredentials {
        version: 1,
        access_key_id: vars[0].into(),
        secret_access_key: vars[1].into(),
        session_token: Some(vars[2].into()),
        expiration: None,
    };
    assert_quiet(&o.stderr, &c);
    let arn = caller_arn(&c, &s.endpoint).expect("the exported credentials work");
    assert!(arn.contains(":assumed-role/"), "{arn}");
}

// ---------------------------------------------------------------- 3. credential_process

#[test]
fn aws_cli_runs_mint_creds_as_its_credential_process() {
    let role = new_role("cp");
    let (ar, iu) = (profile("cp-ar"), profile("cp-iu"));
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"

[creds.{iu}]
type = "iam_user"
"#
    ));
    let aws_config = s.dir.path().join("aws-config");
    let line = |name: &str| {
        format!(
            "{} --config {} {name} --output credential-process",
            mint_bin().display(),
            s.cfg.display()
        )
    };
    std::fs::write(
        &aws_config,
        format!(
            "[profile ar]\nregion = {REGION}\ncredential_process = {}\n\n[profile iu]\nregion = {REGION}\ncredential_process = {}\n",
            line(&ar),
            line(&iu)
        ),
    )
    .unwrap();
    for (p, want) in [
        (
            "ar",
            format!(
                "arn:aws:sts::{ACCOUNT}:assumed-role/{}/vaultless-",
                role_name(&role)
            ),
        ),
        ("iu", format!("arn:aws:iam::{ACCOUNT}:user/vaultless-{iu}-")),
    ] {
        // The CLI's environment carries the minter's keys, for mint-creds to inherit;
        // with --profile the CLI itself ignores them.
        let mut cmd = StdCommand::new(aws_bin());
        clean_env(&mut cmd);
        let o = cmd
            .env("AWS_ACCESS_KEY_ID", &s.minter.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &s.minter.secret_access_key)
            .env("AWS_ENDPOINT_URL", &s.endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", &aws_config)
            .env("AWS_SHARED_CREDENTIALS_FILE", s.dir.path().join("none"))
            .args([
                "sts",
                "get-caller-identity",
                "--profile",
                p,
                "--output",
                "json",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "aws --profile {p}: {stderr}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let arn = v["Arn"].as_str().unwrap();
        assert!(arn.starts_with(&want), "{arn} is not {want}...");
        assert_ne!(arn, s.minter_arn, "the CLI used the minter's keys");
    }
    // One CLI call, one lease in the ledger (for revoke-lease). botocore refreshes
    // process credentials that expire within 15 minutes (its advisory refresh window)
    // on every use, so a lease of exactly the 15m default made the CLI run mint-creds
    // again for each call, leaving a lease (for iam_user: a live IAM user) per call.
    let leases = (
        s.live(&format!("creds/{ar}/")).len(),
        s.live(&format!("creds/{iu}/")).len(),
    );
    let o = run(s.revoke().args(["--prefix", &format!("creds/{iu}/")]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(users(&format!("vaultless-{iu}-")), Vec::<String>::new());
    assert_eq!(
        leases,
        (1, 1),
        "leases minted for one `aws sts get-caller-identity` (assumed_role, iam_user)"
    );
}

#[test]
fn credential_process_output_never_reads_stdin() {
    let role = new_role("stdin");
    let (ar, iu) = (profile("stdin-ar"), profile("stdin-iu"));
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"

[creds.{iu}]
type = "iam_user"
"#
    ));
    for name in [&ar, &iu] {
        let (code, stdout, stderr) = support::run_with_open_stdin(
            s.std_mint()
                .args([name.as_str(), "--output", "credential-process"]),
            Duration::from_secs(30),
            "mint-creds NAME --output credential-process with an open stdin",
        );
        assert_eq!(code, 0, "{stderr}");
        let c: ProcessCredentials = serde_json::from_str(&stdout).unwrap();
        assert_quiet(&stderr, &c);
    }
}

// ---------------------------------------------------------------- credential_process cache

/// The AWS CLI, as a workstation user runs it: `--profile cli` whose credential_process
/// is mint-creds, with the minter's keys in the environment for mint-creds to inherit
/// and `run` as XDG_RUNTIME_DIR.
fn cli_with_cache(s: &Setup, aws_config: &std::path::Path, run: &std::path::Path) -> StdCommand {
    let mut cmd = StdCommand::new(aws_bin());
    clean_env(&mut cmd);
    cmd.env("AWS_ACCESS_KEY_ID", &s.minter.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &s.minter.secret_access_key)
        .env("AWS_ENDPOINT_URL", &s.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", aws_config)
        .env("AWS_SHARED_CREDENTIALS_FILE", s.dir.path().join("none"))
        .env("XDG_RUNTIME_DIR", run)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "cli",
            "--output",
            "json",
        ])
        .stdin(Stdio::null());
    cmd
}

fn caller_of(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "aws --profile cli: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["Arn"].as_str().unwrap().to_string()
}

#[test]
fn credential_process_calls_share_one_lease() {
    use std::os::unix::fs::PermissionsExt;
    let iu = profile("cache");
    let s = Setup::new(&format!("[creds.{iu}]\ntype = \"iam_user\"\n"));
    let run_dir = s.dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let aws_config = s.dir.path().join("aws-config");
    std::fs::write(
        &aws_config,
        format!(
            "[profile cli]\nregion = {REGION}\ncredential_process = {} --config {} {iu} --output credential-process\n",
            mint_bin().display(),
            s.cfg.display()
        ),
    )
    .unwrap();
    let prefix = format!("creds/{iu}/");

    // Five calls one after another: one lease, one IAM user, each call the same caller.
    let callers: Vec<String> = (0..5)
        .map(|_| caller_of(&cli_with_cache(&s, &aws_config, &run_dir).output().unwrap()))
        .collect();
    assert!(callers.iter().all(|c| c == &callers[0]), "{callers:?}");
    let first = s.live(&prefix);
    assert_eq!(first.len(), 1, "five CLI calls made {first:?}");
    assert_eq!(users(&format!("vaultless-{iu}-")).len(), 1);

    // The entry is private: a 0700 directory of 0600 files.
    let dir = run_dir.join("vaultless");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }

    // Revoked: the next call mints anew, and never hands out the revoked lease.
    let o = run(s.revoke().arg(&first[0]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let after = caller_of(&cli_with_cache(&s, &aws_config, &run_dir).output().unwrap());
    assert_ne!(after, callers[0], "the revoked lease was handed out again");
    let second = s.live(&prefix);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);

    // Twenty at once, with nothing cached: one lease between them.
    let o = run(s.revoke().args(["--prefix", &prefix]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let children: Vec<_> = (0..20)
        .map(|_| {
            cli_with_cache(&s, &aws_config, &run_dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let callers: Vec<String> = children
        .into_iter()
        .map(|c| caller_of(&c.wait_with_output().unwrap()))
        .collect();
    assert!(callers.iter().all(|c| c == &callers[0]), "{callers:?}");
    let third = s.live(&prefix);
    assert_eq!(third.len(), 1, "twenty parallel CLI calls made {third:?}");
    assert!(!callers.contains(&after));
    let o = run(s.revoke().args(["--prefix", &prefix]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(users(&format!("vaultless-{iu}-")), Vec::<String>::new());
}

#[test]
fn a_cache_file_is_trusted_only_when_whole_private_and_ours() {
    use std::os::unix::fs::PermissionsExt;
    let ar = profile("trust");
    let role = new_role("trust");
    let s = Setup::new(&format!(
        "[creds.{ar}]\ntype = \"assumed_role\"\nrole_arn = \"{role}\"\n"
    ));
    let run_dir = s.dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let call = |extra: &[&str]| {
        let o = s
            .std_mint()
            .env("XDG_RUNTIME_DIR", &run_dir)
            .args([ar.as_str(), "--output", "credential-process"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert!(o.status.success(), "{stderr}");
        let c: ProcessCredentials = serde_json::from_slice(&o.stdout).unwrap();
        assert_quiet(&stderr, &c);
        (c.access_key_id, stderr)
    };
    let entry = || {
        let files: Vec<PathBuf> = std::fs::read_dir(run_dir.join("vaultless"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };

    let (first, _) = call(&[]);
    let (again, err) = call(&[]);
    assert_eq!(again, first, "{err}");
    assert!(err.contains("reusing cached lease"), "{err}");
    // The cache holds the credentials, never stdout's neighbours: no secret in logs.
    let (fresh, err) = call(&["--no-cache"]);
    assert_ne!(fresh, first, "--no-cache reused: {err}");
    let (again, _) = call(&[]);
    assert_eq!(again, first, "--no-cache replaced the entry");

    // Corrupt: ignored with a warning, replaced.
    std::fs::write(entry(), b"{\"key\": \"half a").unwrap();
    let (after_corrupt, err) = call(&[]);
    assert_ne!(after_corrupt, first);
    assert!(err.contains("corrupt cache file"), "{err}");
    let (again, err) = call(&[]);
    assert_eq!(again, after_corrupt, "the entry was not replaced: {err}");

    // Readable by others: not trusted.
    std::fs::set_permissions(entry(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (after_open, err) = call(&[]);
    assert_ne!(after_open, after_corrupt);
    assert!(err.contains("lets others in"), "{err}");

    // A symlink in its place: not followed.
    let target = s.dir.path().join("elsewhere.json");
    std::fs::copy(entry(), &target).unwrap();
    let path = entry();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let (after_link, err) = call(&[]);
    assert_ne!(after_link, after_open);
    assert!(err.contains("ignoring the cache file"), "{err}");

    // Owned by another user (only root can make one): not trusted.
    let path = entry();
    match std::os::unix::fs::chown(&path, Some(65534), Some(65534)) {
        Ok(()) => {
            let (after_foreign, err) = call(&[]);
            assert_ne!(after_foreign, after_link);
            assert!(err.contains("owned by uid 65534"), "{err}");
        }
        Err(e) => eprintln!("not root ({e}): the foreign-owner case needs root"),
    }
}

#[test]
fn iam_user_keys_are_handed_out_once_aws_accepts_them() {
    use support::proxy::{Fault, Proxy};
    let iu = profile("wait");
    let short = profile("wait-short");
    let s = Setup::new(&format!(
        "[creds.{iu}]\ntype = \"iam_user\"\n\n[creds.{short}]\ntype = \"iam_user\"\nkey_wait = \"1s\"\n"
    ));
    let proxy = Proxy::start(&s.endpoint);
    let mint = |name: &str, extra: &[&str]| {
        let o = s
            .std_mint()
            .env("AWS_ENDPOINT_URL_STS", &proxy.url)
            .arg(name)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert!(o.status.success(), "{stderr}");
        (parse_lease(&String::from_utf8(o.stdout).unwrap()), stderr)
    };

    // AWS refuses the new key three times, then takes it: the lease is handed out after.
    proxy.fail_matching(3, "Action=GetCallerIdentity", Fault::UnknownKey);
    let (lease, err) = mint(&iu, &[]);
    assert_eq!(proxy.counts(), (3, 1), "{err}");
    assert!(err.contains("works (4 sts:GetCallerIdentity"), "{err}");
    assert_eq!(
        caller_arn(&lease.credentials, &s.endpoint).unwrap(),
        format!(
            "arn:aws:iam::{ACCOUNT}:user/{}",
            users(&format!("vaultless-{iu}-"))[0]
        )
    );

    // --no-wait: not one call with the new key.
    proxy.fail_matching(3, "Action=GetCallerIdentity", Fault::UnknownKey);
    let (_, err) = mint(&iu, &["--no-wait"]);
    assert_eq!(proxy.counts(), (3, 1), "{err}");

    // Refused past key_wait: handed out all the same, with a warning, in bounded time.
    proxy.fail_matching(usize::MAX, "Action=GetCallerIdentity", Fault::UnknownKey);
    let start = Instant::now();
    let (_, err) = mint(&short, &[]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("still refused the new key"), "{err}");
    assert!(proxy.counts().0 > 3, "{:?}", proxy.counts());
    let o = run(s.revoke().args(["--prefix", &format!("creds/{iu}/")]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run(s.revoke().args(["--prefix", &format!("creds/{short}/")]));
    assert_eq!(o.code, 0, "{}", o.stderr);
}

// ---------------------------------------------------------------- 4. iam_user

#[test]
fn iam_user_has_its_policies_and_groups_and_is_revoked() {
    let (managed, group) = {
        let mut m = moto();
        let managed = m.call(
            json!({"op": "managed_policy", "name": unique("iu-managed"), "policy": allow_all()}),
        )["arn"]
            .as_str()
            .unwrap()
            .to_string();
        let group = unique("iu-group");
        m.call(json!({"op": "group", "name": group}));
        (managed, group)
    };
    let iu = profile("full");
    let s = Setup::new(&format!(
        r#"[creds.{iu}]
type = "iam_user"
policy_document = '{ALLOW_ALL}'
policy_arns = ["{managed}"]
iam_groups = ["{group}"]
user_path = "/vaultless/"
"#
    ));
    let (lease, _) = s.lease(&iu, "iam_user", &[]);
    let prefix = format!("vaultless-{iu}-");
    let made = users(&prefix);
    assert_eq!(made.len(), 1, "{made:?}");
    let user = &made[0];

    let got = s.admin_cli(&["iam", "get-user", "--user-name", user]);
    assert_eq!(got["User"]["Path"], json!("/vaultless/"));
    let tags = s.admin_cli(&["iam", "list-user-tags", "--user-name", user]);
    assert!(
        tags["Tags"]
            .as_array()
            .unwrap()
            .contains(&json!({"Key": "vaultless-lease-id", "Value": lease.lease_id})),
        "{tags}"
    );
    let inline = s.admin_cli(&["iam", "list-user-policies", "--user-name", user]);
    assert_eq!(
        inline["PolicyNames"].as_array().unwrap().len(),
        1,
        "{inline}"
    );
    let name = inline["PolicyNames"][0].as_str().unwrap();
    let doc = s.admin_cli(&[
        "iam",
        "get-user-policy",
        "--user-name",
        user,
        "--policy-name",
        name,
    ]);
    let doc = match &doc["PolicyDocument"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(doc, allow_all());
    let attached = s.admin_cli(&["iam", "list-attached-user-policies", "--user-name", user]);
    let arns: Vec<&str> = attached["AttachedPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [managed.as_str()]);
    let groups = s.admin_cli(&["iam", "list-groups-for-user", "--user-name", user]);
    let names: Vec<&str> = groups["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(names, [group.as_str()]);
    let keys = s.admin_cli(&["iam", "list-access-keys", "--user-name", user]);
    assert_eq!(
        keys["AccessKeyMetadata"][0]["AccessKeyId"],
        json!(lease.credentials.access_key_id)
    );

    // The ledger holds names, never the secret key.
    let ledger = s.ledger_bytes();
    let secret = lease.credentials.secret_access_key.as_bytes();
    assert!(
        !ledger.windows(secret.len()).any(|w| w == secret),
        "the secret access key is in the ledger"
    );

    // Revoked from the lease document on stdin, then again.
    let doc = serde_json::to_string(&lease).unwrap();
    let r = s.revoke_stdin(&doc);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].lease_id, lease.lease_id);
    assert_eq!(r[0].status, RevocationStatus::Revoked, "{:?}", r[0]);
    assert_eq!(users(&prefix), Vec::<String>::new(), "the user is gone");
    let r = s.revoke_stdin(&doc);
    assert_eq!(r[0].status, RevocationStatus::AlreadyRevoked, "{:?}", r[0]);
    assert_eq!(
        s.ledger_state(&lease.lease_id),
        RevocationStatus::AlreadyRevoked
    );
    // The managed policy and the group outlive the lease.
    let g = s.admin_cli(&["iam", "get-group", "--group-name", &group]);
    assert_eq!(g["Users"], json!([]));
    s.admin_cli(&["iam", "get-policy", "--policy-arn", &managed]);
}

#[test]
fn failed_mint_takes_back_the_half_made_user() {
    let iu = profile("half");
    let missing_group = unique("no-such-group");
    let s = Setup::new(&format!(
        r#"[creds.{iu}]
type = "iam_user"
policy_document = '{ALLOW_ALL}'
iam_groups = ["{missing_group}"]
"#
    ));
    let o = run(s.mint().arg(&iu));
    assert_ne!(
        o.code, 0,
        "adding the user to a missing group cannot succeed"
    );
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    assert!(o.stderr.contains(&missing_group), "{}", o.stderr);
    assert_eq!(
        users(&format!("vaultless-{iu}-")),
        Vec::<String>::new(),
        "the user made before the failure was deleted"
    );
    assert_eq!(s.live(&format!("creds/{iu}/")), Vec::<String>::new());
}

// ---------------------------------------------------------------- 5. TTL

#[test]
fn ttl_rules() {
    let role = new_role("ttl");
    let (ar, ar_short, iu, iu_default) = (
        profile("ttl-ar"),
        profile("ttl-short"),
        profile("ttl-iu"),
        profile("ttl-def"),
    );
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"
max_ttl = "2h"

[creds.{iu}]
type = "iam_user"
max_ttl = "1h"

[creds.{iu_default}]
type = "iam_user"
default_ttl = "10m"
"#
    ));

    // STS types live at least 15m: a usage error that says so, and nothing minted.
    let o = run(s.mint().args([&ar, "--ttl", "5m"]));
    assert_eq!(o.code, 64, "{}", o.stderr);
    assert!(o.stderr.contains("15m"), "{}", o.stderr);
    assert!(o.stderr.contains("hint:"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    assert_eq!(s.live(&format!("creds/{ar}/")), Vec::<String>::new());
    // A profile whose max_ttl is below the minimum is a config error, whichever
    // profile is asked for.
    let short = Setup::new(&format!(
        "[creds.{ar_short}]\ntype = \"assumed_role\"\nrole_arn = \"{role}\"\nmax_ttl = \"10m\"\n\n[creds.{ar}]\ntype = \"assumed_role\"\nrole_arn = \"{role}\"\n"
    ));
    for name in [&ar_short, &ar] {
        let o = run(short.mint().arg(name));
        assert_eq!(o.code, 78, "{}", o.stderr);
        assert!(
            o.stderr
                .contains(&format!("[creds.{ar_short}] max_ttl (10m) is below 15m")),
            "{}",
            o.stderr
        );
    }
    let o = run(s.mint().args([&iu, "--ttl", "0s"]));
    assert_eq!(o.code, 64, "{}", o.stderr);

    // An STS lease as long as asked, when the profile allows it.
    let (lease, _) = s.lease(&ar, "assumed_role", &["--ttl", "1h"]);
    assert_sts_duration(&lease, 3600, "--ttl 1h");

    // iam_user leases may be short, and are capped by max_ttl.
    let (short, _) = s.lease(&iu, "iam_user", &["--ttl", "2s"]);
    assert_eq!(short.lease_duration, 2);
    let (capped, o) = s.lease(&iu, "iam_user", &["--ttl", "2h"]);
    assert_eq!(capped.lease_duration, 3600);
    assert!(o.stderr.contains("capped"), "-v says so: {}", o.stderr);
    let (default, _) = s.lease(&iu_default, "iam_user", &[]);
    assert_eq!(default.lease_duration, 600, "default_ttl");

    // The 2s lease is past its expiry: the sweep takes it (and only it) back.
    std::thread::sleep(Duration::from_secs(3));
    let o = run(s.revoke().arg("--expired"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = parse_revocations(&o.stdout);
    let ids: Vec<&str> = r.iter().map(|r| r.lease_id.as_str()).collect();
    assert!(ids.contains(&short.lease_id.as_str()), "{}", o.stdout);
    assert!(!ids.contains(&capped.lease_id.as_str()), "{}", o.stdout);
    assert_eq!(
        s.ledger_state(&short.lease_id),
        RevocationStatus::AlreadyRevoked
    );
    let s_users = users(&format!("vaultless-{iu}-"));
    assert_eq!(
        s_users.len(),
        1,
        "only the 1h lease's user is left: {s_users:?}"
    );
    let o = run(s.revoke().args([&capped.lease_id, &default.lease_id]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(users(&format!("vaultless-{iu}-")), Vec::<String>::new());
}

// ---------------------------------------------------------------- 6. bad config

#[test]
fn bad_config_is_78_and_names_the_key() {
    let s = Setup::new("");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "unknown type",
            "[creds.x]\ntype = \"magic_keys\"\n",
            &["magic_keys"],
        ),
        (
            "unknown key",
            "[creds.x]\ntype = \"assumed_role\"\nrole_arm = \"arn:aws:iam::123456789012:role/r\"\n",
            &["role_arm"],
        ),
        (
            "assumed_role without a role",
            "[creds.x]\ntype = \"assumed_role\"\n",
            &["[creds.x]", "role_arn"],
        ),
        (
            "federation_token without a policy",
            "[creds.x]\ntype = \"federation_token\"\n",
            &["[creds.x]", "policy_document", "policy_arns", "permissions"],
        ),
        (
            "default_ttl over max_ttl",
            "[creds.x]\ntype = \"iam_user\"\ndefault_ttl = \"2h\"\nmax_ttl = \"1h\"\n",
            &["[creds.x]", "default_ttl", "max_ttl"],
        ),
        (
            "session_token with a policy",
            "[creds.x]\ntype = \"session_token\"\npolicy_arns = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n",
            &["[creds.x]", "session_token"],
        ),
        (
            "policy_document that is not JSON",
            "[creds.x]\ntype = \"iam_user\"\npolicy_document = \"{not json\"\n",
            &["[creds.x]", "policy_document"],
        ),
    ];
    for (what, body, words) in cases {
        s.write_config(body);
        let o = run(s.mint().arg("x"));
        assert_eq!(o.code, 78, "{what}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{what}: {}", o.stdout);
        assert!(
            o.stderr.contains("mint-creds: error: "),
            "{what}: {}",
            o.stderr
        );
        assert!(
            o.stderr.contains(&s.cfg.display().to_string()),
            "{what}: the file is named: {}",
            o.stderr
        );
        if body.contains("magic_keys") {
            // The value is not a key of its own: the message points at its line.
            let text = std::fs::read_to_string(&s.cfg).unwrap();
            let line = text.lines().position(|l| l.contains("magic_keys")).unwrap() + 1;
            assert!(o.stderr.contains(&format!("line {line}")), "{}", o.stderr);
        }
        for w in *words {
            assert!(
                o.stderr.contains(w),
                "{what}: `{w}` missing from: {}",
                o.stderr
            );
        }
    }

    // An unknown profile is a usage error that lists the profiles there are.
    s.write_config(
        "[creds.alpha]\ntype = \"iam_user\"\n\n[creds.beta]\ntype = \"session_token\"\n",
    );
    let o = run(s.mint().arg("gamma"));
    assert_eq!(o.code, 64, "{}", o.stderr);
    assert!(o.stderr.contains("gamma"), "{}", o.stderr);
    assert!(o.stderr.contains("alpha, beta"), "{}", o.stderr);
    // No profile at all, and nothing on stdin to say which.
    let o = run(s.mint().write_stdin(""));
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
}

// ---------------------------------------------------------------- 7. --exec

#[test]
fn exec_hands_the_lease_to_the_child_and_nothing_else() {
    let role = new_role("exec");
    let ar = profile("exec-ar");
    let s = Setup::new(&format!(
        r#"[creds.{ar}]
type = "assumed_role"
role_arn = "{role}"
"#
    ));
    let script = r#"printf 'profile=%s\n' "${AWS_PROFILE-unset}"
printf 'default_profile=%s\n' "${AWS_DEFAULT_PROFILE-unset}"
printf 'key=%s\n' "$AWS_ACCESS_KEY_ID"
printf 'secret=%s\n' "$AWS_SECRET_ACCESS_KEY"
printf 'token=%s\n' "$AWS_SESSION_TOKEN"
printf 'expiration=%s\n' "$AWS_CREDENTIAL_EXPIRATION"
printf 'arn=%s\n' "$("$0" sts get-caller-identity --output text --query Arn)"
exit 7"#;
    // AWS_PROFILE names a profile that does not exist: the minter's own chain still
    // uses the keys in its environment, and the child must not see it.
    let o = run(s
        .mint()
        .env("AWS_PROFILE", "someone-else")
        .env("AWS_DEFAULT_PROFILE", "someone-else")
        .args([&ar, "--exec", "--", "sh", "-c", script])
        .arg(aws_bin()));
    assert_eq!(o.code, 7, "the child's status: {}{}", o.stdout, o.stderr);
    let vars: std::collections::BTreeMap<&str, &str> =
        o.stdout.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(vars["profile"], "unset", "{}", o.stdout);
    assert_eq!(vars["default_profile"], "unset", "{}", o.stdout);
    assert!(vars["key"].starts_with("ASIA"), "{}", o.stdout);
    assert_ne!(vars["key"], s.minter.access_key_id);
    assert_ne!(vars["secret"], s.minter.secret_access_key);
    assert!(!vars["token"].is_empty());
    timestamp(vars["expiration"], "AWS_CREDENTIAL_EXPIRATION");
    let want = format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/{}/vaultless-",
        role_name(&role)
    );
    assert!(vars["arn"].starts_with(&want), "{}\n{}", o.stdout, o.stderr);
    assert_quiet(
        &o.stderr,
        &ProcessCredentials {
            version: 1,
            access_key_id: vars["key"].into(),
            secret_access_key: vars["secret"].into(),
            session_token: Some(vars["token"].into()),
            expiration: None,
        },
    );
    // Without --revoke-on-exit the lease lives on in the ledger.
    assert_eq!(s.live(&format!("creds/{ar}/")).len(), 1);

    // A command that cannot be run is an error, not a hang or a zero.
    let o = run(s.mint().args([&ar, "--exec", "--", "/nonexistent/command"]));
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("/nonexistent/command"), "{}", o.stderr);
    // A command after -- without --exec is a usage error.
    let o = run(s.mint().args([&ar, "--", "true"]));
    assert_eq!(o.code, 64, "{}", o.stderr);
}

#[test]
fn exec_revoke_on_exit_survives_ctrl_c() {
    let iu = profile("exec-int");
    let s = Setup::new(&format!(
        r#"[creds.{iu}]
type = "iam_user"
"#
    ));
    // Ctrl-C in a terminal signals the whole foreground process group: mint-creds and
    // the command it runs. The command ends, so the lease must be revoked all the same.
    let mut child = s
        .std_mint()
        .args([&iu, "--exec", "--revoke-on-exit", "--", "sleep", "60"])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("vaultless-{iu}-");
    let start = Instant::now();
    while users(&prefix).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "mint-creds made no user"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The user exists; give the access key a moment, then interrupt the group.
    std::thread::sleep(Duration::from_millis(1500));
    let pgid = child.id().to_string();
    let killed = StdCommand::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let code = support::wait_within(
        &mut child,
        Duration::from_secs(30),
        "mint-creds after SIGINT",
    );
    let stderr = support::drain(child.stderr.take());
    assert_eq!(
        code, 130,
        "the command's status, killed by SIGINT: {stderr}"
    );
    assert_eq!(
        users(&prefix),
        Vec::<String>::new(),
        "the command ended on Ctrl-C but its lease's IAM user was left behind (exit {code}): {stderr}"
    );
    assert_eq!(s.live(&format!("creds/{iu}/")), Vec::<String>::new());
}

#[test]
fn exec_revoke_on_exit_deletes_the_user() {
    let iu = profile("exec-iu");
    let s = Setup::new(&format!(
        r#"[creds.{iu}]
type = "iam_user"
"#
    ));
    // The child reports its key and the ledger's live leases, then fails.
    let script = r#"printf 'key=%s\n' "$AWS_ACCESS_KEY_ID"
printf 'secret=%s\n' "$AWS_SECRET_ACCESS_KEY"
printf 'token=%s\n' "${AWS_SESSION_TOKEN-unset}"
"$0" --config "$1" --dry-run --prefix "$2"
exit 3"#;
    let o = run(s
        .mint()
        .args([&iu, "--exec", "--revoke-on-exit", "--", "sh", "-c", script])
        .arg(revoke_bin())
        .arg(&s.cfg)
        .arg(format!("creds/{iu}/")));
    assert_eq!(o.code, 3, "the child's status: {}{}", o.stdout, o.stderr);
    let mut lines = o.stdout.lines();
    let key = lines.next().unwrap().strip_prefix("key=").unwrap();
    let secret = lines.next().unwrap().strip_prefix("secret=").unwrap();
    assert!(key.starts_with("AKIA"), "{}", o.stdout);
    assert_eq!(lines.next(), Some("token=unset"));
    let live = parse_revocations(&lines.collect::<Vec<_>>().join("\n"));
    assert_eq!(live.len(), 1, "{}", o.stdout);
    assert_eq!(live[0].status, RevocationStatus::WouldRevoke);
    let lease_id = &live[0].lease_id;
    assert_quiet(
        &o.stderr,
        &ProcessCredentials {
            version: 1,
            access_key_id: key.into(),
            secret_access_key: secret.into(),
            session_token: None,
            expiration: None,
        },
    );

    // The command has ended: the user is gone and the ledger says so.
    assert_eq!(users(&format!("vaultless-{iu}-")), Vec::<String>::new());
    assert_eq!(s.ledger_state(lease_id), RevocationStatus::AlreadyRevoked);
    let r = s.revoke_stdin(lease_id);
    assert_eq!(r[0].status, RevocationStatus::AlreadyRevoked, "{:?}", r[0]);
}

// ---------------------------------------------------------------- 8. output fails

#[test]
fn credentials_nobody_received_are_revoked() {
    let iu = profile("lost");
    let s = Setup::new(&format!(
        r#"[creds.{iu}]
type = "iam_user"
policy_document = '{ALLOW_ALL}'
"#
    ));
    for output in ["json", "credential-process", "env"] {
        let mut child = s
            .std_mint()
            .args([iu.as_str(), "--output", output])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Nobody will read: the pipe's read end is closed before mint-creds writes.
        drop(child.stdout.take());
        let code = support::wait_within(
            &mut child,
            Duration::from_secs(60),
            "mint-creds, stdout closed",
        );
        let stderr = support::drain(child.stderr.take());
        assert!(
            code > 0,
            "{output}: the credentials were never delivered, yet the exit status is {code} (-1: killed by a signal): {stderr}"
        );
        assert!(stderr.contains("revoked"), "{output}: {stderr}");
        assert_eq!(
            users(&format!("vaultless-{iu}-")),
            Vec::<String>::new(),
            "{output}: the user made for the lost credentials is gone"
        );
        let lease_id = stderr
            .split_whitespace()
            .find(|w| w.starts_with(&format!("creds/{iu}/")))
            .unwrap_or_else(|| panic!("{output}: stderr names no lease: {stderr}"))
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        assert_eq!(
            s.ledger_state(&lease_id),
            RevocationStatus::AlreadyRevoked,
            "{output}: {stderr}"
        );
    }
    assert_eq!(s.live(&format!("creds/{iu}/")), Vec::<String>::new());
}

// ---------------------------------------------------------------- 9. broker

/// A broker: a config with login role `ci` (granted `deployer`, max_ttl 20m) and `other`
/// (not granted), a caller moto knows, and the broker's own minter.
struct Broker {
    s: Setup,
    caller: Creds,
    caller_name: String,
    role: String,
    deployer: String,
    other: String,
}

impl Broker {
    fn new(extra: &str) -> Broker {
        let role = new_role("broker");
        let caller_name = unique("caller");
        let caller = moto().user(&caller_name).0;
        let (deployer, other) = (profile("deployer"), profile("other"));
        let endpoint = moto().endpoint.clone();
        let s = Setup::new(&format!(
            r#"[login]
server_id = "{SERVER_ID}"
sts_endpoint = "{endpoint}"
timeout = "5s"

[roles.ci]
bound_account_ids = ["{ACCOUNT}"]
creds = ["{deployer}"]
max_ttl = "20m"

[creds.{deployer}]
type = "assumed_role"
role_arn = "{role}"

[creds.{other}]
type = "iam_user"
{extra}
"#
        ));
        Broker {
            s,
            caller,
            caller_name,
            role,
            deployer,
            other,
        }
    }

    /// sign-login --request creds=NAME | verify-login: one identity line.
    fn identity(&self, creds: &str) -> String {
        let request = format!("creds={creds}");
        let proof = sign(
            &self.caller,
            &[
                "--server-id",
                SERVER_ID,
                "--role",
                "ci",
                "--request",
                &request,
            ],
        );
        let o = out(&verify(&self.s.cfg, proof));
        assert_eq!(o.code, 0, "verify-login: {}", o.stderr);
        assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
        o.stdout
    }
}

#[test]
fn broker_mints_what_the_login_role_grants() {
    let b = Broker::new("");
    let o = run(b.s.mint().write_stdin(b.identity(&b.deployer)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lease = parse_lease(&o.stdout);
    check_lease(&lease, &b.deployer, "assumed_role");
    assert_quiet(&o.stderr, &lease.credentials);
    assert_sts_duration(&lease, 900, "the default lifetime, 15m");
    // The session is named after the caller.
    let arn = caller_arn(&lease.credentials, &b.s.endpoint).expect("the credentials work");
    let want = format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/{}/vaultless-{}-",
        role_name(&b.role),
        b.caller_name
    );
    assert!(arn.starts_with(&want), "{arn} is not {want}...");

    // The profile as an argument, the identity still required with --identity -.
    let o = run(b
        .s
        .mint()
        .args([&b.deployer, "--identity", "-"])
        .write_stdin(b.identity(&b.deployer)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    check_lease(&parse_lease(&o.stdout), &b.deployer, "assumed_role");
}

#[test]
fn broker_refuses_profiles_the_role_does_not_grant() {
    let b = Broker::new("");
    let o = run(b.s.mint().write_stdin(b.identity(&b.other)));
    assert_eq!(o.code, 77, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(&b.other), "{}", o.stderr);
    assert!(!o.stdout.contains("AccessKeyId"), "{}", o.stdout);
    // Naming it as an argument changes nothing.
    let o = run(b
        .s
        .mint()
        .args([&b.other, "--identity", "-"])
        .write_stdin(b.identity(&b.deployer)));
    assert_eq!(o.code, 77, "{}{}", o.stdout, o.stderr);
    // A batch keeps one line per caller, in order: a lease, then the refusal.
    let two = format!("{}{}", b.identity(&b.deployer), b.identity(&b.other));
    let o = run(b.s.mint().write_stdin(two.clone()));
    assert_eq!(o.code, 77, "{}{}", o.stdout, o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stdout);
    let lease = parse_lease(lines[0]);
    check_lease(&lease, &b.deployer, "assumed_role");
    assert_quiet(&o.stderr, &lease.credentials);
    let refused: common::docs::ErrorLine = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(refused.error.code, 77);
    assert!(refused.error.message.contains(&b.other), "{}", lines[1]);
    // Only the lease document can carry several leases.
    let o = run(b
        .s
        .mint()
        .args(["--output", "credential-process"])
        .write_stdin(two));
    assert_eq!(o.code, 64, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    // Nothing was made for the refused caller.
    assert_eq!(
        users(&format!("vaultless-{}-", b.other)),
        Vec::<String>::new()
    );
    assert_eq!(
        b.s.live(&format!("creds/{}/", b.other)),
        Vec::<String>::new()
    );
}

#[test]
fn broker_role_max_ttl_caps_the_lease() {
    let b = Broker::new("");
    let o = run(b
        .s
        .mint()
        .args(["--ttl", "1h"])
        .write_stdin(b.identity(&b.deployer)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lease = parse_lease(&o.stdout);
    check_lease(&lease, &b.deployer, "assumed_role");
    // moto honours DurationSeconds: the credentials expire when the lease does.
    assert_sts_duration(&lease, 1200, "the role's max_ttl, 20m");
}

#[test]
fn broker_require_identity_never_mints_without_one() {
    let b = Broker::new("");
    let body = std::fs::read_to_string(&b.s.cfg).unwrap();
    let body = body.split_once("\n\n").unwrap().1;
    b.s.write_config(&format!("{body}\n[broker]\nrequire_identity = true\n"));
    for name in [&b.deployer, &b.other] {
        let o = run(b.s.mint().arg(name).write_stdin(""));
        assert_eq!(o.code, 77, "{name}: {}", o.stderr);
        assert!(o.stdout.is_empty(), "{}", o.stdout);
        // Not even --output credential-process gets round it.
        let o = run(b
            .s
            .mint()
            .args([name.as_str(), "--output", "credential-process"])
            .write_stdin(""));
        assert_eq!(o.code, 77, "{name}: {}", o.stderr);
    }
    assert_eq!(
        users(&format!("vaultless-{}-", b.other)),
        Vec::<String>::new()
    );
    // With a verified caller it mints as usual.
    let o = run(b
        .s
        .mint()
        .arg(&b.deployer)
        .write_stdin(b.identity(&b.deployer)));
    assert_eq!(o.code, 0, "{}", o.stderr);
    check_lease(&parse_lease(&o.stdout), &b.deployer, "assumed_role");
}
