//! The state store: the lease ledger and the used-proof records, behind one async
//! trait with one file per backend. SQLite (WAL) is the embedded default for one host;
//! DynamoDB is shared by every broker host. The tools talk to [`Store`] alone and do
//! not know which backend they run on.
//!
//! A lease row is written *before* anything is created in AWS, so an interrupted mint
//! leaves a row the next sweep rolls back. No secret is ever stored, only the names of
//! what was (or was about to be) created.

mod dynamodb;
mod sqlite;

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Backend, Config, CredsType};
use crate::error::{Error, Result};

pub use dynamodb::DynamoStore;
pub use sqlite::SqliteStore;

/// How long a revoked lease stays in the store for audit, unless `[ledger] retain`.
pub const DEFAULT_RETAIN: Duration = Duration::from_secs(30 * 86_400);
/// How old a pending row must be to count as an interrupted mint, unless
/// `[ledger] pending_grace`.
pub const DEFAULT_PENDING_GRACE: Duration = Duration::from_secs(300);

/// A lease's life: `pending` (row written, AWS not yet called) → `active` → `revoking`
/// (claimed by one sweeper) → `revoked`, or `failed` (retried by the next sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Active,
    Revoking,
    Revoked,
    Failed,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Pending,
        State::Active,
        State::Revoking,
        State::Revoked,
        State::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Revoking => "revoking",
            State::Revoked => "revoked",
            State::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<State> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::internal(format!("the state store holds an unknown state `{s}`")))
    }
}

/// What an `iam_user` lease created, named before the first call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    pub user_name: String,
    /// Known once the key exists (set when the lease becomes active).
    pub access_key_id: Option<String>,
    pub inline_policies: Vec<String>,
    pub policy_arns: Vec<String>,
    pub groups: Vec<String>,
}

/// What a lease created (or was about to create) in AWS, by credential type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resources {
    AssumedRole {
        role_arn: String,
        session_name: String,
    },
    FederationToken {
        name: String,
    },
    SessionToken,
    IamUser(IamUser),
}

impl Resources {
    pub fn kind(&self) -> CredsType {
        match self {
            Resources::AssumedRole { .. } => CredsType::AssumedRole,
            Resources::FederationToken { .. } => CredsType::FederationToken,
            Resources::SessionToken => CredsType::SessionToken,
            Resources::IamUser(_) => CredsType::IamUser,
        }
    }

    /// The flat shape both backends store: one optional field per name.
    pub(crate) fn to_flat(&self) -> Flat {
        let mut f = Flat::default();
        match self {
            Resources::AssumedRole {
                role_arn,
                session_name,
            } => {
                f.role_arn = Some(role_arn.clone());
                f.session_name = Some(session_name.clone());
            }
            Resources::FederationToken { name } => f.session_name = Some(name.clone()),
            Resources::SessionToken => {}
            Resources::IamUser(u) => {
                f.iam_user_name = Some(u.user_name.clone());
                f.access_key_id = u.access_key_id.clone();
                f.inline_policies = u.inline_policies.clone();
                f.policy_arns = u.policy_arns.clone();
                f.groups = u.groups.clone();
            }
        }
        f
    }

    pub(crate) fn from_flat(kind: &str, f: Flat) -> Result<Resources> {
        let missing = |what: &str| {
            Error::internal(format!(
                "the state store holds a {kind} lease without its {what}"
            ))
        };
        Ok(match kind {
            "assumed_role" => Resources::AssumedRole {
                role_arn: f.role_arn.ok_or_else(|| missing("role_arn"))?,
                session_name: f.session_name.ok_or_else(|| missing("session_name"))?,
            },
            "federation_token" => Resources::FederationToken {
                name: f.session_name.ok_or_else(|| missing("session_name"))?,
            },
            "session_token" => Resources::SessionToken,
            "iam_user" => Resources::IamUser(IamUser {
                user_name: f.iam_user_name.ok_or_else(|| missing("iam_user_name"))?,
                access_key_id: f.access_key_id,
                inline_policies: f.inline_policies,
                policy_arns: f.policy_arns,
                groups: f.groups,
            }),
            other => {
                return Err(Error::internal(format!(
                    "the state store holds an unknown credential type `{other}`"
                )));
            }
        })
    }
}

