//! The AWS calls that mint each credential type.

use aws_sdk_iam::types::Tag as IamTag;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag as StsTag};
use common::config::CredsProfile;
use common::ledger::{IamUser, Lease, Resources};
use common::{Error, Result};
use jiff::Timestamp;

/// Credentials as AWS returned them.
pub struct Minted {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// The name of the inline policy an iam_user lease's user gets.
pub const INLINE_POLICY: &str = "vaultless";

fn sts_denied(what: &str, hint: String) -> impl Fn(&str) -> Error {
    let what = what.to_string();
    move |msg: &str| Error::denied(format!("{what} was denied: {msg}")).hint(hint.clone())
}

fn sts_credentials(c: Option<&aws_sdk_sts::types::Credentials>) -> Result<Minted> {
    let c = c.ok_or_else(|| Error::unavailable("STS answered without credentials"))?;
    Ok(Minted {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: Some(c.session_token().to_string()),
        expires_at: Timestamp::from_second(c.expiration().secs()).ok(),
    })
}

fn map_sts<E>(
    what: &str,
    denied: impl Fn(&str) -> Error,
) -> impl FnOnce(aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    let what = what.to_string();
    move |err| {
        if let Some(service) = err.as_service_error()
            && service.code().is_some_and(|c| c.contains("AccessDenied"))
        {
            return denied(service.message().unwrap_or(""));
        }
        common::aws::sdk_error(&what, &err)
    }
}

fn policy_arns(profile: &CredsProfile) -> Option<Vec<PolicyDescriptorType>> {
    (!profile.policy_arns.is_empty()).then(|| {
        profile
            .policy_arns
            .iter()
            .map(|a| PolicyDescriptorType::builder().arn(a).build())
            .collect()
    })
}

/// Mints one of the three STS types; `row` holds the names chosen before the call.
pub async fn sts(
    sts: &aws_sdk_sts::Client,
    profile: &CredsProfile,
    row: &Lease,
    ttl_secs: i32,
    source_identity: Option<&str>,
    mfa_code: Option<&str>,
) -> Result<Minted> {
    match &row.resources {
        Resources::AssumedRole {
            role_arn: role,
            session_name,
        } => {
            let tags: Vec<StsTag> = profile
                .session_tags
                .iter()
                .map(|(k, v)| StsTag::builder().key(k).value(v).build())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::config(format!("session_tags: {e}")))?;
            let out = sts
                .assume_role()
                .role_arn(role)
                .role_session_name(session_name)
                .duration_seconds(ttl_secs)
                .set_policy(profile.policy_document.clone())
                .set_policy_arns(policy_arns(profile))
                .set_tags((!tags.is_empty()).then_some(tags))
                .set_external_id(profile.external_id.clone())
                .set_source_identity(source_identity.map(str::to_string))
                .send()
                .await
                .map_err(map_sts(
                    &format!("assuming role {role}"),
                    sts_denied(
                        &format!("sts:AssumeRole on {role}"),
                        format!("the minting identity needs sts:AssumeRole on {role}, and the role's trust policy must allow it (and sts:TagSession / sts:SetSourceIdentity when tags or a caller are passed)"),
                    ),
                ))?;
            sts_credentials(out.credentials())
        }
        Resources::FederationToken { name } => {
            let out = sts
                .get_federation_token()
                .name(name)
                .duration_seconds(ttl_secs)
                .set_policy(profile.policy_document.clone())
                .set_policy_arns(policy_arns(profile))
                .send()
                .await
                .map_err(map_sts(
                    "getting a federation token",
                    sts_denied(
                        "sts:GetFederationToken",
                        "the minting identity must be an IAM user allowed sts:GetFederationToken"
                            .into(),
                    ),
                ))?;
            sts_credentials(out.credentials())
        }
        Resources::SessionToken => {
            let out = sts
                .get_session_token()
                .duration_seconds(ttl_secs)
                .set_serial_number(profile.mfa_serial_number.clone())
                .set_token_code(mfa_code.map(str::to_string))
                .send()
                .await
                .map_err(map_sts(
                    "getting a session token",
                    sts_denied(
                        "sts:GetSessionToken",
                        "the minting identity must be an IAM user; check --mfa-code".into(),
                    ),
                ))?;
            sts_credentials(out.credentials())
        }
        Resources::IamUser(_) => Err(Error::internal("iam_user is not an STS type")),
    }
}

