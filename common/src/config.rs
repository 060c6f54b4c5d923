//! The config file: one TOML file for all tools, found by `--config`, then
//! `$VAULTLESS_CONFIG`, then `$XDG_CONFIG_HOME/vaultless/config.toml`, then
//! `/etc/vaultless/config.toml`. Unknown keys are errors naming the key and the file,
//! because a misspelt `bound_*` list would otherwise silently bind nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::duration::Dur;
use crate::error::{Error, Result};

/// The longest `max_skew` allowed: a SigV4 signature is good for 15 minutes anyway.
pub const MAX_SKEW_LIMIT: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub login: Login,
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    #[serde(default)]
    pub creds: BTreeMap<String, CredsProfile>,
    #[serde(default)]
    pub broker: Broker,
    #[serde(default)]
    pub ledger: Ledger,
    #[serde(default)]
    pub audit: Audit,
}

/// `[audit]`: where every tool appends one JSON line per decision.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// A file (appended to, created 0640), or "-" for stderr.
    pub path: Option<String>,
}

/// `[login]`: how verify-login checks proofs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Proofs must carry this `X-Vault-AWS-IAM-Server-ID`, signed.
    pub server_id: Option<String>,
    /// Must be written out as `false` to accept proofs without a server ID.
    pub require_server_id: Option<bool>,
    pub max_skew: Option<Dur>,
    /// Send every proof here (Host kept) instead of to the host the proof names.
    pub sts_endpoint: Option<Endpoint>,
    /// Authorities accepted in proof URLs beyond the real STS endpoints: `host` (the
    /// scheme's default port only) or `host:port`.
    #[serde(default)]
    pub allowed_sts_hosts: Vec<Authority>,
    /// Total time for one STS call, retries included.
    pub timeout: Option<Dur>,
    /// A proof verifies once, across every verifier sharing the state store. Must be
    /// written out as `false` to turn it off.
    pub single_use: Option<bool>,
}

impl Login {
    pub fn max_skew(&self) -> Duration {
        self.max_skew.map_or(DEFAULT_MAX_SKEW, |d| d.0)
    }
    pub fn timeout(&self) -> Duration {
        self.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0)
    }
    pub fn single_use(&self) -> bool {
        self.single_use != Some(false)
    }
}

/// True for `localhost` and loopback addresses (`127.0.0.0/8`, `[::1]`).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A URL authority, `host` or `host:port`; the host lower case, IPv6 in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub host: String,
    pub port: Option<u16>,
}

impl Authority {
    /// Splits `host[:port]`, where host may be a bracketed IPv6 address (`[::1]:8080`).
    /// The host is returned as written; callers decide about case.
    pub fn split(text: &str) -> std::result::Result<(&str, Option<u16>), String> {
        let (host, port) = if text.starts_with('[') {
            let end = text
                .find(']')
                .ok_or_else(|| format!("host `{text}` has no closing ]"))?;
            let (host, rest) = text.split_at(end + 1);
            if host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_err()
            {
                return Err(format!("`{host}` is not an IPv6 address"));
            }
            match rest {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        rest.strip_prefix(':')
                            .ok_or_else(|| format!("host `{text}` has text after ]"))?,
                    ),
                ),
            }
        } else {
            match text.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|n| *n != 0)
                        .ok_or_else(|| format!("port `{p}` is not a port"))?,
                )
            }
            Some(p) => return Err(format!("port `{p}` is not a port")),
        };
        Ok((host, port))
    }

    pub fn parse(text: &str) -> std::result::Result<Authority, String> {
        if text.is_empty()
            || text
                .bytes()
                .any(|b| b <= b' ' || b >= 0x7f || b"/?#@\\".contains(&b))
        {
            return Err(format!(
                "`{text}` must be a host or host:port, with no scheme, path or user"
            ));
        }
        let (host, port) = Authority::split(text)?;
        if !host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(format!("`{host}` is not a host name or address"));
        }
        Ok(Authority {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// True when a URL's `host` and `port` (None: not written) are this authority,
    /// where `default` is the URL scheme's port: a bare host admits only that port.
    pub fn admits(&self, host: &str, port: Option<u16>, default: u16) -> bool {
        self.host == host && self.port.unwrap_or(default) == port.unwrap_or(default)
    }
}

impl std::fmt::Display for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl<'de> Deserialize<'de> for Authority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Authority::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `[login] sts_endpoint`: `https://host[:port]`, or `http://` for a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: String,
    pub authority: Authority,
}