/// The storage shape of [`Resources`]; only the backends see it.
#[derive(Debug, Default)]
pub(crate) struct Flat {
    pub iam_user_name: Option<String>,
    pub access_key_id: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub inline_policies: Vec<String>,
    pub policy_arns: Vec<String>,
    pub groups: Vec<String>,
}

/// One lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    pub profile: String,
    pub resources: Resources,
    pub state: State,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Who asked, behind verify-login.
    pub caller_arn: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl Lease {
    /// A new `pending` lease.
    pub fn pending(
        id: String,
        profile: String,
        resources: Resources,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Lease {
        Lease {
            id,
            profile,
            resources,
            state: State::Pending,
            issued_at,
            expires_at,
            caller_arn: None,
            attempts: 0,
            last_error: None,
        }
    }

    pub fn kind(&self) -> CredsType {
        self.resources.kind()
    }
}

/// The outcome of asking to revoke a lease.
#[derive(Debug)]
pub enum Claim {
    /// This process now holds the lease; finish it with [`Store::finish`].
    Claimed(Lease),
    AlreadyRevoked(Lease),
    /// Another process holds a live claim on it.
    Busy,
    Unknown,
}

/// The state store. Implementations make [`Store::claim`] and [`Store::use_proof`]
/// atomic across every process sharing the store: two sweepers never both get
/// `Claimed` for one lease, and two verifiers never both get `true` for one proof.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Writes a new `pending` lease; an existing id is an error.
    async fn insert_pending(&self, lease: &Lease) -> Result<()>;
    /// pending → active, with what AWS returned. False when the row is no longer
    /// pending: someone revoked the lease while it was being minted.
    async fn activate(
        &self,
        id: &str,
        access_key_id: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<bool>;
    async fn get(&self, id: &str) -> Result<Option<Lease>>;
    /// What a sweep revokes: active leases past expiry, pending rows issued before
    /// `pending_before` (interrupted mints), failed ones, and claims that lapsed.
    async fn due(&self, now: Timestamp, pending_before: Timestamp) -> Result<Vec<Lease>>;
    /// Every lease not yet revoked whose id starts with `prefix`.
    async fn live_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>>;
    async fn claim(&self, id: &str, owner: &str, now: Timestamp, hold: Duration) -> Result<Claim>;
    /// Ends a claim: revoked, or failed with the error (kept for the next sweep).
    async fn finish(&self, id: &str, owner: &str, error: Option<&str>) -> Result<()>;
    /// Records a proof's signature hash until `expires_at`: true the first time,
    /// false when it was already recorded (a replay).
    async fn use_proof(&self, hash: &str, expires_at: Timestamp) -> Result<bool>;
    /// Forgets revoked leases older than the retention and expired proof records
    /// (where the backend does not expire them itself); how many went.
    async fn prune(&self, now: Timestamp) -> Result<u64>;
    /// For messages: where the store is.
    fn describe(&self) -> String;
}

/// The `[ledger]` settings the backends share.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retain: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            retain: config.ledger.retain.map_or(DEFAULT_RETAIN, |d| d.0),
        }
    }
}

/// Where the SQLite store lives: `[ledger] path` (with `~` expanded), else
/// `$XDG_STATE_HOME/vaultless/leases.db`, else `~/.local/state/vaultless/leases.db`.
pub fn path(config: &Config) -> Result<PathBuf> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = &config.ledger.path {
        if let Some(rest) = p.strip_prefix("~/") {
            let home = home()
                .ok_or_else(|| Error::config("[ledger] path starts with ~ but HOME is not set"))?;
            return Ok(home.join(rest));
        }
        return Ok(PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".local/state")))
        .ok_or_else(|| {
            Error::config("no ledger path: set [ledger] path, XDG_STATE_HOME or HOME")
        })?;
    Ok(state.join("vaultless/leases.db"))
}

