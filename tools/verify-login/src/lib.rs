//! verify-login: reads login proofs on stdin, refuses anything that is not exactly a
//! signed sts:GetCallerIdentity for this server, asks STS who signed the rest, and
//! prints each verified identity with the login role it matched.

pub mod answer;
pub mod checks;
pub mod cli;
pub mod identity;
pub mod sts;

use std::sync::Arc;

use anyhow::Context;
use common::config::Loaded;
use common::docs::{AuditCaller, VerifiedIdentity};
use common::ledger::Store;
use common::proof::Format;
use common::{Error, ExitCode, Result};

use crate::checks::Policy;
use crate::cli::Cli;
use crate::sts::Sts;

pub const TOOL: &str = "verify-login";

/// Everything needed to verify proofs, built once per run.
pub struct Verifier {
    policy: Policy,
    sts: Sts,
    loaded: Loaded,
    verbose: bool,
    /// The state store for single-use records, opened on the first proof that needs it.
    store: tokio::sync::OnceCell<Box<dyn Store>>,
}

/// A proof that passed the local checks, ready to send to STS.
pub struct Prepared {
    decoded: common::proof::Decoded,
    outgoing: checks::Outgoing,
    checked_at: jiff::Timestamp,
    /// The single-use name of the proof; `None` when it is exempt (EKS tokens, or
    /// single_use = false).
    hash: Option<String>,
    /// The proof's name in identities and audit lines (the same hash, always).
    proof_hash: String,
}

impl Verifier {
    /// Builds a verifier from the config, refusing configs that would verify unsafely.
    pub fn new(loaded: Loaded, verbose: bool) -> Result<Verifier> {
        let login = &loaded.config.login;
        let origin = loaded.origin();
        let server_id = login.server_id.clone();
        if server_id.is_none() && login.require_server_id != Some(false) {
            return Err(
                Error::config(format!("[login] server_id is not set {origin}")).hint(
                    "set server_id to the name clients sign for (sign-login --server-id), \
or write require_server_id = false to accept proofs meant for any server",
                ),
            );
        }
        let endpoint = login.sts_endpoint.clone();
        let policy = Policy {
            server_id,
            max_skew: login.max_skew(),
            allowed_hosts: login.allowed_sts_hosts.clone(),
        };
        let sts = Sts::new(endpoint, login.timeout());
        Ok(Verifier {
            policy,
            sts,
            loaded,
            verbose,
            store: tokio::sync::OnceCell::new(),
        })
    }

    /// Verifies one proof document, start to end.
    pub async fn verify(&self, index: usize, doc: &[u8]) -> Result<VerifiedIdentity> {
        let prepared = self.prepare(doc)?;
        self.complete(index, prepared).await
    }

    /// Everything checked before a connection is opened.
    pub fn prepare(&self, doc: &[u8]) -> Result<Prepared> {
        if doc.len() > checks::MAX_PROOF_BYTES {
            return Err(Error::bad_input(format!(
                "proof is larger than {} KiB",
                checks::MAX_PROOF_BYTES / 1024
            )));
        }
        let decoded = common::proof::decode(doc)?;
        let checked_at = jiff::Timestamp::now();
        let outgoing = checks::check(&decoded, &self.policy, checked_at)?;
        let proof_hash = common::proof::signature_hash(&outgoing.signature);
        // kubectl reuses one EKS token for up to 15 minutes by design.
        let hash = (self.loaded.config.login.single_use() && decoded.format != Format::Eks)
            .then(|| proof_hash.clone());
        Ok(Prepared {
            decoded,
            outgoing,
            checked_at,
            hash,
            proof_hash,
        })
    }

    /// Sends a prepared proof to STS, matches the login role, and records its single
    /// use: of any number of verifiers sharing the store, one accepts a proof.
    pub async fn complete(&self, index: usize, prepared: Prepared) -> Result<VerifiedIdentity> {
        self.decide(index, prepared).await.1
    }