impl Endpoint {
    pub fn parse(text: &str) -> std::result::Result<Endpoint, String> {
        let bad = |why: &str| format!("`{text}` {why}");
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("is not a URL"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let authority =
            Authority::parse(rest).map_err(|_| bad("must be scheme://host[:port] with no path"))?;
        match scheme {
            "https" => {}
            "http" if is_loopback(&authority.host) => {}
            _ => return Err(bad("must be https (http only for a loopback address)")),
        }
        Ok(Endpoint {
            scheme: scheme.to_string(),
            authority,
        })
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Endpoint::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `[roles.NAME]`: who may log in as NAME, and what they may then do.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    #[serde(default)]
    pub bound_account_ids: Vec<String>,
    #[serde(default)]
    pub bound_principal_arns: Vec<String>,
    #[serde(default)]
    pub bound_role_names: Vec<String>,
    #[serde(default)]
    pub bound_user_ids: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub creds: Vec<String>,
    pub max_ttl: Option<Dur>,
}

/// `[creds.NAME]`: a mint-creds profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredsProfile {
    #[serde(rename = "type")]
    pub kind: CredsType,
    pub role_arn: Option<String>,
    #[serde(default)]
    pub role_arns: Vec<String>,
    pub policy_document: Option<String>,
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub session_tags: BTreeMap<String, String>,
    pub external_id: Option<String>,
    pub mfa_serial_number: Option<String>,
    pub user_path: Option<String>,
    pub permissions_boundary_arn: Option<String>,
    #[serde(default)]
    pub iam_groups: Vec<String>,
    pub default_ttl: Option<Dur>,
    pub max_ttl: Option<Dur>,
    /// `--output credential-process` reuses a cached lease while it has more than this
    /// left (default 15m).
    pub reuse_min_remaining: Option<Dur>,
    /// iam_user: how long to wait for a new access key to work (default 20s; 0s: not).
    pub key_wait: Option<Dur>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredsType {
    AssumedRole,
    FederationToken,
    SessionToken,
    IamUser,
}

impl CredsType {
    /// The name used in config files, lease documents and the ledger.
    pub fn name(self) -> &'static str {
        match self {
            CredsType::AssumedRole => "assumed_role",
            CredsType::FederationToken => "federation_token",
            CredsType::SessionToken => "session_token",
            CredsType::IamUser => "iam_user",
        }
    }
}

/// `[broker]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    #[serde(default)]
    pub require_identity: bool,
}

/// `[ledger]`: the state store of every tool (leases and used proofs).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    #[serde(default)]
    pub backend: Backend,
    /// sqlite: the database file.
    pub path: Option<String>,
    /// dynamodb: the table, created on first use when missing.
    pub table: Option<String>,
    pub pending_grace: Option<Dur>,
    /// How long revoked leases are kept for audit before they expire.
    pub retain: Option<Dur>,
}

/// The default DynamoDB table.
pub const DEFAULT_TABLE: &str = "vaultless";

impl Ledger {
    pub fn table(&self) -> &str {
        self.table.as_deref().unwrap_or(DEFAULT_TABLE)
    }
}

/// Where the state store lives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// One file on this host (the default).
    #[default]
    Sqlite,
    /// One table shared by every host.
    Dynamodb,
}

/// A config together with the file it came from (if any), for messages.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Config,
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// "in FILE" for messages, or "(no config file)" when defaults are in use.
    pub fn origin(&self) -> String {
        match &self.path {
            Some(p) => format!("in {}", p.display()),
            None => "(no config file was found)".to_string(),
        }
    }
}

/// Where the config is looked for when neither `--config` nor `$VAULTLESS_CONFIG`
/// names it (clap folds the variable into `--config`), in order.
pub fn search_path() -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = xdg {
        out.push((dir.join("vaultless/config.toml"), false));
    }
    out.push((PathBuf::from("/etc/vaultless/config.toml"), false));
    out
}

