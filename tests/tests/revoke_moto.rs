//! revoke-lease against moto (signature checks on), with mint-creds making the leases:
//! the expiry sweep, --prefix and --dry-run, leases named by id and on stdin, STS
//! leases (expires_only, --hard), half-made users left by interrupted mints, mints
//! SIGKILLed at random moments, parallel sweepers, a new ledger opened by several
//! processes at once, faults injected by a proxy between the tools and moto, and exit
//! codes.
//!
//! Each test has its own config and ledger (in a temp dir) and its own profile names,
//! so the IAM users a test creates are told apart by name prefix.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use common::config::Backend;
use common::docs::{Lease, Revocation, RevocationStatus};
use common::ledger::{
    DynamoStore, IamUser, Lease as LeaseRow, Resources, Settings, SqliteStore, State, Store,
};
use serde_json::{Value, json};
use support::proxy::{Fault, Proxy};
use support::{Creds, bin, moto, unique};

const REGION: &str = "us-east-1";

// ---------------------------------------------------------------- helpers

fn allow_all() -> Value {
    json!({"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
}

/// The policy minted users get: harmless, but it makes an inline policy to delete.
fn s3_read() -> Value {
    json!({"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
}

/// The keys the tools run with: a moto user allowed everything, made once.
fn admin() -> Creds {
    static ADMIN: OnceLock<Creds> = OnceLock::new();
    ADMIN
        .get_or_init(|| {
            let v = moto()
                .call(json!({"op": "user", "name": unique("revoker"), "policy": allow_all()}));
            Creds {
                access_key_id: v["access_key_id"].as_str().unwrap().into(),
                secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
                session_token: None,
            }
        })
        .clone()
}

/// An iam_user profile with an inline policy and, optionally, groups and managed policies.
fn iam_profile(name: &str, ttl: &str) -> String {
    iam_profile_with(name, ttl, &[], &[])
}

fn iam_profile_with(name: &str, ttl: &str, groups: &[String], policy_arns: &[String]) -> String {
    format!(
        "[creds.{name}]\ntype = \"iam_user\"\ndefault_ttl = \"{ttl}\"\npolicy_document = '''{}'''\n\
         iam_groups = {}\npolicy_arns = {}\n\n",
        s3_read(),
        json!(groups),
        json!(policy_arns)
    )
}

fn sts_profile(name: &str, role_arn: &str) -> String {
    format!(
        "[creds.{name}]\ntype = \"assumed_role\"\nrole_arn = \"{role_arn}\"\ndefault_ttl = \"15m\"\n\n"
    )
}

/// The names every user of a profile's leases starts with.
fn user_prefix(profile: &str) -> String {
    format!("vaultless-{profile}-")
}

/// IAM users (in moto) whose name starts with `prefix`.
fn users(prefix: &str) -> Vec<String> {
    let v = moto().call(json!({"op": "list_users", "prefix": prefix}));
    serde_json::from_value(v["users"].clone()).unwrap()
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn secs(timestamp: &str) -> i64 {
    timestamp
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("not a timestamp ({e}): {timestamp}"))
        .as_second()
}

/// Sleeps until every lease in `leases` is past its expiry (as a sweep sees it).
fn wait_past(leases: &[Lease]) {
    let last = leases.iter().map(|l| secs(&l.expires_at)).max().unwrap();
    let start = Instant::now();
    while now_secs() < last {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "leases expire too late"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stdout(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn stderr(assert: &Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

fn parse_results(out: &[u8]) -> Vec<Revocation> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a revocation result ({e}): {l}"))
        })
        .collect()
}

fn results(assert: &Assert) -> Vec<Revocation> {
    parse_results(&assert.get_output().stdout)
}

/// Results by lease id; a lease reported twice fails the test.
fn by_id(results: &[Revocation]) -> BTreeMap<String, Revocation> {
    let mut map = BTreeMap::new();
    for r in results {
        assert!(
            map.insert(r.lease_id.clone(), r.clone()).is_none(),
            "lease {} reported twice: {results:#?}",
            r.lease_id
        );
    }
    map
}

fn ids<'a>(leases: impl IntoIterator<Item = &'a Lease>) -> BTreeSet<String> {
    leases.into_iter().map(|l| l.lease_id.clone()).collect()
}

fn with_status(results: &[Revocation], status: RevocationStatus) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.lease_id.clone())
        .collect()
}

/// A random number, different on every call (no rand crate needed).
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// What `support::bin` does to the environment, for a `std::process::Command`.
fn clean_env(cmd: &mut StdCommand, home: &Path) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("AWS_") || key.starts_with("VAULTLESS_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

/// Runs Python (boto3, from the test venv) against moto with the admin keys, for IAM
/// calls the harness has no op for. `code` has `iam` and prints one JSON document.
fn boto(code: &str) -> Value {
    let admin = admin();
    let endpoint = moto().endpoint.clone();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = StdCommand::new(support::root().join(".venv/bin/python"));
    clean_env(&mut cmd, home.path());
    let script = format!(
        "import boto3, json, os\n\
         iam = boto3.client('iam', endpoint_url=os.environ['MOTO'], region_name='{REGION}',\n\
             aws_access_key_id=os.environ['KEY'], aws_secret_access_key=os.environ['SECRET'])\n\
         {code}\n"
    );
    let out = cmd
        .arg("-c")
        .arg(script)
        .env("MOTO", endpoint)
        .env("KEY", &admin.access_key_id)
        .env("SECRET", &admin.secret_access_key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One test's world: a config with its own state store (a SQLite file, or a
/// DynamoDB table on moto), and moto's keys and endpoint.
struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    backend: Backend,
    ledger: PathBuf,
    table: String,
    profiles: String,
    moto: String,
    creds: Creds,
}

impl Site {
    /// A config with `profiles` and `[ledger] pending_grace = "0s"`.
    fn new(backend: Backend, profiles: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("state/leases.db");
        let creds = admin();
        let endpoint = moto().endpoint.clone();
        let mut site = Site {
            config: PathBuf::new(),
            backend,
            ledger,
            table: unique("vl-leases"),
            profiles: profiles.to_string(),
            moto: endpoint,
            creds,
            dir,
        };
        site.config = site.config_with_grace("0s");
        // An established ledger: its first use by several processes at once is
        // `a_new_ledger_opened_by_several_processes_at_once`.
        site.ledger();
        site
    }

    /// A second host sharing this site's DynamoDB table: its own directory (HOME and
    /// XDG dirs), config file and processes.
    fn other_host(&self) -> Site {
        assert_eq!(
            self.backend,
            Backend::Dynamodb,
            "hosts share a DynamoDB table only"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut site = Site {
            config: PathBuf::new(),
            backend: Backend::Dynamodb,
            ledger: dir.path().join("state/leases.db"),
            table: self.table.clone(),
            profiles: self.profiles.clone(),
            moto: self.moto.clone(),
            creds: self.creds.clone(),
            dir,
        };
        site.config = site.config_with_grace("0s");
        site
    }

    /// Another config file for the same ledger and profiles.
    fn config_with_grace(&self, grace: &str) -> PathBuf {
        let path = self.dir.path().join(format!("config-{grace}.toml"));
        std::fs::write(
            &path,
            format!(
                "{}[ledger]\n{}\npending_grace = \"{grace}\"\n",
                self.profiles,
                self.store_lines()
            ),
        )
        .unwrap();
        path
    }

    /// The `[ledger]` lines naming this site's store.
    fn store_lines(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("path = \"{}\"", self.ledger.display()),
            Backend::Dynamodb => format!("backend = \"dynamodb\"\ntable = \"{}\"", self.table),
        }
    }

    fn command(&self, tool: &str, endpoint: &str, config: &Path) -> Command {
        let mut cmd = bin(tool);
        self.creds.apply(&mut cmd);
        // The store talks to moto directly; `endpoint` (maybe a fault proxy) is IAM's.
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.moto)
            .env("AWS_REGION", REGION)
            .arg("--config")
            .arg(config);
        cmd
    }

    fn std_command(&self, tool: &str, endpoint: &str) -> StdCommand {
        self.std_command_with(tool, endpoint, &self.config)
    }

    /// A `std::process::Command`, for processes the test runs side by side or kills.
    fn std_command_with(&self, tool: &str, endpoint: &str, config: &Path) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin(tool));
        clean_env(&mut cmd, self.dir.path());
        cmd.env("AWS_ACCESS_KEY_ID", &self.creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.creds.secret_access_key)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &self.moto)
            .env("AWS_REGION", REGION)
            .arg("--config")
            .arg(config);
        cmd
    }

    fn revoke(&self) -> Command {
        self.command("revoke-lease", &self.moto, &self.config)
    }

    fn revoke_via(&self, endpoint: &str) -> Command {
        self.command("revoke-lease", endpoint, &self.config)
    }

    fn mint(&self, profile: &str) -> Lease {
        self.mint_via(&self.moto, profile)
    }

    /// Mints one lease and returns its document (printed on one line).
    fn mint_via(&self, endpoint: &str, profile: &str) -> Lease {
        let a = self
            .command("mint-creds", endpoint, &self.config)
            .arg(profile)
            .assert()
            .success();
        let text = stdout(&a);
        assert_eq!(text.lines().count(), 1, "one lease: {text}");
        let lease: Lease = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("not a lease ({e}): {text}"));
        assert!(
            lease.lease_id.starts_with(&format!("creds/{profile}/")),
            "{lease:?}"
        );
        lease
    }

    /// Mints `n` leases, a few processes at a time.
    fn mint_many(&self, profile: &str, n: usize) -> Vec<Lease> {
        let mut leases = Vec::new();
        while leases.len() < n {
            let batch = (n - leases.len()).min(5);
            let children: Vec<Child> = (0..batch)
                .map(|_| {
                    self.std_command("mint-creds", &self.moto)
                        .arg(profile)
                        .stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "mint-creds: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                leases.push(serde_json::from_slice(&out.stdout).unwrap());
            }
        }
        leases
    }

    /// The site's state store, as the tools open it.
    fn ledger(&self) -> Ledger {
        let settings = Settings {
            retain: common::ledger::DEFAULT_RETAIN,
        };
        Ledger(match self.backend {
            Backend::Sqlite => Box::new(SqliteStore::open(&self.ledger, settings).unwrap()),
            Backend::Dynamodb => Box::new(DynamoStore::with_config(
                &support::sdk_config(&self.moto, &self.creds),
                &self.table,
                settings,
            )),
        })
    }

    fn row(&self, id: &str) -> LeaseRow {
        self.ledger()
            .get(id)
            .unwrap_or_else(|| panic!("no ledger row {id}"))
    }

    fn state(&self, id: &str) -> State {
        self.row(id).state
    }
}

