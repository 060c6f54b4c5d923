//! The credential_process cache: `--output credential-process` hands out a live lease
//! of the same profile, config file and caller again while it has more than
//! `reuse_min_remaining` left, instead of minting one lease per AWS CLI call.
//!
//! Entries live in `$XDG_RUNTIME_DIR/vaultless/` (a per-user tmpfs), else in a 0700
//! directory under the state dir; files are 0600 and must be owned by this user. A lock
//! per entry (flock) makes parallel calls mint once: the first mints under the lock,
//! the others find its entry when they get the lock. An entry is trusted only when its
//! file is private and ours, parses, names this key, and its lease is still active in
//! the ledger (so a revoked lease is never handed out again); anything else is
//! reported and replaced.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::docs::{Lease, VerifiedIdentity};
use common::ledger::{State, Store};
use serde::{Deserialize, Serialize};

use crate::TOOL;

/// Reused while more than this is left: the AWS SDKs and CLI refresh
/// credential_process credentials 15 minutes before they expire.
pub const DEFAULT_REUSE_MIN_REMAINING: Duration = Duration::from_secs(15 * 60);
/// The longest a call waits for another's mint before minting on its own.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// The AWS settings that are secrets: never part of a key, even hashed.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    lease: Lease,
}

pub struct Cache {
    dir: PathBuf,
    key: String,
    min_remaining: Duration,
}

fn warn(text: &str) {
    common::error::warn(TOOL, text);
}

/// `$XDG_RUNTIME_DIR/vaultless`, else `$XDG_STATE_HOME/vaultless/cache`, else
/// `~/.local/state/vaultless/cache`.
fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(run) = var("XDG_RUNTIME_DIR") {
        return Some(run.join("vaultless"));
    }
    var("XDG_STATE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".local/state")))
        .map(|s| s.join("vaultless/cache"))
}

/// What makes two calls the same: the profile (and its settings), the config file,
/// the TTL and role asked for, and the caller: the verified identity behind
/// verify-login, else this user and the AWS settings of the environment.
pub fn key(
    profile: &str,
    settings: &impl std::fmt::Debug,
    config: Option<&Path>,
    asked: &[String],
    caller: Option<&VerifiedIdentity>,
) -> String {
    let mut parts = vec![
        format!("profile={profile}"),
        format!("settings={settings:?}"),
        format!(
            "config={}",
            config
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        format!("uid={}", rustix::process::geteuid().as_raw()),
    ];
    parts.extend(asked.iter().map(|a| format!("asked={a}")));
    match caller {
        Some(c) => parts.push(format!("caller={} role={}", c.identity.arn, c.role)),
        None => {
            let mut env: Vec<String> = std::env::vars_os()
                .filter_map(|(k, v)| {
                    let k = k.into_string().ok()?;
                    (k.starts_with("AWS_") && !SECRET_VARS.contains(&k.as_str()))
                        .then(|| format!("env {k}={}", v.to_string_lossy()))
                })
                .collect();
            env.sort();
            parts.extend(env);
            // The shared files the minting identity may come from: new keys or another
            // profile written there make another entry, never this one's lease.
            let home = std::env::var_os("HOME").map(PathBuf::from);
            for (var, name) in [
                ("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
                ("AWS_CONFIG_FILE", "config"),
            ] {
                let path = std::env::var_os(var)
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)));
                if let Some(path) = path {
                    let meta = std::fs::metadata(&path)
                        .ok()
                        .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec()));
                    parts.push(format!("file {}={meta:?}", path.display()));
                }
            }
        }
    }
    common::sha256_hex(parts.join("\n").as_bytes())
}

impl Cache {
    /// The cache for `key`, or None (said on stderr) when no private directory can be had.
    pub fn open(key: String, min_remaining: Duration) -> Option<Cache> {
        let Some(dir) = cache_dir() else {
            warn("no cache directory (set XDG_RUNTIME_DIR or HOME); minting a new lease");
            return None;
        };
        if let Err(e) = private_dir(&dir) {
            warn(&format!(
                "not using the credential cache {}: {e}; minting a new lease",
                dir.display()
            ));
            return None;
        }
        Some(Cache {
            dir,
            key,
            min_remaining,
        })
    }

