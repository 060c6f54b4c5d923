//! The embedded backend: one SQLite file in WAL mode, for one host. Claims are
//! immediate transactions, so sweepers in several processes never take one lease
//! twice; a used proof is a primary-key insert. Every call runs on the blocking pool,
//! so a busy database never stalls the async tasks around it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Claim, Flat, Lease, Resources, Settings, State, Store};
use crate::error::{Error, Result};

const SCHEMA_VERSION: i64 = 2;
const COLUMNS: &str = "id, profile, credential_type, state, issued_at, expires_at, iam_user_name, access_key_id, \
role_arn, session_name, inline_policies, policy_arns, groups, caller_arn, attempts, last_error";

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    settings: Settings,
}

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

fn secs(t: Timestamp) -> i64 {
    t.as_second()
}

fn time(s: i64) -> Result<Timestamp> {
    Timestamp::from_second(s)
        .map_err(|e| Error::internal(format!("the lease ledger holds a bad time {s}: {e}")))
}

/// A row as read, before its state, type and times are checked.
struct Raw {
    id: String,
    profile: String,
    kind: String,
    state: String,
    issued_at: i64,
    expires_at: i64,
    flat: Flat,
    caller_arn: Option<String>,
    attempts: i64,
    last_error: Option<String>,
}

impl Raw {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
        Ok(Raw {
            id: r.get(0)?,
            profile: r.get(1)?,
            kind: r.get(2)?,
            state: r.get(3)?,
            issued_at: r.get(4)?,
            expires_at: r.get(5)?,
            flat: Flat {
                iam_user_name: r.get(6)?,
                access_key_id: r.get(7)?,
                role_arn: r.get(8)?,
                session_name: r.get(9)?,
                inline_policies: list_parse(r.get(10)?),
                policy_arns: list_parse(r.get(11)?),
                groups: list_parse(r.get(12)?),
            },
            caller_arn: r.get(13)?,
            attempts: r.get(14)?,
            last_error: r.get(15)?,
        })
    }

    fn lease(self) -> Result<Lease> {
        Ok(Lease {
            resources: Resources::from_flat(&self.kind, self.flat)?,
            state: State::parse(&self.state)?,
            issued_at: time(self.issued_at)?,
            expires_at: time(self.expires_at)?,
            id: self.id,
            profile: self.profile,
            caller_arn: self.caller_arn,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
        })
    }
}

fn now() -> i64 {
    Timestamp::now().as_second()
}