/// A state store read and written from a test's own (synchronous) code.
struct Ledger(Box<dyn Store>);

use support::block;

impl Ledger {
    fn get(&self, id: &str) -> Option<LeaseRow> {
        block(self.0.get(id)).unwrap()
    }
    fn insert_pending(&self, row: &LeaseRow) {
        block(self.0.insert_pending(row)).unwrap()
    }
    fn live_with_prefix(&self, prefix: &str) -> Vec<LeaseRow> {
        block(self.0.live_with_prefix(prefix)).unwrap()
    }
}

fn user_name(row: &LeaseRow) -> Option<&str> {
    match &row.resources {
        Resources::IamUser(u) => Some(&u.user_name),
        _ => None,
    }
}

/// Each test body runs once on the SQLite store and once on a DynamoDB table.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod dynamodb {
            $( #[test] fn $name() { super::$name(super::Backend::Dynamodb) } )*
        }
    };
}

on_both_backends!(
    expired_sweep_revokes_exactly_the_expired_leases,
    prefix_revokes_one_profile_and_dry_run_changes_nothing,
    leases_by_argument_by_document_and_by_bare_id,
    sts_leases_expire_only_unless_hard,
    interrupted_mints_are_rolled_back_completely,
    mints_killed_at_random_leave_nothing_behind,
    parallel_sweepers_revoke_each_lease_once,
    a_few_faults_are_retried_away,
    a_failing_aws_marks_the_lease_failed_until_the_next_sweep,
    exit_codes,
);

