//! The operator kits in scripts/, run as an operator would run them: the ssh
//! ForceCommand broker, against moto; the CI jobs, loaded and their shell steps parsed.

mod support;

use std::process::Command;

use serde_json::json;
use support::{SERVER_ID, moto, unique};

/// Runs scripts/broker/vaultless-broker as sshd would for a ForceCommand: the proof
/// on stdin, the client's requested command in SSH_ORIGINAL_COMMAND.
fn broker(
    config: &std::path::Path,
    creds: &support::Creds,
    endpoint: &str,
    original: &str,
    proof: &str,
) -> (i32, String, String) {
    let bin_dir = assert_cmd::cargo::cargo_bin("verify-login")
        .parent()
        .unwrap()
        .to_path_buf();
    let home = tempfile::tempdir().unwrap();
    support::run_with_stdin(
        Command::new(support::root().join("scripts/broker/vaultless-broker"))
            .env_clear()
            .env("HOME", home.path())
            .env("VAULTLESS_BIN_DIR", &bin_dir)
            .env("VAULTLESS_CONFIG", config)
            .env("SSH_ORIGINAL_COMMAND", original)
            .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(home.path()),
        proof.as_bytes(),
    )
}

#[test]
fn ssh_broker_routes_by_the_proofs_request_and_runs_no_shell() {
    let mut m = moto();
    let endpoint = m.endpoint.clone();
    let broker_creds = m.admin("broker");
    let (workload, workload_arn, _) = m.user(&unique("ssh-workload"));
    let secret = unique("ci/ssh-db");
    m.call(json!({"op": "secret", "name": secret, "string": "{\"password\":\"broker-canary\"}"}));
    drop(m);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[login]\nserver_id = \"{SERVER_ID}\"\nsts_endpoint = \"{endpoint}\"\n\n\
             [roles.ci]\nbound_principal_arns = [\"{workload_arn}\"]\nsecrets = [\"ci/*\"]\ncreds = [\"tmp\"]\n\n\
             [creds.tmp]\ntype = \"iam_user\"\ndefault_ttl = \"10m\"\n\n\
             [broker]\nrequire_identity = true\n\n[ledger]\npath = \"{}\"\n",
            dir.path().join("leases.db").display()
        ),
    )
    .unwrap();
    let canary = dir.path().join("pwned");
    let injected = format!(
        "fetch-secret prod/db; touch {c}; $(touch {c}) `touch {c}` | sh -c 'touch {c}' && rm -rf /",
        c = canary.display()
    );
    let proof = |request: &str| support::sign_request(&workload, "ci", request);

    let (code, out, err) = broker(
        &config,
        &broker_creds,
        &endpoint,
        &injected,
        &proof(&format!("secret_id={secret}")),
    );
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["name"], json!(secret));
    assert_eq!(
        doc["secret_string"],
        json!("{\"password\":\"broker-canary\"}")
    );
    assert_eq!(doc["identity"]["arn"], json!(workload_arn));

    let (code, out, err) = broker(
        &config,
        &broker_creds,
        &endpoint,
        &injected,
        &proof("creds=tmp"),
    );
    assert_eq!(code, 0, "{err}");
    let lease: common::docs::Lease = serde_json::from_str(out.trim()).unwrap();
    assert!(lease.lease_id.starts_with("creds/tmp/"), "{lease:?}");

    // Outside the grant, and asking for nothing: refused.
    let (code, _, err) = broker(
        &config,
        &broker_creds,
        &endpoint,
        &injected,
        &proof("secret_id=prod/db"),
    );
    assert_eq!(code, 77, "{err}");
    let (code, _, err) = broker(&config, &broker_creds, &endpoint, "", &proof("other=1"));
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("the proof asks for nothing"), "{err}");
    // Asking for both is not settled by which the broker happens to test first.
    let both = support::sign(
        &workload,
        &[
            "--server-id",
            SERVER_ID,
            "--role",
            "ci",
            "--request",
            "creds=tmp",
            "--request",
            &format!("secret_id={secret}"),
        ],
    );
    let (code, out, err) = broker(&config, &broker_creds, &endpoint, "", &both);
    assert_eq!(code, 64, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("asks for a secret and for credentials"),
        "{err}"
    );
    // Not a proof at all: refused by verify-login.
    let (code, _, _) = broker(&config, &broker_creds, &endpoint, &injected, "echo hi");
    assert_eq!(code, 65);

    assert!(!canary.exists(), "the client's command ran");
    assert!(
        !std::fs::read_to_string(support::root().join("scripts/broker/vaultless-broker"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains("eval") || l.contains("$SSH_ORIGINAL_COMMAND")),
        "the wrapper never evaluates the client's command"
    );
}

/// The CI kits are YAML their runners load, and every shell step in them parses:
/// each `run:` (GitHub) and each script line (GitLab) goes through `bash -n`.
#[test]
fn ci_kits_load_and_their_shell_steps_parse() {
    let check = r#"
import subprocess, sys, yaml
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    steps = []
    for name, job in doc.get("jobs", doc).items():
        if not isinstance(job, dict):
            continue
        for step in job.get("steps", []):
            if "run" in step:
                steps.append(step["run"])
        for key in ("before_script", "script", "after_script"):
            steps.extend(job.get(key, []))
    assert steps, f"{path}: no shell steps"
    for s in steps:
        done = subprocess.run(["bash", "-n"], input=s.encode(), capture_output=True)
        assert done.returncode == 0, f"{path}: {s!r}: {done.stderr.decode()}"
    print(path, len(steps))
"#;
    let root = support::root();
    let out = Command::new(root.join(".venv/bin/python"))
        .arg("-c")
        .arg(check)
        .arg(root.join("scripts/ci/github-actions.yml"))
        .arg(root.join("scripts/ci/gitlab-ci.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed.lines().count(), 2, "{printed}");
}