    fn path(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.key))
    }

    /// A cached lease that may be handed out again, if there is one. `locked`: the
    /// caller holds this entry's lock, so a revoked entry may be removed; without the
    /// lock it is only passed over, since another call may be replacing it this moment.
    pub async fn lookup(&self, ledger: &dyn Store, locked: bool) -> Option<Lease> {
        let path = self.path("json");
        let entry = match read_private(&path) {
            Ok(None) => return None,
            Ok(Some(bytes)) => match serde_json::from_slice::<Entry>(&bytes) {
                Ok(e) if e.key == self.key => e,
                Ok(_) => {
                    warn(&format!(
                        "ignoring the cache file {}: it is not this call's entry",
                        path.display()
                    ));
                    return None;
                }
                Err(e) => {
                    warn(&format!(
                        "ignoring the corrupt cache file {} ({e}); minting a new lease",
                        path.display()
                    ));
                    return None;
                }
            },
            Err(why) => {
                warn(&format!(
                    "ignoring the cache file {}: {why}; minting a new lease",
                    path.display()
                ));
                return None;
            }
        };
        let lease = entry.lease;
        let left = lease
            .expires_at
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.duration_since(jiff::Timestamp::now()));
        let enough =
            jiff::SignedDuration::try_from(self.min_remaining).unwrap_or(jiff::SignedDuration::MAX);
        if left.is_none_or(|l| l <= enough) {
            return None;
        }
        // Revoked (or swept, or failed) since it was cached: never again.
        match ledger.get(&lease.lease_id).await {
            Ok(Some(row)) if row.state == State::Active => Some(lease),
            Ok(_) => {
                if locked {
                    let _ = std::fs::remove_file(&path);
                }
                None
            }
            Err(e) => {
                warn(&format!(
                    "cannot check cached lease {} in the state store ({e}); minting a new lease",
                    lease.lease_id
                ));
                None
            }
        }
    }

    /// Waits (up to a minute) for this entry's lock; None, said, when it cannot be had.
    /// The lock is held until the returned file is dropped.
    pub fn lock(&self) -> Option<File> {
        let path = self.path("lock");
        let file = match std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) => {
                warn(&format!("cannot open the lock {}: {e}", path.display()));
                return None;
            }
        };
        let Ok(waiter) = file.try_clone() else {
            return None;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got = rustix::fs::flock(&waiter, rustix::fs::FlockOperation::LockExclusive);
            let _ = tx.send(got);
        });
        match rx.recv_timeout(LOCK_WAIT) {
            Ok(Ok(())) => Some(file),
            Ok(Err(e)) => {
                warn(&format!("cannot lock {}: {e}", path.display()));
                None
            }
            Err(_) => {
                warn(&format!(
                    "another mint-creds has held {} for {}s; minting without it",
                    path.display(),
                    LOCK_WAIT.as_secs()
                ));
                None
            }
        }
    }

    /// Keeps `lease` for the next calls: written to a private file, then renamed into
    /// place, so a reader sees a whole entry or none.
    pub fn store(&self, lease: &Lease) {
        let entry = Entry {
            key: self.key.clone(),
            lease: lease.clone(),
        };
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", self.key, std::process::id()));
        let written = (|| -> std::io::Result<()> {
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&serde_json::to_vec(&entry).expect("entries serialize"))?;
            f.sync_data()?;
            std::fs::rename(&tmp, self.path("json"))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            warn(&format!(
                "cannot write the credential cache in {} ({e}); the next call mints again",
                self.dir.display()
            ));
        }
    }
}

/// Creates `dir` 0700 when missing; an existing one must be ours and private.
fn private_dir(dir: &Path) -> Result<(), String> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // The umask may have narrowed it further, never widened it.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.to_string()),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    owned_and_private(&meta)
}

fn owned_and_private(meta: &std::fs::Metadata) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!("it is owned by uid {}, not {me}", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "its mode {:o} lets others in (want 0600 files, a 0700 directory)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// The bytes of a cache file that is a regular file, ours and private; Ok(None) when
/// there is none.
fn read_private(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    owned_and_private(&meta)?;
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_profiles_configs_and_requests_apart() {
        let base = key(
            "p",
            &1,
            Some(Path::new("/etc/a.toml")),
            &["ttl=3600".into()],
            None,
        );
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            key(
                "p",
                &1,
                Some(Path::new("/etc/a.toml")),
                &["ttl=3600".into()],
                None
            )
        );
        for other in [
            key(
                "q",
                &1,
                Some(Path::new("/etc/a.toml")),
                &["ttl=3600".into()],
                None,
            ),
            key(
                "p",
                &2,
                Some(Path::new("/etc/a.toml")),
                &["ttl=3600".into()],
                None,
            ),
            key(
                "p",
                &1,
                Some(Path::new("/etc/b.toml")),
                &["ttl=3600".into()],
                None,
            ),
            key(
                "p",
                &1,
                Some(Path::new("/etc/a.toml")),
                &["ttl=60".into()],
                None,
            ),
        ] {
            assert_ne!(base, other);
        }
    }
}