// ---------------------------------------------------------------- 1. the expiry sweep

fn expired_sweep_revokes_exactly_the_expired_leases(backend: Backend) {
    let short = unique("short");
    let long = unique("long");
    let site = Site::new(
        backend,
        &(iam_profile(&short, "1s") + &iam_profile(&long, "1h")),
    );
    let expired: Vec<Lease> = (0..3).map(|_| site.mint(&short)).collect();
    let kept = site.mint(&long);
    for lease in &expired {
        assert_eq!(lease.credential_type, "iam_user");
        assert_eq!(lease.lease_duration, 1, "{lease:?}");
        assert_eq!(site.state(&lease.lease_id), State::Active);
    }
    assert_eq!(users(&user_prefix(&short)).len(), 3);
    assert_eq!(users(&user_prefix(&long)).len(), 1);

    wait_past(&expired);
    let a = site.revoke().arg("--expired").assert().success();
    let got = results(&a);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(
        with_status(&got, RevocationStatus::Revoked),
        ids(&expired),
        "{got:#?}"
    );
    assert!(got.iter().all(|r| r.error.is_none()), "{got:#?}");
    assert!(by_id(&got).len() == 3);

    assert_eq!(users(&user_prefix(&short)), Vec::<String>::new());
    assert_eq!(
        users(&user_prefix(&long)).len(),
        1,
        "the unexpired lease's user survives"
    );
    for lease in &expired {
        assert_eq!(site.state(&lease.lease_id), State::Revoked);
    }
    assert_eq!(site.state(&kept.lease_id), State::Active);

    let again = site.revoke().arg("--expired").assert().success();
    assert_eq!(stdout(&again), "", "a second sweep has nothing to do");
    assert_eq!(site.state(&kept.lease_id), State::Active);
}

// ---------------------------------------------------------------- 2. --prefix and --dry-run

fn prefix_revokes_one_profile_and_dry_run_changes_nothing(backend: Backend) {
    let a_profile = unique("pa");
    let b_profile = unique("pb");
    let site = Site::new(
        backend,
        &(iam_profile(&a_profile, "1s") + &iam_profile(&b_profile, "1h")),
    );
    let a_leases: Vec<Lease> = (0..2).map(|_| site.mint(&a_profile)).collect();
    let b_leases: Vec<Lease> = (0..2).map(|_| site.mint(&b_profile)).collect();
    wait_past(&a_leases);

    let all_active = |site: &Site| {
        for l in a_leases.iter().chain(&b_leases) {
            assert_eq!(site.state(&l.lease_id), State::Active, "{}", l.lease_id);
        }
        assert_eq!(users(&user_prefix(&a_profile)).len(), 2);
        assert_eq!(users(&user_prefix(&b_profile)).len(), 2);
    };

    // --dry-run --expired: A's two leases, with their expiry.
    let a = site
        .revoke()
        .args(["--expired", "--dry-run"])
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        with_status(&got, RevocationStatus::WouldRevoke),
        ids(&a_leases)
    );
    let found = by_id(&got);
    for l in &a_leases {
        assert_eq!(
            found[&l.lease_id].expires_at.as_deref(),
            Some(l.expires_at.as_str())
        );
    }
    all_active(&site);

    // --dry-run --prefix: B's two (unexpired) leases.
    let a = site
        .revoke()
        .args(["--prefix", &format!("creds/{b_profile}/"), "--dry-run"])
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        with_status(&got, RevocationStatus::WouldRevoke),
        ids(&b_leases)
    );
    all_active(&site);

    // --prefix for real: B only, though A's leases are expired.
    let a = site
        .revoke()
        .args(["--prefix", &format!("creds/{b_profile}/")])
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(with_status(&got, RevocationStatus::Revoked), ids(&b_leases));
    assert_eq!(users(&user_prefix(&b_profile)), Vec::<String>::new());
    assert_eq!(users(&user_prefix(&a_profile)).len(), 2);
    for l in &a_leases {
        assert_eq!(site.state(&l.lease_id), State::Active);
    }
    for l in &b_leases {
        assert_eq!(site.state(&l.lease_id), State::Revoked);
    }

    // A revoked prefix has nothing live left; a dry run by id says already_revoked.
    let a = site
        .revoke()
        .args(["--prefix", &format!("creds/{b_profile}/"), "--dry-run"])
        .assert()
        .success();
    assert_eq!(stdout(&a), "");
    let a = site
        .revoke()
        .args([b_leases[0].lease_id.as_str(), "--dry-run"])
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, RevocationStatus::AlreadyRevoked);

    // The expired ones go with the next sweep.
    let a = site.revoke().arg("--expired").assert().success();
    assert_eq!(
        with_status(&results(&a), RevocationStatus::Revoked),
        ids(&a_leases)
    );
    assert_eq!(users(&user_prefix(&a_profile)), Vec::<String>::new());
}

