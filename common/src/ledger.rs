//! The lease ledger: one row per lease, written *before* anything is created in AWS,
//! so an interrupted mint leaves a row the next sweep rolls back. No secret is ever
//! stored, only the names of what was (or was about to be) created.
//!
//! The tools talk to the [`Ledger`] trait; SQLite in WAL mode is the embedded backend.
//! A shared backend for many hosts (DynamoDB, with conditional writes for claims) can
//! implement the same trait without touching the tools.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::config::{Config, CredsType};
use crate::error::{Error, Result};

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
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Revoking => "revoking",
            State::Revoked => "revoked",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<State> {
        Ok(match s {
            "pending" => State::Pending,
            "active" => State::Active,
            "revoking" => State::Revoking,
            "revoked" => State::Revoked,
            "failed" => State::Failed,
            other => {
                return Err(Error::internal(format!(
                    "ledger holds an unknown state `{other}`"
                )));
            }
        })
    }
}

fn parse_type(s: &str) -> Result<CredsType> {
    Ok(match s {
        "assumed_role" => CredsType::AssumedRole,
        "federation_token" => CredsType::FederationToken,
        "session_token" => CredsType::SessionToken,
        "iam_user" => CredsType::IamUser,
        other => {
            return Err(Error::internal(format!(
                "ledger holds an unknown credential type `{other}`"
            )));
        }
    })
}

/// One lease. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub id: String,
    pub profile: String,
    pub kind: CredsType,
    pub state: State,
    pub issued_at: i64,
    pub expires_at: i64,
    /// iam_user: the user's name, recorded before CreateUser.
    pub iam_user_name: Option<String>,
    pub access_key_id: Option<String>,
    /// assumed_role: the role; also the session name (or federated user name).
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    /// iam_user: inline policy names, managed policy ARNs and groups it was given.
    pub inline_policies: Vec<String>,
    pub policy_arns: Vec<String>,
    pub groups: Vec<String>,
    /// Who asked, behind verify-login.
    pub caller_arn: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl LeaseRow {
    pub fn new(
        id: String,
        profile: String,
        kind: CredsType,
        issued_at: i64,
        expires_at: i64,
    ) -> LeaseRow {
        LeaseRow {
            id,
            profile,
            kind,
            state: State::Pending,
            issued_at,
            expires_at,
            iam_user_name: None,
            access_key_id: None,
            role_arn: None,
            session_name: None,
            inline_policies: Vec::new(),
            policy_arns: Vec::new(),
            groups: Vec::new(),
            caller_arn: None,
            attempts: 0,
            last_error: None,
        }
    }
}

/// The outcome of asking to revoke a lease.
#[derive(Debug)]
pub enum Claim {
    /// This process now holds the lease; finish it with [`Ledger::finish`].
    Claimed(LeaseRow),
    AlreadyRevoked(LeaseRow),
    /// Another process holds a live claim on it.
    Busy,
    Unknown,
}

/// The lease ledger. Implementations must make [`Ledger::claim`] atomic across
/// processes: two sweepers never both get `Claimed` for one lease.
pub trait Ledger: Send + Sync {
    fn insert_pending(&self, row: &LeaseRow) -> Result<()>;
    /// pending → active, with what AWS returned. False when the row is no longer
    /// pending: someone revoked the lease while it was being minted.
    fn activate(&self, id: &str, access_key_id: Option<&str>, expires_at: i64) -> Result<bool>;
    fn get(&self, id: &str) -> Result<Option<LeaseRow>>;
    /// What a sweep revokes: active leases past expiry, pending rows issued before
    /// `pending_before` (interrupted mints), failed ones, and claims that lapsed.
    fn due(&self, now: i64, pending_before: i64) -> Result<Vec<LeaseRow>>;
    /// Every lease not yet revoked whose id starts with `prefix`.
    fn live_with_prefix(&self, prefix: &str) -> Result<Vec<LeaseRow>>;
    fn claim(&self, id: &str, owner: &str, now: i64, hold_secs: i64) -> Result<Claim>;
    /// Ends a claim: revoked, or failed with the error (kept for the next sweep).
    fn finish(&self, id: &str, owner: &str, error: Option<&str>) -> Result<()>;
}

