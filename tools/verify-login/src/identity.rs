//! From STS's answer to a verified identity: the ARN is parsed, its account must be
//! the answer's Account, its principal type must be one we know, and the login role's
//! bindings must all match.

use common::broker::matches_any;
use common::config::Role;
use common::docs::Identity;
use common::{Error, Result};

use crate::answer::Caller;

const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov"];

fn refused(text: impl std::fmt::Display) -> Error {
    Error::denied(format!("STS answer not accepted: {text}"))
}

/// Parses the caller's ARN into an identity; assumed-role ARNs are canonicalized to
/// their role's IAM ARN (the path of the role is not in the ARN and is not guessed).
pub fn identity(c: &Caller) -> Result<Identity> {
    let parts: Vec<&str> = c.arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(refused(format_args!("ARN `{}` does not parse", c.arn)));
    };
    if *prefix != "arn" || !PARTITIONS.contains(partition) || !region.is_empty() {
        return Err(refused(format_args!("ARN `{}` does not parse", c.arn)));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused(format_args!(
            "ARN `{}` has no 12-digit account",
            c.arn
        )));
    }
    if *account != c.account {
        return Err(refused(format_args!(
            "ARN account {account} is not the answer's Account {}",
            c.account
        )));
    }
    let segments: Vec<&str> = resource.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(refused(format_args!(
            "ARN `{}` has an empty path segment",
            c.arn
        )));
    }
    let (principal_type, name, session, canonical) = match (*service, segments.as_slice()) {
        ("iam", ["user", .., name]) => ("user", *name, None, c.arn.clone()),
        ("iam", ["role", .., name]) => ("role", *name, None, c.arn.clone()),
        ("sts", ["assumed-role", role, session]) => (
            "assumed-role",
            *role,
            Some(session.to_string()),
            format!("arn:{partition}:iam::{account}:role/{role}"),
        ),
        _ => {
            return Err(refused(format_args!(
                "principal type of `{}` is not accepted (only IAM users, roles and assumed roles)",
                c.arn
            )));
        }
    };
    if let Some(s) = &session
        && !c.user_id.ends_with(&format!(":{s}"))
    {
        return Err(refused(format_args!(
            "UserId {} does not end in the session name {s}",
            c.user_id
        )));
    }
    Ok(Identity {
        account_id: c.account.clone(),
        arn: c.arn.clone(),
        canonical_arn: canonical,
        user_id: c.user_id.clone(),
        principal_type: principal_type.to_string(),
        principal_name: name.to_string(),
        session_name: session,
    })
}

/// Checks every non-empty `bound_*` list of the login role (AND across lists, any item
/// within one).
pub fn check_bindings(id: &Identity, role_name: &str, role: &Role) -> Result<()> {
    let fail = |what: &str| {
        Err(Error::denied(format!(
            "{} does not match login role {role_name}: {what}",
            id.arn
        )))
    };
    if !role.bound_account_ids.is_empty() && !role.bound_account_ids.contains(&id.account_id) {
        return fail("account not in bound_account_ids");
    }
    let arns = &role.bound_principal_arns;
    let arn_bound = matches_any(arns, &id.canonical_arn) || matches_any(arns, &id.arn);
    if !arns.is_empty() && !arn_bound {
        return fail("ARN not in bound_principal_arns");
    }
    let role_name_bound =
        id.principal_type != "user" && role.bound_role_names.contains(&id.principal_name);
    if !role.bound_role_names.is_empty() && !role_name_bound {
        return fail("role name not in bound_role_names");
    }
    if !role.bound_user_ids.is_empty() {
        let unique_id = id.user_id.split(':').next().unwrap_or_default();
        if !role
            .bound_user_ids
            .iter()
            .any(|u| u == &id.user_id || u == unique_id)
        {
            return fail("unique id not in bound_user_ids");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(arn: &str, user_id: &str) -> Caller {
        Caller {
            arn: arn.into(),
            account: "123456789012".into(),
            user_id: user_id.into(),
        }
    }

    #[test]
    fn assumed_roles_are_canonicalized() {
        let id = identity(&caller(
            "arn:aws:sts::123456789012:assumed-role/ci-runner/i-0abc",
            "AROAEXAMPLE:i-0abc",
        ))
        .unwrap();
        assert_eq!(id.canonical_arn, "arn:aws:iam::123456789012:role/ci-runner");
        assert_eq!(id.principal_type, "assumed-role");
        assert_eq!(id.principal_name, "ci-runner");
        assert_eq!(id.session_name.as_deref(), Some("i-0abc"));
    }

    #[test]
    fn users_with_paths() {
        let id = identity(&caller(
            "arn:aws:iam::123456789012:user/team/alice",
            "AIDAEXAMPLE",
        ))
        .unwrap();
        assert_eq!(id.principal_name, "alice");
        assert_eq!(id.canonical_arn, id.arn);
    }

    #[test]
    fn refuses_odd_arns() {
        for (arn, uid) in [
            ("arn:aws:iam::123456789012:root", "123456789012"),
            (
                "arn:aws:sts::123456789012:federated-user/bob",
                "123456789012:bob",
            ),
            ("arn:aws:iam::999999999999:user/alice", "AIDA"),
            ("arn:evil:iam::123456789012:user/alice", "AIDA"),
            ("arn:aws:iam:us-east-1:123456789012:user/alice", "AIDA"),
            ("arn:aws:sts::123456789012:assumed-role/r/s", "AROA:other"),
            ("arn:aws:sts::123456789012:assumed-role/r", "AROA"),
            ("not an arn", "AIDA"),
        ] {
            assert!(identity(&caller(arn, uid)).is_err(), "{arn}");
        }
    }

    #[test]
    fn bindings_and_across_lists() {
        let id = identity(&caller(
            "arn:aws:sts::123456789012:assumed-role/ci-runner/i-0abc",
            "AROAEXAMPLE:i-0abc",
        ))
        .unwrap();
        let role = Role {
            bound_account_ids: vec!["123456789012".into()],
            bound_principal_arns: vec!["arn:aws:iam::123456789012:role/ci-*".into()],
            ..Role::default()
        };
        assert!(check_bindings(&id, "ci", &role).is_ok());
        let wrong_account = Role {
            bound_account_ids: vec!["210987654321".into()],
            ..role.clone()
        };
        assert!(check_bindings(&id, "ci", &wrong_account).is_err());
        let by_uid = Role {
            bound_user_ids: vec!["AROAEXAMPLE".into()],
            ..Role::default()
        };
        assert!(check_bindings(&id, "ci", &by_uid).is_ok());
        let by_name = Role {
            bound_role_names: vec!["ci-runner".into()],
            ..Role::default()
        };
        assert!(check_bindings(&id, "ci", &by_name).is_ok());
        let other = Role {
            bound_principal_arns: vec!["arn:aws:iam::123456789012:role/deploy".into()],
            ..Role::default()
        };
        assert!(check_bindings(&id, "ci", &other).is_err());
    }

    #[test]
    fn globs() {
        let ci = vec!["arn:aws:iam::1:role/ci-*".to_string()];
        assert!(matches_any(&ci, "arn:aws:iam::1:role/ci-x"));
        assert!(!matches_any(&ci, "arn:aws:iam::2:role/ci-x"));
        let exact = vec!["arn:aws:iam::1:user/x".to_string()];
        assert!(!matches_any(&exact, "arn:aws:iam::1:user/xy"));
    }
}