// ---------------------------------------------------------------- 3. leases named by id

fn leases_by_argument_by_document_and_by_bare_id(backend: Backend) {
    let profile = unique("ids");
    let site = Site::new(backend, &iam_profile(&profile, "1h"));
    let leases: Vec<Lease> = (0..3).map(|_| site.mint(&profile)).collect();
    assert_eq!(users(&user_prefix(&profile)).len(), 3);

    // By argument.
    let a = site.revoke().arg(&leases[0].lease_id).assert().success();
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].lease_id.as_str(), got[0].status),
        (leases[0].lease_id.as_str(), RevocationStatus::Revoked)
    );
    assert_eq!(users(&user_prefix(&profile)).len(), 2);

    // A lease document, as mint-creds printed it, on stdin.
    let doc = serde_json::to_string(&leases[1]).unwrap();
    let a = site
        .revoke()
        .write_stdin(format!("{doc}\n"))
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].lease_id.as_str(), got[0].status),
        (leases[1].lease_id.as_str(), RevocationStatus::Revoked)
    );

    // A bare id on stdin (with - among the arguments, and blank lines around it).
    let a = site
        .revoke()
        .arg("-")
        .write_stdin(format!("\n  {}  \n\n", leases[2].lease_id))
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].lease_id.as_str(), got[0].status),
        (leases[2].lease_id.as_str(), RevocationStatus::Revoked)
    );
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    for l in &leases {
        assert_eq!(site.state(&l.lease_id), State::Revoked);
    }

    // Twice: already_revoked, exit 0; the same id twice in one call is one result.
    let a = site
        .revoke()
        .args([&leases[0].lease_id, &leases[0].lease_id])
        .write_stdin(format!("{doc}\n"))
        .arg("-")
        .assert()
        .success();
    let got = by_id(&results(&a));
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got.values()
            .all(|r| r.status == RevocationStatus::AlreadyRevoked && r.error.is_none()),
        "{got:#?}"
    );

    // An id the ledger does not know: failed, exit 1, the others still done.
    let unknown = format!("creds/{profile}/0000000000000000");
    let a = site
        .revoke()
        .args([&unknown, &leases[0].lease_id])
        .assert()
        .code(1);
    let got = by_id(&results(&a));
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[&unknown].status, RevocationStatus::Failed);
    assert!(got[&unknown].error.is_some());
    assert_eq!(
        got[&leases[0].lease_id].status,
        RevocationStatus::AlreadyRevoked
    );
    assert!(stderr(&a).contains(&unknown), "{}", stderr(&a));
}

fn sts_leases_expire_only_unless_hard(backend: Backend) {
    let role = unique("deployer");
    let (_, _, role_arn) = moto().role(&role);
    let sts = unique("sts");
    let iam = unique("iamx");
    let site = Site::new(
        backend,
        &(sts_profile(&sts, &role_arn) + &iam_profile(&iam, "1h")),
    );

    let soft = site.mint(&sts);
    assert_eq!(soft.credential_type, "assumed_role");
    assert!(soft.credentials.session_token.is_some());
    let a = site.revoke().arg(&soft.lease_id).assert().success();
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, RevocationStatus::ExpiresOnly, "{got:#?}");
    assert_eq!(got[0].expires_at.as_deref(), Some(soft.expires_at.as_str()));
    assert_eq!(
        moto().call(
            json!({"op": "role_policy", "role": role, "name": "vaultless-revoke-older-sessions"})
        )["policy"],
        Value::Null,
        "without --hard the role is left alone"
    );

    // Mixed in one call: revoked + expires_only + already_revoked is exit 0.
    let user_lease = site.mint(&iam);
    let sts_lease = site.mint(&sts);
    let a = site
        .revoke()
        .args([&user_lease.lease_id, &sts_lease.lease_id, &soft.lease_id])
        .assert()
        .success();
    let got = by_id(&results(&a));
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(got[&user_lease.lease_id].status, RevocationStatus::Revoked);
    assert_eq!(
        got[&sts_lease.lease_id].status,
        RevocationStatus::ExpiresOnly
    );
    assert_eq!(got[&soft.lease_id].status, RevocationStatus::AlreadyRevoked);

    // --hard: a Deny on every session of the role issued before now.
    let hard = site.mint(&sts);
    let before = now_secs();
    let a = site
        .revoke()
        .args(["--hard", &hard.lease_id])
        .assert()
        .success();
    let after = now_secs();
    let warning = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        warning.contains("warning: --hard cuts off every session of") && warning.contains(&role),
        "no warning naming the role: {warning}"
    );
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, RevocationStatus::Revoked, "{got:#?}");
    assert_eq!(site.state(&hard.lease_id), State::Revoked);
    let policy = moto().call(
        json!({"op": "role_policy", "role": role, "name": "vaultless-revoke-older-sessions"}),
    )["policy"]
        .clone();
    assert!(policy.is_object(), "no hard-revoke policy on the role");
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{policy}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Deny", "{policy}");
    assert_eq!(s["Action"], "*", "{policy}");
    let cutoff = s["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap_or_else(|| panic!("no DateLessThan aws:TokenIssueTime: {policy}"));
    let cutoff = secs(cutoff);
    // The cut-off is the revocation time rounded up to the next whole second, so that a
    // session issued earlier in that second is cut off too.
    assert!(
        before < cutoff && cutoff <= after + 1,
        "cut-off {cutoff} not within {before}<..={after}+1"
    );
    assert!(cutoff >= secs(&hard.issued_at));
}

