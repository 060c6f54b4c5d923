//! The audit trail against moto: a broker session leaves exactly its decisions in the
//! file, never a secret; processes appending at once never interleave; a trail that
//! cannot be written hands nothing out.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::docs::AuditRecord;
use common::ledger::Store;
use serde_json::json;
use support::{Creds, SERVER_ID, moto, unique};

const CANARY: &str = "audit-canary-value-7f3c";

struct Broker {
    dir: tempfile::TempDir,
    config: PathBuf,
    audit: PathBuf,
    endpoint: String,
    creds: Creds,
}

impl Broker {
    /// A broker whose role `ci` binds `arn`, grants `ci/*` and the `tmp` profile.
    fn new(arn: &str) -> Broker {
        let mut m = moto();
        let endpoint = m.endpoint.clone();
        let creds = m.admin("audit-broker");
        drop(m);
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[login]\nserver_id = \"{SERVER_ID}\"\nsts_endpoint = \"{endpoint}\"\n\n\
                 [roles.ci]\nbound_principal_arns = [\"{arn}\"]\nsecrets = [\"ci/*\"]\ncreds = [\"tmp\"]\n\n\
                 [creds.tmp]\ntype = \"iam_user\"\ndefault_ttl = \"10m\"\n\n\
                 [broker]\nrequire_identity = true\n\n[ledger]\npath = \"{}\"\n\n[audit]\npath = \"{}\"\n",
                dir.path().join("leases.db").display(),
                audit.display()
            ),
        )
        .unwrap();
        Broker {
            dir,
            config,
            audit,
            endpoint,
            creds,
        }
    }

    fn tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(name));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", &self.creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.creds.secret_access_key)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("--config")
            .arg(&self.config);
        cmd
    }

    /// verify-login, then `next` on what it printed.
    fn session(&self, proof: &str, next: &str) -> (i32, String, String) {
        let (code, identity, err) =
            support::run_with_stdin(&mut self.tool("verify-login"), proof.as_bytes());
        if code != 0 {
            return (code, identity, err);
        }
        support::run_with_stdin(&mut self.tool(next), identity.as_bytes())
    }

    fn lines(&self) -> Vec<AuditRecord> {
        read_lines(&self.audit)
    }
}

fn read_lines(path: &Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not an audit record ({e}): {l}"))
        })
        .collect()
}

