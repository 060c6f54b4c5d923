//! Revoking what a lease created. Every step treats NoSuchEntity as done, so revoking
//! twice is harmless and a half-made IAM user from an interrupted mint is finished off.
//! STS credentials cannot be deleted: they are reported as expiring on their own,
//! unless `--hard` cuts off every older session of an assumed role.

use aws_sdk_iam::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use std::time::Duration;

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::ledger::{Claim, IamUser, Lease, Resources, Store};

/// The inline policy `--hard` puts on a role; one per role, its date moved forward.
pub const HARD_REVOKE_POLICY: &str = "vaultless-revoke-older-sessions";

/// What revoking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Revoked,
    /// Nothing was left in AWS.
    AlreadyGone,
    /// STS credentials: they stop working at their expiry.
    ExpiresOnly,
}

fn gone<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("NoSuchEntity")
}

/// Runs one IAM call; `Ok(false)` when the thing was already gone.
async fn step<T, E, F>(what: &str, call: F) -> Result<bool>
where
    F: std::future::Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match call.await {
        Ok(_) => Ok(true),
        Err(e) if gone(&e) => Ok(false),
        Err(e) => Err(crate::aws::sdk_error(what, &e)),
    }
}

/// What hangs off an IAM user and must go before the user can be deleted.
struct Attached {
    keys: Vec<String>,
    inline: Vec<String>,
    arns: Vec<String>,
    groups: Vec<String>,
}

/// Removes everything in `a` from the user; true when anything was still there.
async fn detach(iam: &Client, user: &str, a: &Attached) -> Result<bool> {
    let mut did = false;
    for key in &a.keys {
        did |= step(
            "deleting an access key",
            iam.delete_access_key()
                .user_name(user)
                .access_key_id(key)
                .send(),
        )
        .await?;
    }
    for name in &a.inline {
        did |= step(
            "deleting an inline policy",
            iam.delete_user_policy()
                .user_name(user)
                .policy_name(name)
                .send(),
        )
        .await?;
    }
    for arn in &a.arns {
        did |= step(
            "detaching a policy",
            iam.detach_user_policy()
                .user_name(user)
                .policy_arn(arn)
                .send(),
        )
        .await?;
    }
    for group in &a.groups {
        did |= step(
            "leaving a group",
            iam.remove_user_from_group()
                .user_name(user)
                .group_name(group)
                .send(),
        )
        .await?;
    }
    Ok(did)
}

/// Lists what the user has; `None` when the user is gone.
async fn listed(iam: &Client, user: &str) -> Result<Option<Attached>> {
    let keys = match iam.list_access_keys().user_name(user).send().await {
        Ok(k) => k
            .access_key_metadata
            .iter()
            .filter_map(|k| k.access_key_id().map(str::to_string))
            .collect(),
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err(crate::aws::sdk_error("listing access keys", &e)),
    };
    let arns = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .map_err(|e| crate::aws::sdk_error("listing attached policies", &e))?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    let inline = iam
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .map_err(|e| crate::aws::sdk_error("listing inline policies", &e))?
        .policy_names()
        .to_vec();
    let groups = iam
        .list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| crate::aws::sdk_error("listing groups", &e))?
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect();
    Ok(Some(Attached {
        keys,
        inline,
        arns,
        groups,
    }))
}

pub struct Revoker {
    pub iam: Option<Client>,
    pub hard: bool,
}

impl Revoker {
    fn iam(&self) -> Result<&Client> {
        self.iam
            .as_ref()
            .ok_or_else(|| Error::internal("revocation needs IAM but no client was set up"))
    }

    /// Revokes what `lease` created; `now` is for `--hard`.
    pub async fn revoke(&self, lease: &Lease, now: Timestamp) -> Result<Outcome> {
        match &lease.resources {
            Resources::IamUser(user) => self.delete_user(user).await,
            Resources::AssumedRole { role_arn, .. } if self.hard => {
                self.cut_off_sessions(role_arn, now).await
            }
            _ => Ok(Outcome::ExpiresOnly),
        }
    }