// ---------------------------------------------------------------- 4. half-made users

fn interrupted_mints_are_rolled_back_completely(backend: Backend) {
    let profile = unique("half");
    let site = Site::new(backend, &iam_profile(&profile, "1h"));
    // A user an interrupted mint made more of than its row says: an access key, an
    // inline policy, a managed policy and a group, none of them recorded.
    let user = format!("{}{:016x}", user_prefix(&profile), random_u64());
    let group = unique("grp");
    moto().call(json!({"op": "user", "name": user, "policy": s3_read()}));
    moto().call(json!({"op": "group", "name": group}));
    let policy_arn = moto()
        .call(json!({"op": "managed_policy", "name": unique("mp"), "policy": s3_read()}))["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let setup = boto(&format!(
        "iam.add_user_to_group(UserName='{user}', GroupName='{group}')\n\
         iam.attach_user_policy(UserName='{user}', PolicyArn='{policy_arn}')\n\
         print(json.dumps({{\n\
           'keys': len(iam.list_access_keys(UserName='{user}')['AccessKeyMetadata']),\n\
           'inline': iam.list_user_policies(UserName='{user}')['PolicyNames'],\n\
           'attached': len(iam.list_attached_user_policies(UserName='{user}')['AttachedPolicies']),\n\
           'groups': [g['GroupName'] for g in iam.list_groups_for_user(UserName='{user}')['Groups']]}}))"
    ));
    assert_eq!(
        setup,
        json!({"keys": 1, "inline": ["test"], "attached": 1, "groups": [group]})
    );

    let now = jiff::Timestamp::now();
    let pending = |suffix: &str, name: String| {
        let row = LeaseRow::pending(
            format!("creds/{profile}/{suffix}"),
            profile.clone(),
            Resources::IamUser(IamUser {
                user_name: name,
                access_key_id: None,
                inline_policies: vec![],
                policy_arns: vec![],
                groups: vec![],
            }),
            now - jiff::SignedDuration::from_secs(2),
            now + jiff::SignedDuration::from_secs(3600),
        );
        site.ledger().insert_pending(&row);
        row.id
    };
    let half = pending("half", user.clone());
    let ghost = pending(
        "ghost",
        format!("{}{:016x}", user_prefix(&profile), random_u64()),
    );

    // Within pending_grace they are mints in progress: left alone.
    let patient = site.config_with_grace("5m");
    let a = site
        .command("revoke-lease", &site.moto, &patient)
        .arg("--expired")
        .assert()
        .success();
    assert_eq!(stdout(&a), "");
    assert_eq!(site.state(&half), State::Pending);

    let a = site.revoke().arg("--expired").assert().success();
    let got = by_id(&results(&a));
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[&half].status, RevocationStatus::Revoked, "{got:#?}");
    assert_eq!(got[&ghost].status, RevocationStatus::AlreadyRevoked);
    for id in [&half, &ghost] {
        let row = site.row(id);
        assert_eq!((row.state, row.last_error), (State::Revoked, None), "{id}");
    }
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    // moto deletes a user that still has keys or groups; these show it was stripped.
    let after = boto(&format!(
        "print(json.dumps({{\n\
           'members': [u['UserName'] for u in iam.get_group(GroupName='{group}')['Users']],\n\
           'attachments': len(iam.list_entities_for_policy(PolicyArn='{policy_arn}')['PolicyUsers'])}}))"
    ));
    assert_eq!(after, json!({"members": [], "attachments": 0}));
}

// ---------------------------------------------------------------- 5. mints killed at random