    /// [`Verifier::complete`], with the caller STS named (and the login role it asked
    /// for) even when the login is then refused, for its audit line.
    async fn decide(&self, index: usize, prepared: Prepared) -> Decision {
        let mut caller = None;
        let result = self.complete_naming(index, prepared, &mut caller).await;
        (caller, result)
    }

    async fn complete_naming(
        &self,
        index: usize,
        prepared: Prepared,
        named: &mut Option<AuditCaller>,
    ) -> Result<VerifiedIdentity> {
        let Prepared {
            decoded,
            outgoing,
            checked_at: now,
            hash,
            proof_hash,
        } = prepared;
        let (scheme, authority) = self.sts.destination(&outgoing);
        common::cli::log(
            self.verbose,
            TOOL,
            format_args!(
                "proof {index}: {} proof for {}, sending to {scheme}://{authority}",
                decoded.format.name(),
                outgoing.host_header
            ),
        );
        let answer = self.sts.send(&outgoing).await?;
        let caller = answer::parse(
            &answer.body,
            answer.content_type.as_deref(),
            outgoing.presigned,
        )?;
        let identity = identity::identity(&caller)?;
        let role_name = decoded
            .role
            .clone()
            .unwrap_or_else(|| identity.principal_name.clone());
        *named = Some(AuditCaller {
            arn: identity.arn.clone(),
            user_id: identity.user_id.clone(),
            role: role_name.clone(),
        });
        let role = self.loaded.config.roles.get(&role_name).ok_or_else(|| {
            Error::denied(format!(
                "{} asked for login role `{role_name}`, which is not configured",
                identity.arn
            ))
            .hint(format!(
                "add [roles.{role_name}] with bound_* lists {}",
                self.loaded.origin()
            ))
        })?;
        identity::check_bindings(&identity, &role_name, role)?;
        if let Some(hash) = &hash {
            self.use_once(hash, &outgoing).await?;
        }
        common::cli::log(
            self.verbose,
            TOOL,
            format_args!(
                "proof {index}: {} verified as role {role_name}",
                identity.arn
            ),
        );
        Ok(VerifiedIdentity {
            identity,
            role: role_name,
            verified_at: common::time::format(now),
            request: decoded.extra,
            proof_hash: Some(proof_hash),
        })
    }
}

/// Splits stdin into proof documents: one JSON document (even pretty-printed), or
/// one per non-empty line.
impl Verifier {
    /// Records the proof as used, refusing it when it already was.
    async fn use_once(&self, hash: &str, outgoing: &checks::Outgoing) -> Result<()> {
        let store = self
            .store
            .get_or_try_init(|| common::ledger::open(&self.loaded.config))
            .await?;
        let skew = jiff::SignedDuration::try_from(self.policy.max_skew)
            .unwrap_or(jiff::SignedDuration::MAX);
        // Past X-Amz-Date + max_skew the proof is refused as stale anyway.
        let until = outgoing
            .signed_at
            .checked_add(skew)
            .unwrap_or(jiff::Timestamp::MAX);
        if store.use_proof(hash, until).await? {
            Ok(())
        } else {
            Err(already_used())
        }
    }
}

/// Writes the audit line of one login decision. An identity whose line could not be
/// written is not handed out: the caller gets the audit error instead.
/// A login decision: the caller STS named, where it got that far, and the outcome.
type Decision = (Option<AuditCaller>, Result<VerifiedIdentity>);

fn audited(
    audit: &common::audit::Audit,
    (named, result): Decision,
    proof_hash: Option<String>,
) -> Result<VerifiedIdentity> {
    if !audit.enabled() {
        return result;
    }
    let mut record = match &result {
        Ok(id) => {
            let mut r = audit.record_of("login", "accepted", ExitCode::Ok);
            r.caller = Some(common::audit::caller(id));
            r
        }
        Err(e) => {
            let (outcome, reason) = common::audit::refusal(e);
            let mut r = audit.record_of("login", outcome, e.code());
            r.reason = reason;
            r.caller = named;
            r
        }
    };
    record.proof_hash = proof_hash;
    match (audit.record(&record), result) {
        (Ok(()), result) => result,
        (Err(e), Ok(_)) => Err(e),
        // A refusal stays a refusal; that its line is missing is said on stderr.
        (Err(e), Err(refused)) => {
            common::error::warn(TOOL, &e.to_string());
            Err(refused)
        }
    }
}