#[test]
fn a_broker_session_leaves_exactly_its_decisions_and_no_secret() {
    let (workload, arn, user_id) = moto().user(&unique("audited"));
    let secret = unique("ci/audit");
    moto().call(json!({"op": "secret", "name": secret, "string": CANARY}));
    let b = Broker::new(&arn);
    let proof = |request: &str| support::sign_request(&workload, "ci", request);

    // login + read; login + mint; revoke; a refused proof; a refused secret.
    let read_proof = proof(&format!("secret_id={secret}"));
    let (code, out, err) = b.session(&read_proof, "fetch-secret");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(CANARY));
    let (code, lease, err) = b.session(&proof("creds=tmp"), "mint-creds");
    assert_eq!(code, 0, "{err}");
    let lease: common::docs::Lease = serde_json::from_str(lease.trim()).unwrap();
    let (code, _, err) =
        support::run_with_stdin(&mut b.tool("revoke-lease"), lease.lease_id.as_bytes());
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = b.session(&read_proof, "fetch-secret");
    assert_eq!(code, 77, "the replayed proof is refused");
    let (code, _, _) = b.session(&proof("secret_id=prod/db"), "fetch-secret");
    assert_eq!(code, 77, "the ungranted secret is refused");
    // A mint the role does not grant; a login as a role that does not bind this
    // caller; nothing at all on verify-login's stdin.
    let (code, _, _) = b.session(&proof("creds=other"), "mint-creds");
    assert_ne!(code, 0, "the ungranted profile is refused");
    let stranger = support::sign_request(&workload, "nobody", "secret_id=ci/x");
    let (code, _, _) = b.session(&stranger, "fetch-secret");
    assert_eq!(code, 77, "a login role that is not configured is refused");
    let (code, _, _) = support::run_with_stdin(&mut b.tool("verify-login"), b"");
    assert_eq!(code, 65, "no proof is bad input");

    let lines = b.lines();
    let summary: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| (l.tool.clone(), l.action.clone(), l.outcome.clone()))
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("verify-login", "login", "accepted"),
        ("fetch-secret", "read_secret", "granted"),
        ("verify-login", "login", "accepted"),
        ("mint-creds", "mint", "granted"),
        ("revoke-lease", "revoke", "revoked"),
        ("verify-login", "login", "refused"),
        ("verify-login", "login", "accepted"),
        ("fetch-secret", "read_secret", "refused"),
        ("verify-login", "login", "accepted"),
        ("mint-creds", "mint", "refused"),
        ("verify-login", "login", "refused"),
        ("verify-login", "login", "refused"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(summary, expected, "{lines:#?}");

    let caller = lines[0].caller.as_ref().unwrap();
    assert_eq!(
        (
            caller.arn.as_str(),
            caller.user_id.as_str(),
            caller.role.as_str()
        ),
        (arn.as_str(), user_id.as_str(), "ci")
    );
    // The login and the read it led to name the same proof; the replay names it too.
    let hash = lines[0].proof_hash.clone().unwrap();
    assert_eq!(hash.len(), 64);
    assert_eq!(lines[1].proof_hash.as_ref(), Some(&hash));
    assert_eq!(lines[5].proof_hash.as_ref(), Some(&hash));
    assert!(lines[5].reason.as_deref().unwrap().contains("already used"));
    assert_eq!(lines[5].exit_code, 77);
    // A login refused after STS named the caller says who it was.
    assert_eq!(
        lines[5].caller.as_ref().map(|c| c.arn.as_str()),
        Some(arn.as_str())
    );
    assert!(
        lines[9].reason.as_deref().unwrap().contains("other"),
        "{:?}",
        lines[9]
    );
    let stranger_line = &lines[10];
    assert_eq!(
        stranger_line
            .caller
            .as_ref()
            .map(|c| (c.arn.as_str(), c.role.as_str())),
        Some((arn.as_str(), "nobody"))
    );
    assert!(
        stranger_line
            .reason
            .as_deref()
            .unwrap()
            .contains("not configured")
    );
    assert_eq!((lines[11].exit_code, lines[11].caller.as_ref()), (65, None));
    assert!(
        lines[11]
            .reason
            .as_deref()
            .unwrap()
            .contains("no proof on stdin")
    );
    assert_eq!(lines[1].target.secret_id.as_deref(), Some(secret.as_str()));
    assert!(lines[1].target.secret_arn.is_some() && lines[1].target.version_id.is_some());
    assert_eq!(
        lines[3].target.lease_id.as_deref(),
        Some(lease.lease_id.as_str())
    );
    assert_eq!(lines[3].target.profile.as_deref(), Some("tmp"));
    assert!(
        lines[3]
            .target
            .iam_user
            .as_deref()
            .unwrap()
            .starts_with("vaultless-tmp-")
    );
    assert_eq!(
        lines[4].target.lease_id.as_deref(),
        Some(lease.lease_id.as_str())
    );
    // The revocation names what it took apart, as the mint named what it made.
    assert_eq!(lines[4].target.profile.as_deref(), Some("tmp"));
    assert_eq!(lines[4].target.iam_user, lines[3].target.iam_user);
    assert_eq!(lines[7].target.secret_id.as_deref(), Some("prod/db"));
    assert!(
        lines[7]
            .reason
            .as_deref()
            .unwrap()
            .contains("is not granted secret")
    );
    for l in &lines {
        assert!(
            l.pid > 0 && !l.host.is_empty() && l.time.ends_with('Z'),
            "{l:?}"
        );
    }
    // Never a secret value or a key.
    let raw = std::fs::read_to_string(&b.audit).unwrap();
    assert!(
        !raw.contains(CANARY),
        "the secret value is in the audit trail"
    );
    assert!(!raw.contains(&lease.credentials.secret_access_key));
    assert!(!raw.contains(&lease.credentials.access_key_id));
}

/// Eight processes appending at once: every line is whole and parses.
#[test]
fn processes_appending_at_once_never_interleave() {
    let b = Broker::new("arn:aws:iam::123456789012:user/nobody");
    let junk: String = (0..300).map(|i| format!("not a proof {i}\n")).collect();
    let children: Vec<_> = (0..8)
        .map(|_| support::spawn_with_stdin(&mut b.tool("verify-login"), junk.as_bytes()))
        .collect();
    for c in children {
        assert_eq!(c.wait_with_output().unwrap().status.code(), Some(65));
    }
    let lines = b.lines();
    assert_eq!(lines.len(), 8 * 300);
    assert!(
        lines
            .iter()
            .all(|l| l.outcome == "refused" && l.exit_code == 65)
    );
}