/// Loads the config: `explicit` (from `--config`) must exist; otherwise the first file
/// of [`search_path`] that exists, or defaults when none does.
pub fn load(explicit: Option<&Path>) -> Result<Loaded> {
    let candidates = match explicit {
        Some(p) => vec![(p.to_path_buf(), true)],
        None => search_path(),
    };
    for (path, required) in candidates {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let config = parse(&text, &path)?;
                return Ok(Loaded {
                    config,
                    path: Some(path),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => {
                return Err(Error::config(format!(
                    "cannot read config file {}: {e}",
                    path.display()
                ))
                .hint("pass --config FILE, or set VAULTLESS_CONFIG to a readable file"));
            }
        }
    }
    Ok(Loaded::default())
}

/// Parses and checks a config file's text; `path` is only for messages.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let detail = e.message().to_string();
        // The line itself names the key (`type = "magic"`), which toml's message may not.
        let place = e
            .span()
            .map(|span| {
                let start = span.start.min(text.len());
                let line = text[..start].matches('\n').count() + 1;
                let content = text.lines().nth(line - 1).unwrap_or("").trim();
                let content: String = content.chars().take(80).collect();
                if content.is_empty() {
                    format!(" at line {line}")
                } else {
                    format!(" at line {line} (`{content}`)")
                }
            })
            .unwrap_or_default();
        Error::config(format!("{}{place}: {detail}", path.display()))
            .hint("see the CONFIG section of the man page for the keys each table takes")
    })?;
    check(&config, path)?;
    Ok(config)
}

