//! The command lines themselves: usage errors, config errors, missing credentials,
//! what sign-login prints, and that the committed man pages match the code.

mod support;

use base64::Engine;
use support::{Creds, SERVER_ID, bin, config, sign};

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    for tool in ["sign-login", "verify-login"] {
        let a = bin(tool).arg("--no-such-flag").assert().code(64);
        assert!(stderr(&a).contains("--no-such-flag"));
        bin(tool).arg("--help").assert().success();
        let v = bin(tool).arg("--version").assert().success();
        assert!(String::from_utf8_lossy(&v.get_output().stdout).starts_with(tool));
    }
    let a = bin("sign-login")
        .args(["--region", "us-east-1.evil.com", "--server-id", "x"])
        .assert()
        .code(64);
    assert!(stderr(&a).contains("is not an AWS region name"));
    let a = bin("sign-login")
        .args(["--request", "novalue"])
        .assert()
        .code(64);
    assert!(stderr(&a).contains("is not KEY=VALUE"));
    let a = bin("sign-login")
        .args(["--format", "eks"])
        .assert()
        .code(64);
    assert!(
        stderr(&a).contains("needs the cluster name"),
        "{}",
        stderr(&a)
    );
}

#[test]
fn no_credentials_is_a_denial_with_a_hint() {
    let a = bin("sign-login")
        .args(["--server-id", SERVER_ID])
        .assert()
        .code(77);
    let err = stderr(&a);
    assert!(err.starts_with("sign-login: error: "), "{err}");
    assert!(err.contains("hint: looked in AWS_ACCESS_KEY_ID"), "{err}");
    assert!(a.get_output().stdout.is_empty());
}

#[test]
fn sign_login_never_prints_the_secret_key() {
    let creds = Creds {
        session_token: Some("SESSIONTOKENVALUE".into()),
        ..Creds::fake()
    };
    for format in ["vault", "akeyless", "eks"] {
        let mut cmd = bin("sign-login");
        creds.apply(&mut cmd);
        let a = cmd
            .args(["--server-id", SERVER_ID, "--format", format, "-v"])
            .assert()
            .success();
        let out = a.get_output();
        let all = format!(
            "{}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            decode_all(&String::from_utf8_lossy(&out.stdout))
        );
        assert!(
            !all.contains(&creds.secret_access_key),
            "{format} leaked the secret key"
        );
    }
}

/// Every base64 field in a proof, decoded, so a leak inside one is found too.
fn decode_all(proof: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(proof).unwrap();
    let mut out = String::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) => {
                for engine in [
                    base64::engine::general_purpose::STANDARD,
                    base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ] {
                    if let Ok(bytes) = engine.decode(s.trim_start_matches("k8s-aws-v1.")) {
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        if let Ok(inner) = serde_json::from_str::<serde_json::Value>(&text) {
                            stack.push(inner);
                        }
                        out.push_str(&text);
                    }
                }
            }
            serde_json::Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