fn mints_killed_at_random_leave_nothing_behind(backend: Backend) {
    let profile = unique("kill");
    let group = unique("kgrp");
    moto().call(json!({"op": "group", "name": group}));
    let policy_arn = moto()
        .call(json!({"op": "managed_policy", "name": unique("kmp"), "policy": s3_read()}))["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let site = Site::new(
        backend,
        &iam_profile_with(
            &profile,
            "1h",
            std::slice::from_ref(&group),
            std::slice::from_ref(&policy_arn),
        ),
    );

    // How long one whole mint takes here, now.
    let start = Instant::now();
    site.mint(&profile);
    let full = start.elapsed();

    // Rounds of 12 kills, until some kill has left a half-made user behind (a pending
    // row whose user exists), or 48 kills.
    let mut unfinished = 0;
    let mut delays = Vec::new();
    let mut half_made = 0;
    while delays.len() < 12 || (half_made == 0 && delays.len() < 48) {
        let mut child = site
            .std_command("mint-creds", &site.moto)
            .arg(&profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = full.mul_f64((random_u64() % 1000) as f64 / 1000.0 * 1.1);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            unfinished += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        delays.push(delay.as_millis());
        if delays.len() % 12 == 0 {
            let existing: BTreeSet<String> = users(&user_prefix(&profile)).into_iter().collect();
            half_made = site
                .ledger()
                .live_with_prefix(&format!("creds/{profile}/"))
                .iter()
                .filter(|r| {
                    r.state == State::Pending && user_name(r).is_some_and(|u| existing.contains(u))
                })
                .count();
        }
    }
    let rows = site.ledger().live_with_prefix("creds/");
    let count = |state| rows.iter().filter(|r| r.state == state).count();
    eprintln!(
        "one mint took {full:?}; {} kills after {delays:?} ms, {unfinished} before the end; \
         ledger: {} pending ({half_made} with a user), {} active",
        delays.len(),
        count(State::Pending),
        count(State::Active)
    );

    assert!(
        half_made > 0,
        "no kill landed between CreateUser and the end of the mint: the test proves nothing"
    );

    let swept = site.revoke().arg("--expired").assert();
    let swept_results = results(&swept);
    swept.success();
    let rest = site.revoke().args(["--prefix", "creds/"]).assert();
    let rest_results = results(&rest);
    rest.success();
    for r in swept_results.iter().chain(&rest_results) {
        assert_ne!(r.status, RevocationStatus::Failed, "{r:?}");
    }
    let both: Vec<Revocation> = swept_results.iter().chain(&rest_results).cloned().collect();
    by_id(&both);
    assert_eq!(
        users(&user_prefix(&profile)),
        Vec::<String>::new(),
        "after {swept_results:#?} and {rest_results:#?}"
    );
    let live = site.ledger().live_with_prefix("creds/");
    assert!(live.is_empty(), "{live:#?}");
    let members = boto(&format!(
        "print(json.dumps([u['UserName'] for u in iam.get_group(GroupName='{group}')['Users']]))"
    ));
    assert_eq!(members, json!([]), "group members left behind");
}

// ---------------------------------------------------------------- 6. parallel sweepers

fn parallel_sweepers_revoke_each_lease_once(backend: Backend) {
    let profile = unique("par");
    let site = Site::new(backend, &iam_profile(&profile, "1s"));
    // Two rounds: the sweepers race differently each time.
    for round in 0..2 {
        let leases = site.mint_many(&profile, 20);
        assert_eq!(ids(&leases).len(), 20);
        assert_eq!(users(&user_prefix(&profile)).len(), 20);
        wait_past(&leases);

        let all = sweep_from(&[&site], 3);
        eprintln!("round {round}: {} result lines", all.len());
        assert_eq!(
            with_status(&all, RevocationStatus::Failed),
            BTreeSet::new(),
            "{all:#?}"
        );
        assert_eq!(
            all.iter()
                .filter(|r| r.status == RevocationStatus::Revoked)
                .count(),
            20,
            "{all:#?}"
        );
        assert_eq!(with_status(&all, RevocationStatus::Revoked), ids(&leases));
        // Each lease reported by exactly one sweeper: one that another sweeper finished
        // meanwhile is that sweeper's to report, as one it still holds is.
        by_id(&all);
        assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
        for l in &leases {
            assert_eq!(site.state(&l.lease_id), State::Revoked);
        }
    }
}

#[test]
fn a_new_ledger_opened_by_several_processes_at_once() {
    // The first sweeps (or mints) on a fresh host can start together; each must wait
    // for the others to create the ledger, not fail with "database is locked".
    let site = Site::new(Backend::Sqlite, "");
    let mut errors = Vec::new();
    for round in 0..30 {
        let config = site.dir.path().join(format!("fresh-{round}.toml"));
        std::fs::write(
            &config,
            format!(
                "[ledger]\npath = \"{}\"\npending_grace = \"0s\"\n",
                site.dir
                    .path()
                    .join(format!("fresh-{round}/leases.db"))
                    .display()
            ),
        )
        .unwrap();
        let children: Vec<Child> = (0..6)
            .map(|_| {
                site.std_command_with("revoke-lease", &site.moto, &config)
                    .arg("--expired")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            if !out.status.success() || !out.stdout.is_empty() {
                errors.push(format!(
                    "round {round}: {:?}: {}{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{errors:#?}");
}

// ---------------------------------------------------------------- 7. fault injection

fn a_few_faults_are_retried_away(backend: Backend) {
    let profile = unique("flaky");
    let site = Site::new(backend, &iam_profile(&profile, "1h"));
    let proxy = Proxy::start(&site.moto);

    proxy.fail(2, Fault::Throttle);
    let start = Instant::now();
    let lease = site.mint_via(&proxy.url, &profile);
    eprintln!("mint through 2 throttles: {:?}", start.elapsed());
    let (answered, forwarded) = proxy.counts();
    // One policy retries every SDK call: the first call is answered twice by the proxy,
    // then CreateUser, PutUserPolicy and CreateAccessKey each reach IAM once, and one
    // sts:GetCallerIdentity finds the new key working.
    assert_eq!(answered, 2, "the proxy was not in the way");
    assert_eq!(forwarded, 4, "the mint's calls, each sent once");
    assert_eq!(users(&user_prefix(&profile)).len(), 1);
    assert_eq!(site.state(&lease.lease_id), State::Active);

    proxy.fail(2, Fault::Unavailable);
    let start = Instant::now();
    let a = site
        .revoke_via(&proxy.url)
        .arg(&lease.lease_id)
        .assert()
        .success();
    eprintln!("revoke through 2 x 503: {:?}", start.elapsed());
    // DeleteAccessKey, DeleteUserPolicy and DeleteUser, the first after two 503s (on
    // top of the mint's 2 answered and 4 forwarded).
    assert_eq!(proxy.counts(), (4, 7));
    let got = results(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, RevocationStatus::Revoked, "{got:#?}");
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    assert_eq!(site.state(&lease.lease_id), State::Revoked);
}

fn a_failing_aws_marks_the_lease_failed_until_the_next_sweep(backend: Backend) {
    let profile = unique("down");
    let site = Site::new(backend, &iam_profile(&profile, "1s"));
    let proxy = Proxy::start(&site.moto);
    let lease = site.mint(&profile);
    wait_past(std::slice::from_ref(&lease));

    // Throttled on every call: failed, 75, kept for the next sweep.
    proxy.fail(usize::MAX, Fault::Throttle);
    let start = Instant::now();
    let a = site
        .revoke_via(&proxy.url)
        .arg("--expired")
        .assert()
        .code(75);
    let took = start.elapsed();
    eprintln!(
        "sweep against throttling: {took:?}, {} calls",
        proxy.counts().0
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let got = results(&a);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].lease_id, lease.lease_id);
    assert_eq!(got[0].status, RevocationStatus::Failed);
    assert!(
        got[0].error.as_deref().unwrap_or("").contains("Throttling"),
        "{got:#?}"
    );
    let row = site.row(&lease.lease_id);
    assert_eq!(row.state, State::Failed);
    assert_eq!(row.attempts, 1);
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or("")
            .contains("Throttling"),
        "{row:?}"
    );
    // The SDK's 3 attempts at the first call, and no second loop around them.
    assert_eq!(proxy.counts().0, 3, "attempts: {:?}", proxy.counts());
    assert_eq!(
        users(&user_prefix(&profile)).len(),
        1,
        "the user is still there"
    );

    // 503 on every call: still failed, 69; the failed lease is picked up again.
    proxy.fail(usize::MAX, Fault::Unavailable);
    let start = Instant::now();
    let a = site
        .revoke_via(&proxy.url)
        .arg("--expired")
        .assert()
        .code(69);
    let took = start.elapsed();
    eprintln!("sweep against 503s: {took:?}");
    assert_eq!(proxy.counts().0, 6, "3 more attempts: {:?}", proxy.counts());
    assert!(took < Duration::from_secs(30), "{took:?}");
    let got = results(&a);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].status, RevocationStatus::Failed);
    let row = site.row(&lease.lease_id);
    assert_eq!((row.state, row.attempts), (State::Failed, 2));
    assert!(row.last_error.is_some());

    // Healed: the next sweep finishes it.
    proxy.fail(0, Fault::Throttle);
    let a = site
        .revoke_via(&proxy.url)
        .arg("--expired")
        .assert()
        .success();
    let got = results(&a);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].status, RevocationStatus::Revoked, "{got:#?}");
    let row = site.row(&lease.lease_id);
    assert_eq!(
        (row.state, row.attempts, row.last_error),
        (State::Revoked, 3, None)
    );
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    let a = site.revoke().arg("--expired").assert().success();
    assert_eq!(stdout(&a), "");
}