fn check(config: &Config, path: &Path) -> Result<()> {
    let skew = config.login.max_skew();
    if skew > MAX_SKEW_LIMIT {
        return Err(Error::config(format!(
            "max_skew must be at most 15m (got {}) in {}",
            Dur(skew),
            path.display()
        )));
    }
    if config.login.timeout() == Duration::ZERO {
        return Err(Error::config(format!(
            "[login] timeout must be more than 0s in {}",
            path.display()
        )));
    }
    if let Some(id) = &config.login.server_id
        && (id.is_empty() || id.chars().any(|c| c.is_control()))
    {
        return Err(Error::config(format!(
            "[login] server_id must be non-empty printable text in {}",
            path.display()
        )));
    }
    for (name, profile) in &config.creds {
        check_profile(name, profile, path)?;
    }
    let ledger = &config.ledger;
    match ledger.backend {
        Backend::Sqlite if ledger.table.is_some() => {
            return Err(Error::config(format!(
                "[ledger] table is for backend = \"dynamodb\" in {}",
                path.display()
            )));
        }
        Backend::Dynamodb if ledger.path.is_some() => {
            return Err(Error::config(format!(
                "[ledger] path is for backend = \"sqlite\" in {}",
                path.display()
            )));
        }
        _ => {}
    }
    if let Some(p) = &config.audit.path
        && (p.is_empty() || (p != "-" && !p.starts_with('/')))
    {
        return Err(Error::config(format!(
            "[audit] path `{p}` must be an absolute file path, or \"-\" for stderr, in {}",
            path.display()
        )));
    }
    let table = ledger.table();
    if table.len() < 3
        || table.len() > 255
        || !table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(Error::config(format!(
            "[ledger] table `{table}` is not a DynamoDB table name (3-255 of a-z A-Z 0-9 _ - .) in {}",
            path.display()
        )));
    }
    for (name, role) in &config.roles {
        // A role name alone binds nothing: any AWS account can create a role by that name.
        if role.bound_account_ids.is_empty()
            && role.bound_principal_arns.is_empty()
            && role.bound_user_ids.is_empty()
        {
            return Err(Error::config(format!(
                "[roles.{name}] binds no principal: set bound_account_ids, bound_principal_arns or bound_user_ids in {}",
                path.display()
            ))
            .hint("without one, any AWS principal in the world could log in as this role"));
        }
        for arn in &role.bound_principal_arns {
            if !arn.starts_with("arn:") {
                return Err(Error::config(format!(
                    "[roles.{name}] bound_principal_arns: `{arn}` is not an ARN in {}",
                    path.display()
                ))
                .hint("write the full ARN, e.g. arn:aws:iam::123456789012:role/ci-*"));
            }
        }
        for id in &role.bound_account_ids {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::config(format!(
                    "[roles.{name}] bound_account_ids: `{id}` is not a 12-digit account id in {}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Checks a `[creds.NAME]` profile; errors name the key.
fn check_profile(name: &str, p: &CredsProfile, path: &Path) -> Result<()> {
    let origin = format!("in {}", path.display());
    let bad = |what: String| Err(Error::config(format!("[creds.{name}] {what} {origin}")));
    match p.kind {
        CredsType::AssumedRole if p.role_arn.is_none() && p.role_arns.is_empty() => {
            return bad("type assumed_role needs role_arn or role_arns".into());
        }
        CredsType::FederationToken if p.policy_document.is_none() && p.policy_arns.is_empty() => {
            return Err(Error::config(format!(
                "[creds.{name}] type federation_token needs policy_document or policy_arns {origin}"
            ))
            .hint("without a policy the token would carry all of the minting identity's own permissions"));
        }
        CredsType::SessionToken if p.policy_document.is_some() || !p.policy_arns.is_empty() => {
            return bad(
                "type session_token cannot be limited by a policy (use assumed_role)".into(),
            );
        }
        _ => {}
    }
    if p.kind != CredsType::AssumedRole && (p.role_arn.is_some() || !p.role_arns.is_empty()) {
        return bad(format!(
            "role_arn and role_arns are for assumed_role, not {}",
            p.kind.name()
        ));
    }
    if let (Some(d), Some(m)) = (p.default_ttl, p.max_ttl)
        && d > m
    {
        return bad(format!("default_ttl ({d}) is longer than max_ttl ({m})"));
    }
    if let Some(doc) = &p.policy_document
        && serde_json::from_str::<serde_json::Value>(doc).is_err()
    {
        return bad("policy_document is not valid JSON".into());
    }
    if p.kind != CredsType::IamUser {
        for (key, d) in [("default_ttl", p.default_ttl), ("max_ttl", p.max_ttl)] {
            if let Some(d) = d
                && d.0 < STS_MIN_TTL
            {
                return bad(format!(
                    "{key} ({d}) is below 15m, the least AWS gives {} credentials",
                    p.kind.name()
                ));
            }
        }
    }
    if let Some(wait) = p.key_wait {
        if p.kind != CredsType::IamUser {
            return bad(format!(
                "key_wait is for iam_user, not {} (STS credentials work at once)",
                p.kind.name()
            ));
        }
        if wait.0 > MAX_KEY_WAIT {
            return bad(format!(
                "key_wait ({wait}) is over 2m: a new key works within seconds, and the caller waits that long"
            ));
        }
    }
    if !p.session_tags.is_empty() && p.kind != CredsType::AssumedRole {
        return bad(format!(
            "session_tags are for assumed_role, not {}",
            p.kind.name()
        ));
    }
    // STS's limits on session tags: 50 tags, keys of 1 to 128 characters, values of up
    // to 256.
    if p.session_tags.len() > 50 {
        return bad("has more than 50 session_tags".into());
    }
    for (k, v) in &p.session_tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return bad(format!(
                "session tag `{k}`: keys are 1 to 128 characters, values at most 256"
            ));
        }
    }
    Ok(())
}

/// The longest `key_wait`: IAM takes seconds to accept a new key, never minutes.
const MAX_KEY_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The shortest lifetime AWS gives STS credentials (assumed roles, federation and
/// session tokens).
pub const STS_MIN_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/etc/vaultless/config.toml")
    }

    #[test]
    fn full_example_parses() {
        let text = r#"
[login]
server_id = "broker.example.com"
max_skew = "5m"
sts_endpoint = "https://sts.amazonaws.com"
allowed_sts_hosts = []

[roles.ci]
bound_account_ids = ["123456789012"]
bound_principal_arns = ["arn:aws:iam::123456789012:role/ci-*"]
secrets = ["ci/*"]
creds = ["deployer"]
max_ttl = "1h"

[creds.deployer]
type = "assumed_role"
role_arn = "arn:aws:iam::123456789012:role/deployer"
default_ttl = "15m"

[broker]
require_identity = true

[ledger]
path = "~/.local/state/vaultless/leases.db"
pending_grace = "5m"
retain = "30d"
"#;
        let c = parse(text, p()).unwrap();
        assert_eq!(c.login.server_id.as_deref(), Some("broker.example.com"));
        assert_eq!(c.roles["ci"].max_ttl.unwrap().0, Duration::from_secs(3600));
        assert_eq!(c.creds["deployer"].kind, CredsType::AssumedRole);
        assert!(c.broker.require_identity);
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let err = parse("[login]\nserverid = \"x\"\n", p()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("serverid"), "{text}");
        assert!(text.contains("/etc/vaultless/config.toml"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert_eq!(err.code(), crate::ExitCode::Config);
    }

    #[test]
    fn skew_over_fifteen_minutes_is_refused() {
        let err = parse("[login]\nmax_skew = \"20m\"\n", p()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "max_skew must be at most 15m (got 20m) in /etc/vaultless/config.toml"
        );
    }

    #[test]
    fn roles_must_bind_a_principal() {
        let err = parse("[roles.ci]\nbound_role_names = [\"ci\"]\n", p()).unwrap_err();
        assert!(
            err.to_string().contains("[roles.ci] binds no principal"),
            "{err}"
        );
    }

    #[test]
    fn bad_duration_is_a_config_error() {
        let err = parse("[login]\nmax_skew = \"soon\"\n", p()).unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
    }

    #[test]
    fn allowed_hosts_are_authorities() {
        let c = parse(
            "[login]\nallowed_sts_hosts = [\"127.0.0.1:4566\", \"Sts.Internal\", \"[::1]:8080\", \"[fd00::1]\"]\n",
            p(),
        )
        .unwrap();
        let a = &c.login.allowed_sts_hosts;
        assert_eq!((a[0].host.as_str(), a[0].port), ("127.0.0.1", Some(4566)));
        assert_eq!((a[1].host.as_str(), a[1].port), ("sts.internal", None));
        assert_eq!((a[2].host.as_str(), a[2].port), ("[::1]", Some(8080)));
        assert_eq!((a[3].host.as_str(), a[3].port), ("[fd00::1]", None));
        assert!(a[0].admits("127.0.0.1", Some(4566), 80));
        assert!(!a[0].admits("127.0.0.1", Some(6379), 80));
        assert!(!a[0].admits("127.0.0.1", None, 80));
        assert!(a[1].admits("sts.internal", None, 443));
        assert!(a[1].admits("sts.internal", Some(443), 443));
        assert!(!a[1].admits("sts.internal", Some(8443), 443));
        for bad in [
            "http://127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "127.0.0.1:0",
            "a:b:c",
            "[::1",
            "[::1]x",
            "[nothex]",
            "user@host",
            "host/path",
            "",
            "ho st",
        ] {
            let err =
                parse(&format!("[login]\nallowed_sts_hosts = [\"{bad}\"]\n"), p()).expect_err(bad);
            assert_eq!(err.code(), crate::ExitCode::Config, "{bad}");
            assert!(err.to_string().contains("line 2"), "{bad}: {err}");
        }
    }

    #[test]
    fn sts_endpoint_is_checked_by_every_tool() {
        let e = parse("[login]\nsts_endpoint = \"http://127.0.0.1:5000/\"\n", p()).unwrap();
        let e = e.login.sts_endpoint.unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.authority.to_string()),
            ("http", "127.0.0.1:5000".into())
        );
        for bad in [
            "http://example.com",
            "https://sts.amazonaws.com/path",
            "sts.amazonaws.com",
            "ftp://127.0.0.1",
        ] {
            let err = parse(&format!("[login]\nsts_endpoint = \"{bad}\"\n"), p()).expect_err(bad);
            assert!(err.to_string().contains("sts_endpoint"), "{bad}: {err}");
        }
    }

    #[test]
    fn creds_profiles_are_checked_by_every_tool() {
        let err = parse("[creds.x]\ntype = \"assumed_role\"\n", p()).unwrap_err();
        assert!(
            err.to_string()
                .contains("[creds.x] type assumed_role needs role_arn"),
            "{err}"
        );
        let err = parse(
            "[creds.x]\ntype = \"iam_user\"\npolicy_document = \"{nope\"\n",
            p(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("policy_document is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn ledger_backends() {
        let c = parse(
            "[ledger]\nbackend = \"dynamodb\"\ntable = \"vl-prod\"\n",
            p(),
        )
        .unwrap();
        assert_eq!(
            (c.ledger.backend, c.ledger.table()),
            (Backend::Dynamodb, "vl-prod")
        );
        assert_eq!(parse("", p()).unwrap().ledger.table(), DEFAULT_TABLE);
        for (bad, says) in [
            ("backend = \"redis\"", "redis"),
            ("table = \"t\"", "table is for backend"),
            (
                "backend = \"dynamodb\"\npath = \"/x.db\"",
                "path is for backend",
            ),
            (
                "backend = \"dynamodb\"\ntable = \"a b\"",
                "not a DynamoDB table name",
            ),
        ] {
            let err = parse(&format!("[ledger]\n{bad}\n"), p()).expect_err(bad);
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn single_use_is_on_unless_written_off() {
        assert!(parse("", p()).unwrap().login.single_use());
        assert!(
            !parse("[login]\nsingle_use = false\n", p())
                .unwrap()
                .login
                .single_use()
        );
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = load(Some(Path::new("/nonexistent/vaultless.toml"))).unwrap_err();
        assert_eq!(err.code(), crate::ExitCode::Config);
    }
}