#[test]
fn vault_proof_matches_vaults_login_payload() {
    let proof = sign(&Creds::fake(), &["--server-id", SERVER_ID, "--role", "ci"]);
    let v: serde_json::Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(v["iam_http_request_method"], "POST");
    assert_eq!(v["role"], "ci");
    let b64 = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(v[k].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(b64("iam_request_url"), "https://sts.amazonaws.com/");
    assert_eq!(
        b64("iam_request_body"),
        "Action=GetCallerIdentity&Version=2011-06-15"
    );
    let headers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&b64("iam_request_headers")).unwrap();
    assert_eq!(headers["Host"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(
        headers["Content-Type"],
        serde_json::json!(["application/x-www-form-urlencoded; charset=utf-8"])
    );
    assert_eq!(
        headers["X-Vault-AWS-IAM-Server-ID"],
        serde_json::json!([SERVER_ID])
    );
    let auth = headers["Authorization"][0].as_str().unwrap();
    assert!(auth.contains("/us-east-1/sts/aws4_request"), "{auth}");
    assert!(
        auth.contains(
            "SignedHeaders=content-type;host;x-amz-date;x-vault-aws-iam-server-id;x-vaultless-nonce"
        ),
        "{auth}"
    );
    // Two proofs made in the same second are still two proofs.
    let again = sign(&Creds::fake(), &["--server-id", SERVER_ID, "--role", "ci"]);
    assert_ne!(
        common::proof::decode(proof.as_bytes())
            .unwrap()
            .request
            .headers,
        common::proof::decode(again.as_bytes())
            .unwrap()
            .request
            .headers
    );
}

#[test]
fn eks_token_matches_aws_eks_get_token() {
    let proof = sign(
        &Creds::fake(),
        &[
            "--format",
            "eks",
            "--cluster",
            "prod",
            "--region",
            "eu-west-1",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let token = v["status"]["token"].as_str().unwrap();
    let url = token.strip_prefix("k8s-aws-v1.").unwrap();
    assert!(!url.contains('='), "token must be unpadded");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(url)
            .unwrap(),
    )
    .unwrap();
    assert!(
        url.starts_with(
            "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
        ),
        "{url}"
    );
    assert!(
        url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
        "{url}"
    );
    let exp: jiff::Timestamp = v["status"]["expirationTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = exp.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((14 * 60..=15 * 60).contains(&left), "{left}");
}

#[test]
fn server_id_comes_from_the_config_when_not_given() {
    let cfg = config("[login]\nserver_id = \"from-config\"\n");
    let mut cmd = bin("sign-login");
    Creds::fake().apply(&mut cmd);
    let out = cmd
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let req = common::proof::decode(&out).unwrap().request;
    assert_eq!(
        support::header(&req, "X-Vault-AWS-IAM-Server-ID"),
        "from-config"
    );
}

#[test]
fn config_errors_exit_78_naming_key_and_file() {
    let cfg = config("[login]\nserver_id = \"x\"\nmax_skew = \"20m\"\n");
    let a = bin("verify-login")
        .arg("--config")
        .arg(&cfg)
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(
        stderr(&a).contains(&format!(
            "max_skew must be at most 15m (got 20m) in {}",
            cfg.display()
        )),
        "{}",
        stderr(&a)
    );
    let cfg = config("[login]\nserver_id = \"x\"\nservr = 1\n");
    let a = bin("verify-login")
        .arg("--config")
        .arg(&cfg)
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(
        stderr(&a).contains("servr") && stderr(&a).contains(&cfg.display().to_string()),
        "{}",
        stderr(&a)
    );
    let cfg = config("[roles.ci]\nbound_account_ids = [\"123456789012\"]\n");
    let a = bin("verify-login")
        .arg("--config")
        .arg(&cfg)
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(
        stderr(&a).contains("[login] server_id is not set"),
        "{}",
        stderr(&a)
    );
    assert!(stderr(&a).contains("hint: "), "{}", stderr(&a));
    let a = bin("verify-login")
        .args(["--config", "/nonexistent/config.toml"])
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(stderr(&a).contains("/nonexistent/config.toml"));
    let cfg = config("[login]\nserver_id = \"x\"\nsts_endpoint = \"http://sts.example.com\"\n");
    let a = bin("verify-login")
        .arg("--config")
        .arg(&cfg)
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(stderr(&a).contains("sts_endpoint"), "{}", stderr(&a));
}

#[test]
fn config_is_found_through_vaultless_config_and_xdg() {
    let bad = config("[login]\nbogus_key = 1\n");
    let a = bin("verify-login")
        .env("VAULTLESS_CONFIG", &bad)
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(stderr(&a).contains("bogus_key"));
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("vaultless")).unwrap();
    std::fs::write(
        xdg.path().join("vaultless/config.toml"),
        "[login]\nxdg_key = 1\n",
    )
    .unwrap();
    let a = bin("verify-login")
        .env("XDG_CONFIG_HOME", xdg.path())
        .write_stdin("{}")
        .assert()
        .code(78);
    assert!(stderr(&a).contains("xdg_key"), "{}", stderr(&a));
}

#[test]
fn broken_pipe_on_stdout_is_quiet() {
    use std::process::{Command, Stdio};
    let exe = assert_cmd::cargo::cargo_bin("sign-login");
    let mut child = Command::new(exe)
        .args(["--server-id", SERVER_ID])
        .env("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn man_pages_and_completions_match_the_code() {
    for tool in TOOLS {
        for (kind, file) in generated_files(tool) {
            let out = bin(tool).args(["--generate", kind]).assert().success();
            let path = support::root().join("man").join(&file);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == out.get_output().stdout,
                "{} is stale: run scripts/gen-man and commit the result",
                path.display()
            );
        }
    }
}

const TOOLS: [&str; 5] = [
    "sign-login",
    "verify-login",
    "fetch-secret",
    "mint-creds",
    "revoke-lease",
];

/// What scripts/gen-man writes under man/ for a tool: (--generate kind, file).
fn generated_files(tool: &str) -> [(&'static str, String); 4] {
    [
        ("man", format!("{tool}.1")),
        ("bash", format!("completions/bash/{tool}")),
        ("zsh", format!("completions/zsh/_{tool}")),
        ("fish", format!("completions/fish/{tool}.fish")),
    ]
}

#[test]
fn the_exit_code_table_comes_from_the_code() {
    let page = String::from_utf8(
        bin("revoke-lease")
            .args(["--generate", "man"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    for code in common::ExitCode::ALL {
        let entry = format!(".TP\n\\fB{}\\fR\n{}\n", code as i32, code.meaning());
        assert!(page.contains(&entry), "no `{entry}` in the page");
    }
    let a = bin("revoke-lease")
        .args(["--generate", "pdf"])
        .assert()
        .code(64);
    assert!(stderr(&a).contains("--generate takes man, bash, zsh or fish"));
}

/// Past the 64 MiB cap, stdin is refused as bad input, never cut short and half used:
/// a revocation list cut in the middle would revoke some leases and silently skip others.
#[test]
fn stdin_past_the_cap_is_refused_not_truncated() {
    let mut ids = String::new();
    let mut n = 0u64;
    while ids.len() <= 64 << 20 {
        ids.push_str(&format!("creds/p/{n:016x}\n"));
        n += 1;
    }
    for (tool, needle) in [
        ("revoke-lease", "lease ids on stdin is larger than 64 MiB"),
        ("verify-login", "proofs on stdin is larger than 64 MiB"),
    ] {
        let cfg =
            config("[login]\nserver_id = \"x\"\n[ledger]\npath = \"/nonexistent/leases.db\"\n");
        let a = bin(tool)
            .arg("--config")
            .arg(&cfg)
            .write_stdin(ids.clone())
            .assert()
            .code(65);
        assert!(stderr(&a).contains(needle), "{tool}: {}", stderr(&a));
        assert!(
            a.get_output().stdout.is_empty(),
            "{tool} acted on a cut input"
        );
    }
}

/// The create-table command the README shows is the one the tools print when they
/// may not create the table themselves.
#[test]
fn readme_create_table_command_matches_the_code() {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let start = readme
        .find("aws dynamodb create-table")
        .expect("the README shows it");
    let end = start + readme[start..].find("\n```").unwrap();
    let shown: Vec<&str> = readme[start..end]
        .split_whitespace()
        .filter(|w| *w != "\\")
        .collect();
    let code = common::ledger::DynamoStore::create_command("vaultless");
    assert_eq!(shown, code.split_whitespace().collect::<Vec<_>>());
}

/// The config file is checked whole by whichever tool loads it: a bad `[creds.*]`
/// stops verify-login and revoke-lease, a bad `sts_endpoint` stops fetch-secret and
/// mint-creds, though none of them uses that table.
#[test]
fn every_tool_refuses_a_config_bad_anywhere() {
    let bad_creds = config(
        "[creds.deploy]\ntype = \"assumed_role\"\nrole_arn = \"arn:aws:iam::123456789012:role/d\"\nmax_ttl = \"10m\"\n",
    );
    let bad_endpoint = config("[login]\nserver_id = \"x\"\nsts_endpoint = \"ftp://sts.example\"\n");
    let bad_wait = config(
        "[creds.deploy]\ntype = \"assumed_role\"\nrole_arn = \"arn:aws:iam::123456789012:role/d\"\nkey_wait = \"5s\"\n",
    );
    let long_wait = config("[creds.deploy]\ntype = \"iam_user\"\nkey_wait = \"10m\"\n");
    for (cfg, needle, tools) in [
        (
            &bad_creds,
            "[creds.deploy] max_ttl (10m) is below 15m",
            ["verify-login", "revoke-lease"],
        ),
        (
            &bad_endpoint,
            "sts_endpoint",
            ["fetch-secret", "mint-creds"],
        ),
        (
            &bad_wait,
            "key_wait is for iam_user",
            ["verify-login", "fetch-secret"],
        ),
        (
            &long_wait,
            "key_wait (10m) is over 2m",
            ["revoke-lease", "mint-creds"],
        ),
    ] {
        for tool in tools {
            let a = bin(tool)
                .arg("--config")
                .arg(cfg)
                .args(
                    ["creds/deploy/0000000000000000"]
                        .iter()
                        .filter(|_| tool == "revoke-lease"),
                )
                .args(["ci/db"].iter().filter(|_| tool == "fetch-secret"))
                .args(["deploy"].iter().filter(|_| tool == "mint-creds"))
                .write_stdin("")
                .assert()
                .code(78);
            assert!(stderr(&a).contains(needle), "{tool}: {}", stderr(&a));
            assert!(a.get_output().stdout.is_empty(), "{tool}");
        }
    }
}

/// What revoke-lease is given that is no lease id is refused, and never echoed: a line
/// piped in by mistake may be a secret.
#[test]
fn revoke_lease_refuses_and_never_echoes_what_is_no_lease_id() {
    let canary = "wJalrXUtnFEMICANARYbPxRfiCYEXAMPLEKEY";
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("revoke-audit.jsonl");
    let cfg = config(&format!(
        "[ledger]\npath = \"/nonexistent/leases.db\"\n[audit]\npath = \"{}\"\n",
        audit.display()
    ));
    let line = format!("export AWS_SECRET_ACCESS_KEY='{canary}'\n");
    let a = bin("revoke-lease")
        .arg("--config")
        .arg(&cfg)
        .write_stdin(line.clone())
        .assert()
        .code(65);
    let err = stderr(&a);
    assert!(err.contains("stdin line 1 is neither a lease id"), "{err}");
    let a2 = bin("revoke-lease")
        .arg("--config")
        .arg(&cfg)
        .arg(canary)
        .assert()
        .code(64);
    let err2 = stderr(&a2);
    assert!(err2.contains("argument 1 is not a lease id"), "{err2}");
    let trail = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(trail.lines().count(), 2, "{trail}");
    for text in [
        err.as_str(),
        err2.as_str(),
        trail.as_str(),
        &String::from_utf8_lossy(&a.get_output().stdout),
    ] {
        assert!(!text.contains(canary), "echoed: {text}");
    }
    assert!(trail.contains("\"outcome\":\"refused\""), "{trail}");
}