/// Opens the store the config names. The DynamoDB backend loads the AWS config
/// (standard settings, `AWS_ENDPOINT_URL_DYNAMODB`) and creates its table when missing.
pub async fn open(config: &Config) -> Result<Box<dyn Store>> {
    let settings = Settings::from_config(config);
    match config.ledger.backend {
        Backend::Sqlite => Ok(Box::new(SqliteStore::open(&path(config)?, settings)?)),
        Backend::Dynamodb => Ok(Box::new(
            DynamoStore::open(config.ledger.table(), settings).await?,
        )),
    }
}

/// A random number for lease ids and claim owners.
pub fn random_u64() -> u64 {
    fastrand::u64(..)
}

pub use crate::hostname;

/// A claim owner unique to this process and call: host, pid and a random part.
pub fn owner(tag: &str) -> String {
    format!(
        "{}:{}:{tag}:{:x}",
        hostname(),
        std::process::id(),
        random_u64()
    )
}

#[cfg(any(test, feature = "contract"))]
pub mod contract {
    //! The behaviour every backend must show, run by each backend's tests (the
    //! DynamoDB backend's against the emulator, from the tests crate).

    use super::*;

    pub fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    pub fn lease(id: &str, issued: i64, expires: i64) -> Lease {
        Lease::pending(
            id.into(),
            "p".into(),
            Resources::IamUser(IamUser {
                user_name: format!("user-{}", id.replace('/', "-")),
                access_key_id: None,
                inline_policies: vec!["vaultless".into()],
                policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                groups: vec![],
            }),
            t(issued),
            t(expires),
        )
    }

    const HOLD: Duration = Duration::from_secs(60);