fn iam_err<E>(
    what: String,
) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| {
        let e = common::aws::sdk_error(&what, &err);
        if e.code() == common::ExitCode::Denied {
            e.hint("the minting identity needs iam:CreateUser, iam:PutUserPolicy, iam:AttachUserPolicy, iam:AddUserToGroup, iam:CreateAccessKey, iam:TagUser and the matching deletes")
        } else {
            e
        }
    }
}

/// Makes the lease's IAM user, its policies and groups, and an access key. The user's
/// name is in `row` (and the ledger) before the first call.
pub async fn iam_user(
    iam: &aws_sdk_iam::Client,
    profile: &CredsProfile,
    row: &Lease,
    names: &IamUser,
) -> Result<Minted> {
    let user = names.user_name.clone();
    let tags = vec![
        IamTag::builder()
            .key("vaultless-lease-id")
            .value(&row.id)
            .build(),
        IamTag::builder()
            .key("vaultless-profile")
            .value(&row.profile)
            .build(),
    ]
    .into_iter()
    .collect::<std::result::Result<Vec<_>, _>>()
    .map_err(|e| Error::internal(format!("tags: {e}")))?;
    iam.create_user()
        .user_name(&user)
        .set_path(profile.user_path.clone())
        .set_permissions_boundary(profile.permissions_boundary_arn.clone())
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(iam_err(format!("creating IAM user {user}")))?;
    if let Some(doc) = &profile.policy_document {
        iam.put_user_policy()
            .user_name(&user)
            .policy_name(INLINE_POLICY)
            .policy_document(doc)
            .send()
            .await
            .map_err(iam_err(format!("putting the inline policy on {user}")))?;
    }
    for arn in &profile.policy_arns {
        iam.attach_user_policy()
            .user_name(&user)
            .policy_arn(arn)
            .send()
            .await
            .map_err(iam_err(format!("attaching {arn} to {user}")))?;
    }
    for group in &profile.iam_groups {
        iam.add_user_to_group()
            .user_name(&user)
            .group_name(group)
            .send()
            .await
            .map_err(iam_err(format!("adding {user} to group {group}")))?;
    }
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .map_err(iam_err(format!("creating an access key for {user}")))?;
    let key = key
        .access_key()
        .ok_or_else(|| Error::unavailable("IAM answered without an access key"))?;
    Ok(Minted {
        access_key_id: key.access_key_id().to_string(),
        secret_access_key: key.secret_access_key().to_string(),
        session_token: None,
        expires_at: None,
    })
}

/// How long a new access key is given to start working, unless the profile says.
pub const DEFAULT_KEY_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits until AWS accepts a new access key (IAM is eventually consistent: a key is
/// refused for a few seconds after CreateAccessKey), asking sts:GetCallerIdentity with
/// it under a growing backoff, for at most `limit`. Ok(calls) when it works, Err(calls)
/// when it was still refused at the end.
pub async fn wait_for_key(
    sts: &aws_sdk_sts::Client,
    key: &Minted,
    limit: std::time::Duration,
) -> std::result::Result<u32, u32> {
    let creds = aws_credential_types::Credentials::new(
        &key.access_key_id,
        &key.secret_access_key,
        None,
        None,
        "vaultless-new-key",
    );
    let client = aws_sdk_sts::Client::from_conf(
        sts.config()
            .to_builder()
            .credentials_provider(creds)
            .build(),
    );
    let start = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(200);
    let mut calls = 0;
    loop {
        calls += 1;
        match client.get_caller_identity().send().await {
            Ok(_) => return Ok(calls),
            // Authenticated, only not allowed: the key works.
            Err(e)
                if e.as_service_error()
                    .and_then(|s| s.meta().code())
                    .is_some_and(|c| c.contains("AccessDenied")) =>
            {
                return Ok(calls);
            }
            Err(_) => {}
        }
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(calls);
        }
        tokio::time::sleep(delay.min(left)).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(3));
    }
}
