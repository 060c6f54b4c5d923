//! revoke-lease's command line.

use clap::Parser;
use common::cli::CommonArgs;
use common::manual::Section;

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

/// The man page's sections beyond what clap knows (`TOOL --generate man`).
pub const MANUAL: &[Section] = &[
    Section {
        title: "OUTPUT",
        body: &[
            "One line per lease: {\"lease_id\", \"status\", \"error\", \"expires_at\"}. status is revoked, already_revoked, expires_only (STS credentials, which cannot be deleted: they stop working at expires_at), failed (error says why; the ledger keeps the lease and the next sweep retries it), or would_revoke with --dry-run.",
            "Exit status: 0 when every lease ended revoked, already_revoked or expires_only; 75 or 69 when some failed and may succeed later; 77 on a denial; 1 for an unknown lease id.",
        ],
    },
    Section {
        title: "CONCURRENCY",
        body: &[
            "Each lease is claimed in the state store before it is revoked (an immediate SQLite transaction, or a conditional write to the DynamoDB table), so sweepers running at once, on one host or on many sharing a table, never revoke the same lease twice and never report each other's work as a failure. A claim not finished within 5 minutes (a sweeper that died) is taken over by the next sweep. --expired and --prefix query the table's indexes; they never scan it.",
            "Every AWS call (IAM and DynamoDB) is tried up to 3 times with jittered backoff for throttling and 5xx; a lease still failing is marked failed for the next sweep.",
        ],
    },
    Section {
        title: "STATE STORE",
        body: &[
            "The ledger is [ledger] in the config file, shared by every tool. backend = \"sqlite\" (the default) keeps it in one file, path (default $XDG_STATE_HOME/vaultless/leases.db), for one host. backend = \"dynamodb\" keeps it in one table, table (default vaultless), shared by every broker host: a lease minted on a host that died is swept from any other. The first tool that finds the table missing creates it (on-demand, its two indexes, TTL on expires_ttl); an identity that may not gets exit 78 and the aws dynamodb create-table command to run once. scripts/broker-policy.json (share/doc/vaultless/broker-policy.json) is the least IAM policy a broker needs.",
            "pending_grace (default 5m): a pending row older than this is an interrupted mint, rolled back by --expired. retain (default 30d): revoked leases are kept this long for audit, then expire (DynamoDB's TTL; with SQLite, --expired prunes them, and used-proof records past their expiry).",
        ],
    },
    common::manual::AUDIT,
    Section {
        title: "ENVIRONMENT",
        body: &[
            "The standard AWS settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_DYNAMODB, ...), for the identity that deletes IAM users and reads the state store. VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the SQLite ledger lives by default.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Sweep expired leases every minute from cron (installed beside the docs: share/doc/vaultless/crontab, and the vaultless-sweep.service and .timer systemd units):",
            "| * * * * * vaultless /usr/local/bin/revoke-lease --expired 2>&1 | logger -t revoke-lease",
            "Revoke what a job minted, from its lease document:",
            "$ mint-creds tmpuser > lease.json && ... && revoke-lease < lease.json",
            "See what a sweep would do, then revoke every lease of one profile:",
            "$ revoke-lease --expired --dry-run",
            "$ revoke-lease --prefix creds/tmpuser/",
            "Cut off every session of a role issued before now:",
            "$ revoke-lease --hard creds/deployer/7f3c0a1b2c3d4e5f",
        ],
    },
];