    pub async fn lifecycle(s: &dyn Store) {
        s.insert_pending(&lease("creds/p/1", 100, 200))
            .await
            .unwrap();
        assert!(
            s.insert_pending(&lease("creds/p/1", 100, 200))
                .await
                .is_err(),
            "an id is written once"
        );
        assert_eq!(
            s.get("creds/p/1").await.unwrap().unwrap().state,
            State::Pending
        );
        assert!(
            s.activate("creds/p/1", Some("AKIA1"), t(300))
                .await
                .unwrap()
        );
        assert!(
            !s.activate("creds/p/1", Some("AKIA1"), t(300))
                .await
                .unwrap(),
            "only a pending row activates"
        );
        let r = s.get("creds/p/1").await.unwrap().unwrap();
        assert_eq!((r.state, r.expires_at), (State::Active, t(300)));
        let Resources::IamUser(u) = &r.resources else {
            panic!("{r:?}")
        };
        assert_eq!(u.access_key_id.as_deref(), Some("AKIA1"));
        assert_eq!(u.policy_arns, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
        assert!(s.due(t(299), t(0)).await.unwrap().is_empty());
        assert_eq!(s.due(t(300), t(0)).await.unwrap().len(), 1);
        let Claim::Claimed(c) = s.claim("creds/p/1", "a", t(300), HOLD).await.unwrap() else {
            panic!()
        };
        assert_eq!((c.attempts, c.state), (1, State::Revoking));
        assert!(matches!(
            s.claim("creds/p/1", "b", t(301), HOLD).await.unwrap(),
            Claim::Busy
        ));
        assert!(
            s.due(t(301), t(0)).await.unwrap().is_empty(),
            "a live claim is not due"
        );
        assert_eq!(
            s.due(t(400), t(0)).await.unwrap().len(),
            1,
            "a lapsed claim is due again"
        );
        s.finish("creds/p/1", "a", None).await.unwrap();
        assert!(matches!(
            s.claim("creds/p/1", "b", t(302), HOLD).await.unwrap(),
            Claim::AlreadyRevoked(_)
        ));
        assert!(matches!(
            s.claim("creds/p/nope", "b", t(302), HOLD).await.unwrap(),
            Claim::Unknown
        ));
        assert!(s.due(t(10_000), t(10_000)).await.unwrap().is_empty());
    }

    pub async fn failures_are_kept_for_the_next_sweep(s: &dyn Store) {
        s.insert_pending(&lease("creds/p/2", 100, 200))
            .await
            .unwrap();
        assert!(
            s.due(t(150), t(50)).await.unwrap().is_empty(),
            "a fresh pending row is a mint in progress"
        );
        assert_eq!(
            s.due(t(150), t(100)).await.unwrap().len(),
            1,
            "an old pending row is an interrupted mint"
        );
        let Claim::Claimed(_) = s.claim("creds/p/2", "a", t(150), HOLD).await.unwrap() else {
            panic!()
        };
        s.finish("creds/p/2", "a", Some("Throttling"))
            .await
            .unwrap();
        let r = s.get("creds/p/2").await.unwrap().unwrap();
        assert_eq!(
            (r.state, r.last_error.as_deref()),
            (State::Failed, Some("Throttling"))
        );
        assert_eq!(s.due(t(150), t(0)).await.unwrap().len(), 1);
        // A finish by someone who no longer holds the claim changes nothing.
        let Claim::Claimed(_) = s.claim("creds/p/2", "b", t(160), HOLD).await.unwrap() else {
            panic!()
        };
        s.finish("creds/p/2", "a", None).await.unwrap();
        assert_eq!(
            s.get("creds/p/2").await.unwrap().unwrap().state,
            State::Revoking
        );
    }

    pub async fn prefix_is_a_range(s: &dyn Store) {
        for id in ["creds/a/1", "creds/a/2", "creds/ab/1", "creds/b/1"] {
            s.insert_pending(&lease(id, 1, 2)).await.unwrap();
        }
        let Claim::Claimed(_) = s.claim("creds/a/2", "x", t(3), HOLD).await.unwrap() else {
            panic!()
        };
        s.finish("creds/a/2", "x", None).await.unwrap();
        let ids: Vec<String> = s
            .live_with_prefix("creds/a/")
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["creds/a/1"]);
    }

    pub async fn every_type_round_trips(s: &dyn Store) {
        let kinds = [
            Resources::AssumedRole {
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                session_name: "vaultless-x".into(),
            },
            Resources::FederationToken {
                name: "vl-x".into(),
            },
            Resources::SessionToken,
        ];
        for (i, resources) in kinds.into_iter().enumerate() {
            let mut l = Lease::pending(format!("creds/t/{i}"), "t".into(), resources, t(1), t(2));
            l.caller_arn = Some("arn:aws:sts::123456789012:assumed-role/ci/x".into());
            s.insert_pending(&l).await.unwrap();
            assert_eq!(s.get(&l.id).await.unwrap().unwrap(), l);
        }
    }

    /// Every check above, in order, on an empty store.
    pub async fn all(s: &dyn Store) {
        lifecycle(s).await;
        failures_are_kept_for_the_next_sweep(s).await;
        prefix_is_a_range(s).await;
        every_type_round_trips(s).await;
        a_proof_is_used_once(s).await;
    }

    pub async fn a_proof_is_used_once(s: &dyn Store) {
        let soon = Timestamp::now() + jiff::SignedDuration::from_secs(600);
        assert!(s.use_proof("h1", soon).await.unwrap());
        assert!(!s.use_proof("h1", soon).await.unwrap());
        assert!(s.use_proof("h2", soon).await.unwrap());
        // A record past its expiry guards nothing (the proof is stale by then).
        assert!(s.use_proof("h3", t(1000)).await.unwrap());
        assert!(s.use_proof("h3", soon).await.unwrap());
        assert!(!s.use_proof("h3", soon).await.unwrap());
    }
}