/// A trail that cannot be written: no secret and no lease is handed out (69); a
/// revocation goes on.
#[test]
fn an_unwritable_trail_hands_nothing_out() {
    let (workload, arn, _) = moto().user(&unique("unaudited"));
    let secret = unique("ci/unaudited");
    moto().call(json!({"op": "secret", "name": secret, "string": CANARY}));
    let b = Broker::new(&arn);
    let proof = support::sign_request(&workload, "ci", &format!("secret_id={secret}"));
    let (code, identity, err) =
        support::run_with_stdin(&mut b.tool("verify-login"), proof.as_bytes());
    assert_eq!(code, 0, "{err}");
    // The trail becomes a directory: it cannot be opened for writing.
    std::fs::remove_file(&b.audit).unwrap();
    std::fs::create_dir(&b.audit).unwrap();
    let (code, out, err) =
        support::run_with_stdin(&mut b.tool("fetch-secret"), identity.as_bytes());
    assert_eq!(code, 69, "{err}");
    assert!(out.is_empty() && !err.contains(CANARY), "{out}{err}");
    assert!(err.contains("cannot write the audit trail"), "{err}");
    let (code, _, err) =
        support::run_with_stdin(&mut b.tool("revoke-lease"), b"creds/tmp/0000000000000000\n");
    assert_eq!(code, 1, "revocation runs (and finds no such lease): {err}");
    assert!(err.contains("cannot write the audit trail"), "{err}");
}

/// A trail that opens but refuses the line (a full disk): the lease just minted is
/// revoked, not handed out; a sweep still revokes and says its lines are missing.
#[test]
fn a_full_disk_revokes_the_lease_it_cannot_record() {
    let (workload, arn, _) = moto().user(&unique("fulldisk"));
    let b = Broker::new(&arn);
    // A profile of this test's own, so that its IAM users can be counted.
    let profile = unique("full").replace('-', "");
    let config = std::fs::read_to_string(&b.config)
        .unwrap()
        .replace(&b.audit.display().to_string(), "/dev/full")
        .replace("\"tmp\"", &format!("\"{profile}\""))
        .replace("[creds.tmp]", &format!("[creds.{profile}]"));
    std::fs::write(&b.config, config).unwrap();
    let proof = || support::sign_request(&workload, "ci", &format!("creds={profile}"));
    let set_trail = |path: &str| {
        let body = std::fs::read_to_string(&b.config).unwrap();
        let (from, to) = if path == "/dev/full" {
            (b.audit.display().to_string(), path.to_string())
        } else {
            ("/dev/full".to_string(), path.to_string())
        };
        std::fs::write(&b.config, body.replace(&from, &to)).unwrap();
    };
    let (code, identity, err) =
        support::run_with_stdin(&mut b.tool("verify-login"), proof().as_bytes());
    assert_eq!(code, 69, "the login line cannot be written either: {err}");
    assert!(identity.is_empty(), "{identity}");
    // A login audited in a writable trail; then the mint meets the full disk.
    set_trail(&b.audit.display().to_string());
    let (code, identity, err) =
        support::run_with_stdin(&mut b.tool("verify-login"), proof().as_bytes());
    assert_eq!(code, 0, "{err}");
    set_trail("/dev/full");
    let (code, out, err) =
        support::run_with_stdin(b.tool("mint-creds").arg("-v"), identity.as_bytes());
    assert_eq!(code, 69, "{err}");
    assert!(out.is_empty(), "no lease is handed out: {out}");
    assert!(
        err.contains("cannot write the audit trail /dev/full"),
        "{err}"
    );
    let id = err
        .split_whitespace()
        .skip_while(|w| *w != "lease")
        .nth(1)
        .unwrap_or_else(|| panic!("no lease id in the log: {err}"));
    let store = common::ledger::SqliteStore::open(
        &b.dir.path().join("leases.db"),
        common::ledger::Settings {
            retain: std::time::Duration::from_secs(3600),
        },
    )
    .unwrap();
    let row = support::block(store.get(id)).unwrap().unwrap();
    assert_eq!(row.state, common::ledger::State::Revoked, "{row:?}");
    let users = moto().call(json!({"op": "list_users", "prefix": format!("vaultless-{profile}")}));
    assert_eq!(users["users"], json!([]), "its IAM user is gone");
}

/// A lease mint-creds takes back itself is a revocation in the trail: here the
/// command run by `--exec --revoke-on-exit` ends, and the lease is revoked.
#[test]
fn a_lease_revoked_on_exit_is_a_line_of_its_own() {
    let (_, arn, _) = moto().user(&unique("onexit"));
    let b = Broker::new(&arn);
    let text = std::fs::read_to_string(&b.config)
        .unwrap()
        .replace("require_identity = true", "require_identity = false");
    std::fs::write(&b.config, text).unwrap();
    let out = b
        .tool("mint-creds")
        .args([
            "tmp",
            "--no-wait",
            "--exec",
            "--revoke-on-exit",
            "--",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = b.lines();
    let summary: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l.action.as_str(), l.outcome.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("mint", "granted"), ("revoke", "revoked")],
        "{lines:#?}"
    );
    assert_eq!(lines[0].target.lease_id, lines[1].target.lease_id);
    assert!(
        lines[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("--revoke-on-exit")
    );
}