    async fn delete_user(&self, u: &IamUser) -> Result<Outcome> {
        let user = u.user_name.as_str();
        let iam = self.iam()?;
        // Fast path: remove exactly what the mint recorded it made.
        let recorded = Attached {
            keys: u.access_key_id.iter().cloned().collect(),
            inline: u.inline_policies.clone(),
            arns: u.policy_arns.clone(),
            groups: u.groups.clone(),
        };
        let did = detach(iam, user, &recorded).await?;
        match iam.delete_user().user_name(user).send().await {
            Ok(_) => return Ok(Outcome::Revoked),
            Err(e) if gone(&e) => {
                return Ok(if did {
                    Outcome::Revoked
                } else {
                    Outcome::AlreadyGone
                });
            }
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("DeleteConflict") => {}
            Err(e) => {
                return Err(crate::aws::sdk_error(
                    &format!("deleting IAM user {user}"),
                    &e,
                ));
            }
        }
        // Something is still attached (an interrupted mint recorded less than it made):
        // list what the user has and remove it all.
        if let Some(found) = listed(iam, user).await? {
            detach(iam, user, &found).await?;
        }
        match iam.delete_user().user_name(user).send().await {
            Ok(_) => Ok(Outcome::Revoked),
            Err(e) if gone(&e) => Ok(Outcome::Revoked),
            Err(e) => Err(crate::aws::sdk_error(
                &format!("deleting IAM user {user}"),
                &e,
            )),
        }
    }

    /// Denies every session of the role issued before `now` (an inline policy on the
    /// role, the one AWS documents for revoking role sessions).
    async fn cut_off_sessions(&self, arn: &str, now: Timestamp) -> Result<Outcome> {
        let role = arn.rsplit('/').next().unwrap_or(arn);
        // Rounded up to the next whole second, so a session issued earlier in this
        // second is cut off too.
        let cutoff =
            crate::time::format(Timestamp::from_second(now.as_second() + 1).unwrap_or(now));
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}
            }]
        });
        self.iam()?
            .put_role_policy()
            .role_name(role)
            .policy_name(HARD_REVOKE_POLICY)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(|e| {
                crate::aws::sdk_error(&format!("putting {HARD_REVOKE_POLICY} on role {role}"), &e)
            })?;
        Ok(Outcome::Revoked)
    }
}

/// An IAM client for revocation, from a loaded SDK config.
pub fn iam_client(config: &aws_config::SdkConfig) -> Client {
    Client::new(config)
}

/// How long a claim holds before another sweeper may take the lease over.
pub const CLAIM_HOLD: Duration = Duration::from_secs(300);

/// How revoking one lease ended.
#[derive(Debug)]
pub enum Finished {
    /// This process claimed, revoked and recorded it.
    Done(Outcome, Box<Lease>),
    /// It was revoked before this process got to it.
    AlreadyRevoked,
    /// Another process holds it (after waiting `busy_wait`, if any).
    Busy,
    /// The store does not know it.
    Unknown,
}

/// The one claim → revoke → finish protocol, for sweeps and for a mint taking back
/// what it could not hand over. The claim is atomic in the store, so no two processes
/// revoke one lease; a revocation error is recorded (`failed`, for the next sweep)
/// and returned. With `busy_wait`, a lease another process holds is waited for.
pub async fn revoke_lease(
    store: &dyn Store,
    revoker: &Revoker,
    id: &str,
    owner: &str,
    busy_wait: Option<Duration>,
) -> Result<Finished> {
    let started = std::time::Instant::now();
    let lease = loop {
        match store.claim(id, owner, Timestamp::now(), CLAIM_HOLD).await? {
            Claim::Claimed(lease) => break lease,
            Claim::AlreadyRevoked(_) => return Ok(Finished::AlreadyRevoked),
            Claim::Unknown => return Ok(Finished::Unknown),
            Claim::Busy => match busy_wait {
                Some(wait) if started.elapsed() < wait => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => return Ok(Finished::Busy),
            },
        }
    };
    // One attempt: the SDK's retry policy (crate::aws) already retries throttling
    // and 5xx with backoff; what still fails is recorded for the next sweep.
    let outcome = revoker.revoke(&lease, Timestamp::now()).await;
    let error = outcome.as_ref().err().map(|e| e.to_string());
    store.finish(id, owner, error.as_deref()).await?;
    outcome.map(|o| Finished::Done(o, Box::new(lease)))
}