/// Where the ledger lives: `[ledger] path` (with `~` expanded), else
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

/// The embedded backend.
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const SCHEMA_VERSION: i64 = 1;
const COLUMNS: &str = "id, profile, credential_type, state, issued_at, expires_at, iam_user_name, access_key_id, \
role_arn, session_name, inline_policies, policy_arns, groups, caller_arn, attempts, last_error";

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    let busy = matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked);
    let text = format!("lease ledger {}: {e}", path.display());
    if busy {
        Error::temp_fail(text).hint("another process holds the ledger; retry")
    } else {
        Error::unavailable(text).hint("check that the ledger file and its directory are writable")
    }
}

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialize")
}

fn list_parse(s: Option<String>) -> Vec<String> {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger at `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<SqliteLedger> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::unavailable(format!(
                    "cannot create the ledger directory {}: {e}",
                    dir.display()
                ))
                .hint("set [ledger] path to a writable place")
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        let err = |e| db_error(path, e);
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        // Switching a new file to WAL takes an exclusive lock and fails at once, without
        // the busy timeout, while another process is doing the same: retry it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(err(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let ledger = SqliteLedger {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::config(format!(
                "lease ledger {} has schema version {version}, newer than this vaultless ({SCHEMA_VERSION})",
                self.path.display()
            ))
            .hint("upgrade vaultless on this host"));
        }
        if version < 1 {
            tx.execute_batch(
                "CREATE TABLE leases (
                    id TEXT PRIMARY KEY,
                    profile TEXT NOT NULL,
                    credential_type TEXT NOT NULL,
                    state TEXT NOT NULL,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    iam_user_name TEXT,
                    access_key_id TEXT,
                    role_arn TEXT,
                    session_name TEXT,
                    inline_policies TEXT,
                    policy_arns TEXT,
                    groups TEXT,
                    caller_arn TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    claimed_by TEXT,
                    claimed_until INTEGER,
                    updated_at INTEGER NOT NULL
                ) STRICT;
                -- A sweep reads only what is due: by state, then time.
                CREATE INDEX leases_by_expiry ON leases(state, expires_at);
                CREATE INDEX leases_by_issue ON leases(state, issued_at);
                PRAGMA user_version = 1;",
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LeaseRow, String, String)> {
        let kind: String = r.get(2)?;
        let state: String = r.get(3)?;
        let row = LeaseRow {
            id: r.get(0)?,
            profile: r.get(1)?,
            kind: CredsType::IamUser,
            state: State::Pending,
            issued_at: r.get(4)?,
            expires_at: r.get(5)?,
            iam_user_name: r.get(6)?,
            access_key_id: r.get(7)?,
            role_arn: r.get(8)?,
            session_name: r.get(9)?,
            inline_policies: list_parse(r.get(10)?),
            policy_arns: list_parse(r.get(11)?),
            groups: list_parse(r.get(12)?),
            caller_arn: r.get(13)?,
            attempts: r.get(14)?,
            last_error: r.get(15)?,
        };
        Ok((row, kind, state))
    }

    fn finish_row((mut row, kind, state): (LeaseRow, String, String)) -> Result<LeaseRow> {
        row.kind = parse_type(&kind)?;
        row.state = State::parse(&state)?;
        Ok(row)
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<LeaseRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, Self::row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(Self::finish_row).collect()
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Ledger for SqliteLedger {
    fn insert_pending(&self, row: &LeaseRow) -> Result<()> {
        self.conn()
            .execute(
                &format!("INSERT INTO leases ({COLUMNS}, updated_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, NULL, ?14)"),
                params![
                    row.id,
                    row.profile,
                    row.kind.name(),
                    row.issued_at,
                    row.expires_at,
                    row.iam_user_name,
                    row.access_key_id,
                    row.role_arn,
                    row.session_name,
                    list_json(&row.inline_policies),
                    list_json(&row.policy_arns),
                    list_json(&row.groups),
                    row.caller_arn,
                    now(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn activate(&self, id: &str, access_key_id: Option<&str>, expires_at: i64) -> Result<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE leases SET state = 'active', access_key_id = ?2, expires_at = ?3, updated_at = ?4
                 WHERE id = ?1 AND state = 'pending'",
                params![id, access_key_id, expires_at, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    fn get(&self, id: &str) -> Result<Option<LeaseRow>> {
        let conn = self.conn();
        let found = conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM leases WHERE id = ?1"),
                [id],
                Self::row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        drop(conn);
        found.map(Self::finish_row).transpose()
    }

    fn due(&self, now: i64, pending_before: i64) -> Result<Vec<LeaseRow>> {
        // Four index range scans; a ledger of live, unexpired leases costs nothing here.
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM leases WHERE state = 'active' AND expires_at <= ?1
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'pending' AND issued_at <= ?2
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'failed'
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'revoking' AND claimed_until < ?1"
            ),
            params![now, pending_before],
        )
    }

    fn live_with_prefix(&self, prefix: &str) -> Result<Vec<LeaseRow>> {
        let upper = format!("{prefix}\u{10FFFF}");
        self.query(
            &format!("SELECT {COLUMNS} FROM leases WHERE id >= ?1 AND id < ?2 AND state != 'revoked' ORDER BY id"),
            params![prefix, upper],
        )
    }

    fn claim(&self, id: &str, owner: &str, now: i64, hold_secs: i64) -> Result<Claim> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let found = tx
            .query_row(
                &format!("SELECT {COLUMNS}, claimed_by, claimed_until FROM leases WHERE id = ?1"),
                [id],
                |r| {
                    Ok((
                        Self::row(r)?,
                        r.get::<_, Option<String>>(16)?,
                        r.get::<_, Option<i64>>(17)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((raw, claimed_by, claimed_until)) = found else {
            return Ok(Claim::Unknown);
        };
        let row = Self::finish_row(raw)?;
        match row.state {
            State::Revoked => return Ok(Claim::AlreadyRevoked(row)),
            State::Revoking
                if claimed_until.is_some_and(|t| t >= now)
                    && claimed_by.as_deref() != Some(owner) =>
            {
                return Ok(Claim::Busy);
            }
            _ => {}
        }
        tx.execute(
            "UPDATE leases SET state = 'revoking', claimed_by = ?2, claimed_until = ?3,
             attempts = attempts + 1, updated_at = ?4 WHERE id = ?1",
            params![id, owner, now + hold_secs, now],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Claim::Claimed(LeaseRow {
            state: State::Revoking,
            attempts: row.attempts + 1,
            ..row
        }))
    }

    fn finish(&self, id: &str, owner: &str, error: Option<&str>) -> Result<()> {
        let (state, error) = match error {
            None => ("revoked", None),
            Some(e) => ("failed", Some(e.chars().take(1000).collect::<String>())),
        };
        self.conn()
            .execute(
                "UPDATE leases SET state = ?3, last_error = ?4, claimed_by = NULL, claimed_until = NULL, updated_at = ?5
                 WHERE id = ?1 AND claimed_by = ?2",
                params![id, owner, state, error, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// A random number for lease ids and claim owners.
pub fn random_u64() -> u64 {
    fastrand::u64(..)
}

/// This host's name, for claim owners and session names.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Opens the ledger the config names.
pub fn open(config: &Config) -> Result<Box<dyn Ledger>> {
    Ok(Box::new(SqliteLedger::open(&path(config)?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (tempfile_dir::Dir, SqliteLedger) {
        let dir = tempfile_dir::Dir::new();
        let l = SqliteLedger::open(&dir.0.join("sub/leases.db")).unwrap();
        (dir, l)
    }

    /// A throwaway directory, removed on drop (no test-only dependency needed).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "vaultless-ledger-{}-{}",
                    std::process::id(),
                    fastrand::u64(..)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn row(id: &str, issued: i64, expires: i64) -> LeaseRow {
        let mut r = LeaseRow::new(id.into(), "p".into(), CredsType::IamUser, issued, expires);
        r.iam_user_name = Some(format!("user-{id}"));
        r.policy_arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        r
    }

    #[test]
    fn lifecycle() {
        let (_d, l) = ledger();
        l.insert_pending(&row("creds/p/1", 100, 200)).unwrap();
        assert_eq!(l.get("creds/p/1").unwrap().unwrap().state, State::Pending);
        assert!(l.activate("creds/p/1", Some("AKIA1"), 300).unwrap());
        assert!(
            !l.activate("creds/p/1", Some("AKIA1"), 300).unwrap(),
            "only a pending row activates"
        );
        let r = l.get("creds/p/1").unwrap().unwrap();
        assert_eq!(
            (r.state, r.access_key_id.as_deref(), r.expires_at),
            (State::Active, Some("AKIA1"), 300)
        );
        assert_eq!(
            r.policy_arns,
            vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()]
        );
        assert!(l.due(299, 0).unwrap().is_empty());
        assert_eq!(l.due(300, 0).unwrap().len(), 1);
        let Claim::Claimed(c) = l.claim("creds/p/1", "a", 300, 60).unwrap() else {
            panic!()
        };
        assert_eq!(c.attempts, 1);
        assert!(matches!(
            l.claim("creds/p/1", "b", 301, 60).unwrap(),
            Claim::Busy
        ));
        assert!(l.due(301, 0).unwrap().is_empty(), "a live claim is not due");
        assert_eq!(
            l.due(400, 0).unwrap().len(),
            1,
            "a lapsed claim is due again"
        );
        l.finish("creds/p/1", "a", None).unwrap();
        assert!(matches!(
            l.claim("creds/p/1", "b", 302, 60).unwrap(),
            Claim::AlreadyRevoked(_)
        ));
        assert!(matches!(
            l.claim("creds/p/nope", "b", 302, 60).unwrap(),
            Claim::Unknown
        ));
    }

    #[test]
    fn failures_are_kept_for_the_next_sweep() {
        let (_d, l) = ledger();
        l.insert_pending(&row("creds/p/2", 100, 200)).unwrap();
        assert!(
            l.due(150, 50).unwrap().is_empty(),
            "a fresh pending row is a mint in progress"
        );
        assert_eq!(
            l.due(150, 100).unwrap().len(),
            1,
            "an old pending row is an interrupted mint"
        );
        let Claim::Claimed(_) = l.claim("creds/p/2", "a", 150, 60).unwrap() else {
            panic!()
        };
        l.finish("creds/p/2", "a", Some("Throttling")).unwrap();
        let r = l.get("creds/p/2").unwrap().unwrap();
        assert_eq!(
            (r.state, r.last_error.as_deref()),
            (State::Failed, Some("Throttling"))
        );
        assert_eq!(l.due(150, 0).unwrap().len(), 1);
    }

    #[test]
    fn prefix_is_a_range() {
        let (_d, l) = ledger();
        for id in ["creds/a/1", "creds/a/2", "creds/ab/1", "creds/b/1"] {
            l.insert_pending(&row(id, 1, 2)).unwrap();
        }
        let ids: Vec<String> = l
            .live_with_prefix("creds/a/")
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["creds/a/1", "creds/a/2"]);
    }

    #[test]
    fn reopening_keeps_rows() {
        let (d, l) = ledger();
        l.insert_pending(&row("creds/p/3", 1, 2)).unwrap();
        drop(l);
        let l = SqliteLedger::open(&d.0.join("sub/leases.db")).unwrap();
        assert!(l.get("creds/p/3").unwrap().is_some());
    }
}
