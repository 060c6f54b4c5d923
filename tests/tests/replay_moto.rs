//! Single-use proofs against moto: a proof accepted by one verifier is refused by every
//! other verifier sharing the state store, on one host (SQLite) or many (DynamoDB).

mod support;

use std::path::PathBuf;
use std::process::Command as StdCommand;

use support::{ACCOUNT, Creds, SERVER_ID, moto, parse_identity, sign, unique};

/// A broker host: its own directory, and a config whose `[ledger]` is `store`.
struct Host {
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// The broker's own keys (it reads and writes the store with them).
fn broker() -> (String, Creds) {
    let mut m = moto();
    (m.endpoint.clone(), m.admin("broker"))
}

impl Host {
    fn new(endpoint: &str, store: &str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let store = store.replace("DIR", &dir.path().display().to_string());
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[login]\nserver_id = \"{SERVER_ID}\"\nsts_endpoint = \"{endpoint}\"\ntimeout = \"5s\"\n\n\
                 [roles.any]\nbound_account_ids = [\"{ACCOUNT}\"]\n\n[ledger]\n{store}\n"
            ),
        )
        .unwrap();
        Host { dir, config }
    }

    /// verify-login on this host, as a separate process with its own HOME.
    fn verify(&self, endpoint: &str, broker: &Creds) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("verify-login"));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", &broker.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &broker.secret_access_key)
            .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            .env("AWS_REGION", "us-east-1")
            .arg("--config")
            .arg(&self.config);
        cmd
    }
}

/// Starts verify-login with `proof` written to its stdin.
fn spawn(mut cmd: StdCommand, proof: &str) -> std::process::Child {
    support::spawn_with_stdin(&mut cmd, proof.as_bytes())
}

/// (exit code, stdout, stderr) of a verify-login run with `proof` on stdin.
fn run(mut cmd: StdCommand, proof: &str) -> (i32, String, String) {
    support::run_with_stdin(&mut cmd, proof.as_bytes())
}

fn user_proof() -> (String, String) {
    let (creds, arn, _) = moto().user(&unique("caller"));
    (
        sign(&creds, &["--server-id", SERVER_ID, "--role", "any"]),
        arn,
    )
}

/// Accepted on host A; refused on host B and on A again.
#[test]
fn a_proof_accepted_on_one_host_is_refused_on_another() {
    let (endpoint, broker) = broker();
    let table = format!("table = \"{}\"", unique("vl-replay"));
    let store = format!("backend = \"dynamodb\"\n{table}");
    let (a, b) = (Host::new(&endpoint, &store), Host::new(&endpoint, &store));
    let (proof, arn) = user_proof();
    let (code, out, err) = run(a.verify(&endpoint, &broker), &proof);
    assert_eq!(code, 0, "{err}");
    assert_eq!(parse_identity(out.trim()).identity.arn, arn);
    for (host, name) in [(&b, "host B"), (&a, "host A again")] {
        let (code, out, err) = run(host.verify(&endpoint, &broker), &proof);
        assert_eq!(code, 77, "{name}: {err}");
        assert!(out.is_empty(), "{name}: {out}");
        assert!(err.contains("proof was already used"), "{name}: {err}");
    }
    // A fresh proof is a new login, on either host.
    let (fresh, _) = user_proof();
    let (code, _, err) = run(b.verify(&endpoint, &broker), &fresh);
    assert_eq!(code, 0, "{err}");
}

