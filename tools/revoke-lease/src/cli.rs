//! revoke-lease's command line.

use clap::Parser;
use common::cli::CommonArgs;

#[derive(Debug, Parser)]
#[command(
    name = "revoke-lease",
    version,
    about = "Revoke vaultless leases by id, from lease documents, or by sweeping expired ones",
    long_about = "Revoke what mint-creds created, as recorded in the lease ledger, and print one result per \
lease: {\"lease_id\", \"status\": \"revoked\" | \"already_revoked\" | \"expires_only\" | \"failed\", \"error\"}.\n\n\
Leases are named by id on the command line, read from stdin (lease documents as mint-creds printed them, \
or ids, one per line), or selected with --expired (every active lease past its expiry, and every pending \
row older than [ledger] pending_grace: an interrupted mint) or --prefix.\n\n\
An IAM user is taken apart (access keys, policies, groups) and deleted, each step treating NoSuchEntity as \
done, so revoking twice is harmless and a half-made user is finished off. STS credentials cannot be \
deleted: they are reported as expires_only, unless --hard cuts off the role's older sessions. Failures \
are retried with backoff; a lease still failing is marked failed and retried by the next sweep. Several \
sweepers may run at once: each lease is claimed by one of them."
)]
pub struct Cli {
    /// Lease ids to revoke (- reads ids or lease documents from stdin)
    #[arg(value_name = "LEASE_ID")]
    pub lease_ids: Vec<String>,

    /// Revoke every active lease past its expiry and every interrupted mint
    #[arg(long)]
    pub expired: bool,

    /// Revoke every live lease whose id starts with PREFIX (e.g. creds/tmpuser/)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// Print what would be revoked, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// For assumed_role leases: deny every session of the role issued before now, with
    /// an inline policy on the role (this cuts off other holders of the role too)
    #[arg(long)]
    pub hard: bool,

    /// Revoke up to N leases at once
    #[arg(long, short = 'j', value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    #[command(flatten)]
    pub common: CommonArgs,
}