fn already_used() -> Error {
    Error::denied("proof was already used: a proof verifies once")
        .hint("make a fresh proof for every login (sign-login); a replayed proof is refused")
}

fn documents(input: &[u8]) -> Vec<&[u8]> {
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let lines: Vec<&[u8]> = trimmed
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > 1 && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok() {
        return vec![trimmed];
    }
    lines
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = cli.common.load_config()?;
    let audit = common::audit::Audit::open(&loaded.config, TOOL)?;
    let input =
        common::input::read_stdin("proofs on stdin").map_err(|e| audit.refused_run("login", e))?;
    let verifier = Arc::new(Verifier::new(loaded, cli.common.verbose)?);
    let docs = documents(&input);
    if docs.is_empty() {
        let e = Error::bad_input("no proof on stdin")
            .hint("pipe a proof in: sign-login --server-id ID | verify-login");
        return Err(audit.refused_run("login", e).into());
    }
    let batch = docs.len() > 1;
    // Local checks first, in input order, so a proof repeated within the batch is
    // refused on its second line, before anything is sent.
    let mut seen = std::collections::HashSet::new();
    let mut prepared: Vec<Result<Prepared>> = Vec::with_capacity(docs.len());
    let mut hashes: Vec<Option<String>> = Vec::with_capacity(docs.len());
    for doc in &docs {
        let p = verifier.prepare(doc);
        hashes.push(p.as_ref().ok().map(|p| p.proof_hash.clone()));
        prepared.push(p.and_then(|p| match &p.hash {
            Some(h) if !seen.insert(h.clone()) => Err(already_used()),
            _ => Ok(p),
        }));
    }
    // What is left of each proof is in `prepared`; the input can go.
    drop(docs);
    drop(input);

    let runtime = common::runtime::current_thread()?;
    runtime.block_on(async move {
        // At most --jobs verifications in flight, results printed in input order. A
        // task is spawned only when there is room for it: a batch of 100,000 proofs
        // holds 8 tasks, not 100,000.
        enum Slot {
            Ready(usize, Box<Decision>),
            Running(usize, tokio::task::JoinHandle<Decision>),
        }
        let jobs = usize::from(cli.jobs);
        let mut out = common::output::Batch::new(TOOL, "proof", batch);
        let mut window: std::collections::VecDeque<Slot> = std::collections::VecDeque::new();
        let mut running = 0;
        let mut prepared = prepared.into_iter().enumerate().peekable();
        while prepared.peek().is_some() || !window.is_empty() {
            if running < jobs
                && let Some((i, p)) = prepared.next()
            {
                window.push_back(match p {
                    Ok(p) => {
                        running += 1;
                        let verifier = verifier.clone();
                        Slot::Running(
                            i,
                            tokio::spawn(async move { verifier.decide(i + 1, p).await }),
                        )
                    }
                    Err(e) => Slot::Ready(i, Box::new((None, Err(e)))),
                });
                if !matches!(window.front(), Some(Slot::Ready(..))) {
                    continue;
                }
            }
            let (i, result) = match window.pop_front() {
                Some(Slot::Ready(i, r)) => (i, *r),
                Some(Slot::Running(i, task)) => {
                    running -= 1;
                    (i, task.await.context("a verification task failed")?)
                }
                None => continue,
            };
            out.item(audited(&audit, result, hashes[i].clone()))?;
        }
        Ok(out.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split() {
        assert_eq!(documents(b"  \n").len(), 0);
        assert_eq!(documents(b"{\"a\":1}\n").len(), 1);
        assert_eq!(documents(b"{\"a\":1}\n{\"b\":2}\n\n").len(), 2);
        assert_eq!(documents(b"{\n  \"a\": 1\n}\n").len(), 1);
        assert_eq!(documents(b"junk\n{\"b\":2}").len(), 2);
    }
}
