//! What fetch-secret and mint-creds share when they act for a caller that
//! verify-login vouched for: when to read identities from stdin, reading them, and
//! matching grants (names or ARNs, `*` globs).

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::docs::{ErrorLine, VerifiedIdentity};
use crate::error::{Error, Result};

/// Where identity documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    Stdin,
    File(PathBuf),
}

/// Decides whether to read identities, and from where: `--identity -|FILE` when given;
/// stdin when the config requires an identity or nothing on the command line names what
/// to act on; otherwise none, and stdin is left alone (it may belong to an `--exec`
/// child, or to the AWS CLI running us as its credential_process).
pub fn identity_source(
    flag: Option<&str>,
    require_identity: bool,
    named: bool,
) -> Option<IdentitySource> {
    match flag {
        Some("-") => Some(IdentitySource::Stdin),
        Some(path) => Some(IdentitySource::File(PathBuf::from(path))),
        None if require_identity || !named => Some(IdentitySource::Stdin),
        None => None,
    }
}

/// Reads identity documents (one, or NDJSON). Each line is an identity, or an error
/// line verify-login wrote for a refused proof, which becomes a denial here so the
/// output keeps one line per caller.
pub fn read_identities(
    source: &IdentitySource,
    tool: &str,
) -> Result<Vec<Result<VerifiedIdentity>>> {
    let input = match source {
        IdentitySource::Stdin => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::usage(format!("{tool} expects a verified identity on stdin")).hint(format!(
                    "pipe verify-login into it (verify-login | {tool}), or name what to act on as an argument"
                )));
            }
            crate::input::read_stdin("identities on stdin")?
        }
        IdentitySource::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| {
                Error::bad_input(format!("reading identity file {}: {e}", path.display()))
            })?;
            crate::input::read_capped(
                file,
                crate::input::MAX_STDIN_BYTES,
                &format!("identity file {}", path.display()),
            )?
        }
    };
    let docs: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .collect();
    if docs.is_empty() {
        return Err(Error::denied("no verified identity on stdin").hint(format!(
            "{tool} acts for a caller only behind verify-login: verify-login | {tool}"
        )));
    }
    Ok(docs.into_iter().map(parse_identity).collect())
}

pub fn parse_identity(doc: &[u8]) -> Result<VerifiedIdentity> {
    crate::input::check_unique_keys(doc).map_err(|e| {
        Error::bad_input(format!("not a verified identity document ({e})"))
            .hint("identities come from verify-login's output")
    })?;
    if let Ok(refused) = serde_json::from_slice::<ErrorLine>(doc) {
        return Err(Error::denied(format!(
            "the caller was not verified: {}",
            refused.error.message
        )));
    }
    serde_json::from_slice(doc).map_err(|e| {
        Error::bad_input(format!("not a verified identity document ({e})"))
            .hint("identities come from verify-login's output")
    })
}

/// True when `text` matches one of the patterns: exact, or globs where `*` matches any
/// run of characters and `?` one (ARN bindings and secret grants alike).
pub fn matches_any(patterns: &[String], text: &str) -> bool {
    patterns
        .iter()
        .any(|p| wildmatch::WildMatch::new(p).matches(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_stdin_is_read() {
        assert_eq!(
            identity_source(Some("-"), false, true),
            Some(IdentitySource::Stdin)
        );
        assert_eq!(
            identity_source(Some("id.json"), false, true),
            Some(IdentitySource::File("id.json".into()))
        );
        assert_eq!(
            identity_source(None, true, true),
            Some(IdentitySource::Stdin)
        );
        assert_eq!(
            identity_source(None, false, false),
            Some(IdentitySource::Stdin)
        );
        assert_eq!(identity_source(None, false, true), None);
    }

    #[test]
    fn error_lines_become_denials() {
        let e = parse_identity(br#"{"error":{"code":77,"message":"bad proof"}}"#).unwrap_err();
        assert_eq!(e.code(), crate::ExitCode::Denied);
        assert!(e.to_string().contains("bad proof"));
        assert_eq!(
            parse_identity(b"{}").unwrap_err().code(),
            crate::ExitCode::BadInput
        );
        let twice = br#"{"error":{"code":77,"message":"a"},"error":{"code":77,"message":"b"}}"#;
        assert_eq!(
            parse_identity(twice).unwrap_err().code(),
            crate::ExitCode::BadInput
        );
    }

    #[test]
    fn patterns() {
        let p = vec!["ci/*".to_string(), "prod/db".to_string()];
        assert!(matches_any(&p, "ci/db"));
        assert!(matches_any(&p, "prod/db"));
        assert!(!matches_any(&p, "prod/db2"));
        assert!(!matches_any(&p, "xci/db"));
    }
}