impl SqliteStore {
    /// Opens (creating if needed) the ledger at `path`, migrating its schema.
    pub fn open(path: &Path, settings: Settings) -> Result<SqliteStore> {
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
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        // Switching a new file to WAL takes an exclusive lock and fails at once, without
        // the busy timeout, while another process is doing the same: retry it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(err(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let mut conn = conn;
        migrate(&mut conn, path)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
            settings,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn).map_err(|e| db_error(&path, e))
        })
        .await
        .map_err(|e| Error::internal(format!("ledger task failed: {e}")))?
    }

    async fn query(&self, sql: String, params: Vec<rusqlite::types::Value>) -> Result<Vec<Lease>> {
        let raws = self
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
                stmt.query_map(rusqlite::params_from_iter(params), Raw::read)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        raws.into_iter().map(Raw::lease).collect()
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let err = |e| db_error(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(Error::config(format!(
            "lease ledger {} has schema version {version}, newer than this vaultless ({SCHEMA_VERSION})",
            path.display()
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
            CREATE INDEX leases_by_issue ON leases(state, issued_at);",
        )
        .map_err(err)?;
    }
    if version < 2 {
        tx.execute_batch(
            "CREATE TABLE used_proofs (
                hash TEXT PRIMARY KEY,
                expires_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX used_proofs_by_expiry ON used_proofs(expires_at);
            -- Pruning finds revoked rows past their retention by this.
            CREATE INDEX leases_by_update ON leases(state, updated_at);",
        )
        .map_err(err)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(err)?;
    tx.commit().map_err(err)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn insert_pending(&self, lease: &Lease) -> Result<()> {
        let f = lease.resources.to_flat();
        let values: Vec<rusqlite::types::Value> = vec![
            lease.id.clone().into(),
            lease.profile.clone().into(),
            lease.kind().name().to_string().into(),
            secs(lease.issued_at).into(),
            secs(lease.expires_at).into(),
            f.iam_user_name.into(),
            f.access_key_id.into(),
            f.role_arn.into(),
            f.session_name.into(),
            list_json(&f.inline_policies).into(),
            list_json(&f.policy_arns).into(),
            list_json(&f.groups).into(),
            lease.caller_arn.clone().into(),
            now().into(),
        ];
        self.with(move |conn| {
            conn.execute(
                &format!("INSERT INTO leases ({COLUMNS}, updated_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, NULL, ?14)"),
                rusqlite::params_from_iter(values),
            )
        })
        .await?;
        Ok(())
    }

    async fn activate(
        &self,
        id: &str,
        access_key_id: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let (id, key) = (id.to_string(), access_key_id.map(str::to_string));
        let changed = self
            .with(move |conn| {
                conn.execute(
                    "UPDATE leases SET state = 'active', access_key_id = COALESCE(?2, access_key_id),
                     expires_at = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'pending'",
                    params![id, key, secs(expires_at), now()],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn get(&self, id: &str) -> Result<Option<Lease>> {
        let id = id.to_string();
        let raw = self
            .with(move |conn| {
                conn.query_row(
                    &format!("SELECT {COLUMNS} FROM leases WHERE id = ?1"),
                    [id],
                    Raw::read,
                )
                .optional()
            })
            .await?;
        raw.map(Raw::lease).transpose()
    }

    async fn due(&self, now: Timestamp, pending_before: Timestamp) -> Result<Vec<Lease>> {
        // Four index range scans; a ledger of live, unexpired leases costs nothing here.
        self.query(
            format!(
                "SELECT {COLUMNS} FROM leases WHERE state = 'active' AND expires_at <= ?1
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'pending' AND issued_at <= ?2
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'failed'
                 UNION ALL SELECT {COLUMNS} FROM leases WHERE state = 'revoking' AND claimed_until < ?1"
            ),
            vec![secs(now).into(), secs(pending_before).into()],
        )
        .await
    }

    async fn live_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>> {
        let upper = format!("{prefix}\u{10FFFF}");
        self.query(
            format!("SELECT {COLUMNS} FROM leases WHERE id >= ?1 AND id < ?2 AND state != 'revoked' ORDER BY id"),
            vec![prefix.to_string().into(), upper.into()],
        )
        .await
    }

    async fn claim(&self, id: &str, owner: &str, now: Timestamp, hold: Duration) -> Result<Claim> {
        let (id, owner) = (id.to_string(), owner.to_string());
        let now = secs(now);
        let hold = i64::try_from(hold.as_secs()).unwrap_or(i64::MAX);
        let found = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let found = tx
                    .query_row(
                        &format!(
                            "SELECT {COLUMNS}, claimed_by, claimed_until FROM leases WHERE id = ?1"
                        ),
                        [&id],
                        |r| {
                            Ok((
                                Raw::read(r)?,
                                r.get::<_, Option<String>>(16)?,
                                r.get::<_, Option<i64>>(17)?,
                            ))
                        },
                    )
                    .optional()?;
                let Some((raw, claimed_by, claimed_until)) = found else {
                    return Ok(None);
                };
                let held_by_other = raw.state == "revoking"
                    && claimed_until.is_some_and(|t| t >= now)
                    && claimed_by.as_deref() != Some(owner.as_str());
                let take = raw.state != "revoked" && !held_by_other;
                if take {
                    tx.execute(
                        "UPDATE leases SET state = 'revoking', claimed_by = ?2, claimed_until = ?3,
                         attempts = attempts + 1, updated_at = ?4 WHERE id = ?1",
                        params![id, owner, now.saturating_add(hold), now],
                    )?;
                }
                tx.commit()?;
                Ok(Some((raw, take)))
            })
            .await?;
        let Some((raw, took)) = found else {
            return Ok(Claim::Unknown);
        };
        let lease = raw.lease()?;
        Ok(match (lease.state, took) {
            (State::Revoked, _) => Claim::AlreadyRevoked(lease),
            (_, false) => Claim::Busy,
            (_, true) => Claim::Claimed(Lease {
                state: State::Revoking,
                attempts: lease.attempts.saturating_add(1),
                ..lease
            }),
        })
    }

    async fn finish(&self, id: &str, owner: &str, error: Option<&str>) -> Result<()> {
        let (id, owner) = (id.to_string(), owner.to_string());
        let (state, error) = match error {
            None => ("revoked", None),
            Some(e) => ("failed", Some(e.chars().take(1000).collect::<String>())),
        };
        self.with(move |conn| {
            conn.execute(
                "UPDATE leases SET state = ?3, last_error = ?4, claimed_by = NULL, claimed_until = NULL, updated_at = ?5
                 WHERE id = ?1 AND claimed_by = ?2",
                params![id, owner, state, error, now()],
            )
        })
        .await?;
        Ok(())
    }

    async fn use_proof(&self, hash: &str, expires_at: Timestamp) -> Result<bool> {
        let hash = hash.to_string();
        let now = now();
        let inserted = self
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // A record past its expiry no longer guards anything: the proof it
                // names is refused as stale before it gets here. A few of them go
                // with every login, so a broker that runs no sweep keeps only the
                // records of the last max_skew.
                tx.execute(
                    "DELETE FROM used_proofs WHERE hash = ?1 AND expires_at < ?2",
                    params![hash, now],
                )?;
                tx.execute(
                    "DELETE FROM used_proofs WHERE rowid IN
                       (SELECT rowid FROM used_proofs WHERE expires_at < ?1 LIMIT 16)",
                    params![now],
                )?;
                let n = tx.execute(
                    "INSERT INTO used_proofs (hash, expires_at) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
                    params![hash, secs(expires_at)],
                )?;
                tx.commit()?;
                Ok(n)
            })
            .await?;
        Ok(inserted == 1)
    }

    async fn prune(&self, now: Timestamp) -> Result<u64> {
        let retain = i64::try_from(self.settings.retain.as_secs()).unwrap_or(i64::MAX);
        let now = secs(now);
        let n = self
            .with(move |conn| {
                let leases = conn.execute(
                    "DELETE FROM leases WHERE state = 'revoked' AND updated_at < ?1",
                    [now.saturating_sub(retain)],
                )?;
                let proofs =
                    conn.execute("DELETE FROM used_proofs WHERE expires_at < ?1", [now])?;
                Ok(leases + proofs)
            })
            .await?;
        Ok(n as u64)
    }

    fn describe(&self) -> String {
        format!("lease ledger {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::super::contract;
    use super::*;

    fn store() -> (tempfile_dir::Dir, SqliteStore) {
        let dir = tempfile_dir::Dir::new();
        let s = SqliteStore::open(
            &dir.0.join("sub/leases.db"),
            Settings {
                retain: Duration::from_secs(100),
            },
        )
        .unwrap();
        (dir, s)
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

    fn block<F: std::future::Future>(f: F) -> F::Output {
        crate::runtime::current_thread().unwrap().block_on(f)
    }

    /// Logins alone keep the used-proof records to the live ones: each removes a few
    /// expired records, with no sweep.
    #[test]
    fn logins_remove_expired_proof_records() {
        block(async {
            let (_d, s) = store();
            let past = Timestamp::now() - jiff::SignedDuration::from_secs(60);
            let future = Timestamp::now() + jiff::SignedDuration::from_secs(300);
            s.with(move |conn| {
                for i in 0..40 {
                    conn.execute(
                        "INSERT INTO used_proofs (hash, expires_at) VALUES (?1, ?2)",
                        params![format!("old{i}"), secs(past)],
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
            for i in 0..3 {
                assert!(s.use_proof(&format!("new{i}"), future).await.unwrap());
            }
            let left: i64 = s
                .with(|conn| conn.query_row("SELECT count(*) FROM used_proofs", [], |r| r.get(0)))
                .await
                .unwrap();
            assert_eq!(left, 3, "the three live records, and no expired one");
            assert!(!s.use_proof("new0", future).await.unwrap(), "still used");
        });
    }

    #[test]
    fn contract() {
        block(async {
            let (_d, s) = store();
            contract::all(&s).await;
        });
    }

    #[test]
    fn reopening_keeps_rows_and_prune_keeps_what_is_retained() {
        block(async {
            let (d, s) = store();
            s.insert_pending(&contract::lease("creds/p/3", 1, 2))
                .await
                .unwrap();
            s.use_proof("old", contract::t(10)).await.unwrap();
            drop(s);
            let s = SqliteStore::open(
                &d.0.join("sub/leases.db"),
                Settings {
                    retain: Duration::from_secs(100),
                },
            )
            .unwrap();
            assert!(s.get("creds/p/3").await.unwrap().is_some());
            let Claim::Claimed(_) = s
                .claim("creds/p/3", "a", Timestamp::now(), Duration::from_secs(60))
                .await
                .unwrap()
            else {
                panic!()
            };
            s.finish("creds/p/3", "a", None).await.unwrap();
            let now = Timestamp::now();
            assert_eq!(
                s.prune(now).await.unwrap(),
                1,
                "the expired proof record goes"
            );
            assert!(
                s.get("creds/p/3").await.unwrap().is_some(),
                "retained for audit"
            );
            let later = now
                .checked_add(jiff::SignedDuration::from_secs(101))
                .unwrap();
            assert_eq!(s.prune(later).await.unwrap(), 1);
            assert!(s.get("creds/p/3").await.unwrap().is_none());
            assert!(
                s.use_proof("old", contract::t(10)).await.unwrap(),
                "a pruned record is gone"
            );
        });
    }
}