// ---------------------------------------------------------------- 8. exit codes

fn exit_codes(backend: Backend) {
    let profile = unique("codes");
    let site = Site::new(backend, &iam_profile(&profile, "1h"));

    // Nothing named, an empty (non-terminal) stdin: nothing to do.
    let a = site.revoke().write_stdin("").assert().success();
    assert_eq!(stdout(&a), "");
    let a = site.revoke().write_stdin("\n\n").assert().success();
    assert_eq!(stdout(&a), "");
    let a = site
        .revoke()
        .args(["--prefix", &format!("creds/{profile}/")])
        .assert()
        .success();
    assert_eq!(stdout(&a), "");

    // Usage: 64, nothing on stdout.
    for args in [
        &["--jobs", "0", "--expired"][..],
        &["--jobs", "65", "--expired"],
        &["--bogus"],
    ] {
        let a = site.revoke().args(args).assert().code(64);
        assert_eq!(stdout(&a), "", "{args:?}");
    }

    // Unknown ids: 1, also in a dry run.
    let unknown = format!("creds/{profile}/ffffffffffffffff");
    for dry in [false, true] {
        let mut cmd = site.revoke();
        cmd.arg(&unknown);
        if dry {
            cmd.arg("--dry-run");
        }
        let a = cmd.assert().code(1);
        let got = results(&a);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].lease_id.as_str(), got[0].status),
            (unknown.as_str(), RevocationStatus::Failed)
        );
    }

    // Bad documents on stdin: 65, nothing revoked.
    let lease = site.mint(&profile);
    for input in [
        format!("{}\n{{\"id\": \"x\"}}\n", lease.lease_id),
        "{not json\n".to_string(),
    ] {
        let a = site.revoke().write_stdin(input.clone()).assert().code(65);
        assert_eq!(stdout(&a), "", "{input}");
    }
    assert_eq!(site.state(&lease.lease_id), State::Active);

    // A config with an unknown [ledger] key: 78.
    let bad = site.dir.path().join("bad.toml");
    std::fs::write(&bad, "[ledger]\npath = \"/tmp/x.db\"\ngrace = \"1s\"\n").unwrap();
    site.command("revoke-lease", &site.moto, &bad)
        .arg("--expired")
        .assert()
        .code(78);

    // All done: 0.
    let a = site.revoke().arg(&lease.lease_id).assert().success();
    assert_eq!(results(&a)[0].status, RevocationStatus::Revoked);
    let a = site.revoke().arg(&lease.lease_id).assert().success();
    assert_eq!(results(&a)[0].status, RevocationStatus::AlreadyRevoked);
}

// ---------------------------------------------------------------- 9. many hosts, one table