/// Four verifiers racing with one fresh proof: exactly one accepts it, on one shared
/// DynamoDB table (two hosts) and on one SQLite file (one host).
#[test]
fn racing_verifiers_accept_a_proof_exactly_once() {
    let (endpoint, broker) = broker();
    let table = format!("backend = \"dynamodb\"\ntable = \"{}\"", unique("vl-race"));
    let dynamo = [Host::new(&endpoint, &table), Host::new(&endpoint, &table)];
    let sqlite_host = Host::new(&endpoint, "path = \"DIR/leases.db\"");
    for (name, hosts) in [
        (
            "dynamodb",
            vec![&dynamo[0], &dynamo[1], &dynamo[0], &dynamo[1]],
        ),
        ("sqlite", vec![&sqlite_host; 4]),
    ] {
        // The store exists before the race (a table is made once, on first use).
        let (warm, _) = user_proof();
        assert_eq!(
            run(hosts[0].verify(&endpoint, &broker), &warm).0,
            0,
            "{name}"
        );
        for round in 0..3 {
            let (proof, _) = user_proof();
            let children: Vec<_> = hosts
                .iter()
                .map(|h| spawn(h.verify(&endpoint, &broker), &proof))
                .collect();
            let codes: Vec<i32> = children
                .into_iter()
                .map(|c| c.wait_with_output().unwrap().status.code().unwrap_or(-1))
                .collect();
            let accepted = codes.iter().filter(|c| **c == 0).count();
            let refused = codes.iter().filter(|c| **c == 77).count();
            assert_eq!(
                (accepted, refused),
                (1, 3),
                "{name} round {round}: {codes:?}"
            );
        }
    }
    assert!(sqlite_host.dir.path().join("leases.db").exists());
}

/// One proof twice in a batch: one identity, then one refusal, in input order.
#[test]
fn a_batch_holding_one_proof_twice_verifies_it_once() {
    let (endpoint, broker) = broker();
    let host = Host::new(&endpoint, "path = \"DIR/leases.db\"");
    let (proof, arn) = user_proof();
    let (other, other_arn) = user_proof();
    let (code, out, err) = run(
        host.verify(&endpoint, &broker),
        &format!("{proof}\n{other}\n{proof}\n"),
    );
    assert_eq!(code, 77, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(parse_identity(lines[0]).identity.arn, arn);
    assert_eq!(parse_identity(lines[1]).identity.arn, other_arn);
    let e: common::docs::ErrorLine = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(e.error.code, 77);
    assert!(
        e.error.message.contains("already used"),
        "{}",
        e.error.message
    );
}

/// `single_use = false`, written out, lets a proof verify again (as Vault does).
#[test]
fn single_use_can_be_turned_off() {
    let (endpoint, broker) = broker();
    let host = Host::new(&endpoint, "path = \"DIR/leases.db\"");
    let text = std::fs::read_to_string(&host.config)
        .unwrap()
        .replace("[login]\n", "[login]\nsingle_use = false\n");
    std::fs::write(&host.config, text).unwrap();
    let (proof, _) = user_proof();
    for _ in 0..2 {
        let (code, _, err) = run(host.verify(&endpoint, &broker), &proof);
        assert_eq!(code, 0, "{err}");
    }
    assert!(
        !host.dir.path().join("leases.db").exists(),
        "no store is opened when nothing is recorded"
    );
}

/// The used-proof record is written, but its answer is lost and the SDK sends it
/// again: the login is still accepted once (the record found is this write's own),
/// and the proof is still refused the next time.
#[test]
fn a_used_proof_record_whose_answer_is_lost_still_accepts_the_login_once() {
    use support::proxy::{Fault, Proxy};
    let (endpoint, broker) = broker();
    let store = format!("backend = \"dynamodb\"\ntable = \"{}\"", unique("vl-lost"));
    let host = Host::new(&endpoint, &store);
    // The table exists before the fault: the first login creates it.
    let (first, _) = user_proof();
    assert_eq!(run(host.verify(&endpoint, &broker), &first).0, 0);
    let proxy = Proxy::start(&endpoint);
    proxy.fail_matching(1, "DynamoDB_20120810.PutItem", Fault::LostAnswer);
    let (proof, arn) = user_proof();
    let mut cmd = host.verify(&endpoint, &broker);
    cmd.env("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url);
    let (code, out, err) = run(cmd, &proof);
    assert_eq!(code, 0, "{err}");
    assert_eq!(parse_identity(out.trim()).identity.arn, arn);
    assert_eq!(proxy.counts().0, 1, "the record's first answer was lost");
    let (code, _, err) = run(host.verify(&endpoint, &broker), &proof);
    assert_eq!(code, 77, "{err}");
    assert!(err.contains("proof was already used"), "{err}");
}