/// Runs `revoke-lease --expired` on each site, `per_host` processes each, all at once,
/// and returns every result line.
fn sweep_from(sites: &[&Site], per_host: usize) -> Vec<Revocation> {
    let children: Vec<Child> = sites
        .iter()
        .flat_map(|site| (0..per_host).map(move |_| site))
        .map(|site| {
            site.std_command("revoke-lease", &site.moto)
                .arg("--expired")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "revoke-lease: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        all.extend(parse_results(&out.stdout));
    }
    all
}

/// Two hosts sharing one table: leases minted on either are swept by three sweepers
/// on each host at once, each exactly once; mints killed on host A are rolled back by
/// host B, which never saw them.
#[test]
fn two_hosts_share_one_dynamodb_table() {
    let profile = unique("hosts");
    let a = Site::new(Backend::Dynamodb, &iam_profile(&profile, "1s"));
    let b = a.other_host();
    assert_ne!(a.dir.path(), b.dir.path());

    let mut leases = a.mint_many(&profile, 10);
    leases.extend(b.mint_many(&profile, 10));
    assert_eq!(ids(&leases).len(), 20);
    assert_eq!(users(&user_prefix(&profile)).len(), 20);
    wait_past(&leases);
    let all = sweep_from(&[&a, &b], 3);
    assert!(
        all.iter().all(|r| r.status == RevocationStatus::Revoked),
        "{all:#?}"
    );
    by_id(&all);
    assert_eq!(with_status(&all, RevocationStatus::Revoked), ids(&leases));
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    for l in &leases {
        assert_eq!(b.state(&l.lease_id), State::Revoked);
    }

    // Host A dies in the middle of its mints; host B cleans up.
    let start = Instant::now();
    a.mint(&profile);
    let full = start.elapsed();
    for i in 0..8u32 {
        let mut child = a
            .std_command("mint-creds", &a.moto)
            .arg(&profile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(f64::from(i) / 8.0));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // What A's killed mints left, as B sees it: at least one interrupted mint, or the
    // part below proves nothing.
    let left: BTreeSet<String> = b
        .ledger()
        .live_with_prefix(&format!("creds/{profile}/"))
        .iter()
        .filter(|r| r.state == State::Pending)
        .map(|r| r.id.clone())
        .collect();
    assert!(!left.is_empty(), "no kill landed inside a mint");
    let swept = b.revoke().arg("--expired").assert().success();
    let rest = b
        .revoke()
        .args(["--prefix", &format!("creds/{profile}/")])
        .assert()
        .success();
    let mut done = BTreeSet::new();
    for r in results(&swept).iter().chain(&results(&rest)) {
        assert_ne!(r.status, RevocationStatus::Failed, "{r:?}");
        done.insert(r.lease_id.clone());
    }
    assert!(
        done.is_superset(&left),
        "B took back {done:?}, A left {left:?}"
    );
    assert_eq!(users(&user_prefix(&profile)), Vec::<String>::new());
    assert!(
        b.ledger()
            .live_with_prefix(&format!("creds/{profile}/"))
            .is_empty()
    );
}

/// DynamoDB throttling is retried by the one SDK policy (3 attempts), then exits 75
/// and changes nothing; a few throttles are retried away.
#[test]
fn a_throttled_dynamodb_table_is_retried_then_exit_75() {
    let profile = unique("ddbthrottle");
    let site = Site::new(Backend::Dynamodb, &iam_profile(&profile, "1s"));
    let lease = site.mint(&profile);
    wait_past(std::slice::from_ref(&lease));
    let proxy = Proxy::start(&site.moto);
    let sweep = || {
        let mut cmd = site.revoke();
        cmd.env("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url)
            .arg("--expired");
        cmd
    };
    proxy.fail(usize::MAX, Fault::DynamoThrottle);
    let a = sweep().assert().code(75);
    assert!(
        stderr(&a).contains("ProvisionedThroughputExceededException"),
        "{}",
        stderr(&a)
    );
    assert_eq!(
        proxy.counts(),
        (3, 0),
        "three attempts at the first query, then 75"
    );
    assert_eq!(site.state(&lease.lease_id), State::Active);

    proxy.fail(2, Fault::DynamoThrottle);
    let a = sweep().assert().success();
    let got = results(&a);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].status, RevocationStatus::Revoked);
    assert_eq!(proxy.counts().0, 5);
    assert_eq!(site.state(&lease.lease_id), State::Revoked);
}

/// A DynamoDB write that succeeds but whose answer is lost is sent again by the SDK,
/// and then its condition fails on its own first write: that is still a success. The
/// pending row and the activation of a mint each lose their answer once; the lease is
/// minted, active, and revoked as usual.
#[test]
fn a_mint_whose_dynamodb_answers_are_lost_still_records_its_lease() {
    let profile = unique("ddblost");
    let site = Site::new(Backend::Dynamodb, &iam_profile(&profile, "1h"));
    let proxy = Proxy::start(&site.moto);
    let mint = |needle: &str| {
        proxy.fail_matching(1, needle, Fault::LostAnswer);
        let a = site
            .command("mint-creds", &site.moto, &site.config)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url)
            .arg(&profile)
            .assert();
        let out = a.get_output();
        assert_eq!(out.status.code(), Some(0), "{needle}: {}", stderr(&a));
        let lease: Lease = serde_json::from_str(stdout(&a).trim()).unwrap();
        lease
    };
    for needle in ["DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem"] {
        let before = proxy.counts().0;
        let lease = mint(needle);
        assert_eq!(
            proxy.counts().0,
            before + 1,
            "{needle}: one answer was lost"
        );
        assert_eq!(site.state(&lease.lease_id), State::Active, "{needle}");
        let a = site.revoke().arg(&lease.lease_id).assert().success();
        assert_eq!(results(&a)[0].status, RevocationStatus::Revoked);
    }
}
