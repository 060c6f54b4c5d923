//! Man pages: clap_mangen renders NAME, SYNOPSIS, DESCRIPTION and OPTIONS from each
//! tool's clap definition; the sections clap knows nothing of (exit status,
//! environment, files, examples) are added here.

use clap::CommandFactory;
use roff::{Roff, bold, roman};

/// Paragraphs of plain text; a paragraph starting with `$ ` is a command shown as
/// typed, one starting with `| ` a block of literal lines (a unit file, say).
struct Section {
    title: &'static str,
    body: &'static [&'static str],
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "done"),
    ("1", "the thing asked for does not exist"),
    ("64", "usage error: fix the call"),
    ("65", "bad input document: fix the input"),
    ("69", "AWS unreachable, or 5xx after retries: retry later"),
    ("70", "internal error (a bug): report it"),
    ("75", "throttled or timed out: retry later"),
    (
        "77",
        "denied: proof refused, not granted, no credentials, AccessDenied: stop",
    ),
    ("78", "bad config: fix the config"),
];

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_CONFIG_HOME/vaultless/config.toml",
        "the config file when neither --config nor VAULTLESS_CONFIG names one (~/.config when XDG_CONFIG_HOME is unset)",
    ),
    (
        "/etc/vaultless/config.toml",
        "the config file when none of the above exists",
    ),
];

const SIGN_LOGIN: &[Section] = &[
    Section {
        title: "ENVIRONMENT",
        body: &[
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_EC2_METADATA_DISABLED: the standard AWS credential chain.",
            "AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL: sign for this endpoint instead of the real STS (tests, private endpoints).",
            "VAULTLESS_SERVER_ID: the default for --server-id. VAULTLESS_CONFIG: the default for --config.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Log in to a verify-login broker over ssh and get a database password:",
            "$ sign-login --server-id broker.example.com --request secret_id=ci/db | ssh broker vaultless-login",
            "Log in to HashiCorp Vault's aws auth method, no Vault client needed:",
            "$ sign-login --server-id vault.example.com --role ci | curl -sf --data @- \"$VAULT_ADDR/v1/auth/aws/login\" | jq -r .auth.client_token",
            "A kubeconfig exec plugin for an EKS cluster (what aws eks get-token prints):",
            "$ sign-login --format eks --cluster prod --region eu-west-1",
            "An Akeyless cloud_id:",
            "$ sign-login --format akeyless | jq -r .cloud_id",
            "Check a proof locally against a broker's config:",
            "$ sign-login --server-id broker.example.com --role ci | verify-login --config /etc/vaultless/config.toml",
        ],
    },
];

const VERIFY_LOGIN: &[Section] = &[
    Section {
        title: "CONFIG",
        body: &[
            "[login] server_id = \"broker.example.com\": proofs must carry this X-Vault-AWS-IAM-Server-ID, signed. Required unless require_server_id = false is written out. For EKS tokens it is the cluster ID their x-k8s-aws-id must carry.",
            "[login] max_skew = \"5m\": X-Amz-Date must be within this of now; at most 15m.",
            "[login] sts_endpoint = \"https://sts.us-east-1.amazonaws.com\": send every proof here, with Host kept as signed. Otherwise each proof goes to the real STS endpoint it names. http only for loopback addresses.",
            "[login] allowed_sts_hosts = []: authorities accepted in proof URLs beyond the real STS endpoints, each \"host\" or \"host:port\" (\"[::1]:8080\" for IPv6). A bare host admits only the scheme's default port (443, or 80 for http); any other port must be listed with it, so allowlisting a loopback host does not open its every service. The rule holds with sts_endpoint set too. http is accepted for listed loopback authorities only.",
            "[login] timeout = \"10s\": total time for one STS call, retries included.",
            "[login] single_use = true (the default): a proof verifies once. After STS and the bindings accept it, the SHA-256 of its signature is recorded in the state store ([ledger]) until its X-Amz-Date + max_skew; a proof already recorded is refused with 77 (already used), so a proof intercepted in transit or logged by a proxy cannot be replayed. With the SQLite store that holds on one host; brokers behind a load balancer share a DynamoDB table. EKS tokens are exempt (kubectl reuses one for up to 15 minutes). Write single_use = false to turn it off. sign-login signs a random X-Vaultless-Nonce header, so two logins in one second are two proofs; other clients (hvac, the vault CLI) sign alike within one second, and the second of two such logins is refused.",
            "[ledger] backend = \"sqlite\" (the default: path, default $XDG_STATE_HOME/vaultless/leases.db, for one host) or \"dynamodb\" (table, default vaultless, shared by every broker host; created on first use with on-demand billing, its two indexes and TTL; a caller that may not create it gets exit 78 and the aws dynamodb create-table command). pending_grace (default 5m): a pending lease older than this is an interrupted mint. retain (default 30d): how long revoked leases stay for audit before they are pruned (SQLite) or expire by TTL (DynamoDB). The DynamoDB client takes the standard AWS settings, AWS_ENDPOINT_URL_DYNAMODB among them.",
            "[roles.NAME] bound_account_ids, bound_principal_arns (exact, or * globs on the full ARN), bound_role_names, bound_user_ids: every non-empty list must match (AND across lists, any item within one). A role must bind by account, ARN or unique id. A proof names its role with \"role\"; without one the principal's name is used.",
        ],
    },
    Section {
        title: "ENVIRONMENT",
        body: &[
            "VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the SQLite state store lives by default. AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB and the standard AWS settings, for a DynamoDB state store.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Verify one proof; the identity document goes to stdout:",
            "$ sign-login --server-id broker.example.com | verify-login",
            "A broker behind ssh (ForceCommand verify-login in sshd_config) handing a verified caller one secret:",
            "$ verify-login | fetch-secret",
            "Verify a batch, 16 at a time, keeping only the accepted ARNs:",
            "$ verify-login --jobs 16 < proofs.ndjson | jq -r 'select(.identity) | .identity.arn'",
            "Check a config against the emulator in tests (sts_endpoint = \"http://127.0.0.1:5000\"):",
            "$ sign-login --server-id broker.test | verify-login --config test.toml -v",
        ],
    },
];

const FETCH_SECRET: &[Section] = &[
    Section {
        title: "OUTPUT",
        body: &[
            "json: one document per secret: name, arn, version_id, version_stages, created_date, and secret_string or secret_binary (base64). Behind verify-login the caller's identity, role, verified_at and request travel along. Several secrets, or several callers, give one line each, in order; one that fails gets {\"error\": {\"code\", \"message\"}} in its place.",
            "raw: the string, or the binary bytes, exactly; a newline is added after a string only when stdout is a terminal.",
            "env: export NAME='value' lines, single-quoted so that eval \"$(fetch-secret ...)\" is safe. dotenv: NAME='value' lines, double-quoted with escapes when the value holds a quote or a newline.",
            "Each top-level key of a JSON secret becomes a variable, upper-cased with other characters turned to _ (db-password becomes DB_PASSWORD), after --env-prefix. A plain-string secret needs --env NAME; a binary one cannot be a variable.",
            "When stdout is a terminal and a value is about to be shown, a one-line notice goes to stderr. Values never appear on stderr, in -v logs, in error messages (a missing --field lists key names only), or in an --exec child's argv.",
        ],
    },
    Section {
        title: "BROKER",
        body: &[
            "fetch-secret reads verified identities (verify-login's output, one per line) from stdin when --identity - is given, when the config sets [broker] require_identity = true, or when no SECRET_ID is given. For each caller it looks up [roles.ROLE] of the caller's login role and fetches the SECRET_IDs given, or else the request.secret_id of the caller's proof, only if they match the role's secrets patterns (names or ARNs, * globs; a pattern on a name also matches that secret's ARN). Anything else is refused with 77; one refusal does not stop the other callers.",
            "With require_identity set, a missing or refused identity is a refusal: a broker never falls back to its own AWS powers.",
        ],
    },
    Section {
        title: "ENVIRONMENT",
        body: &[
            "VAULTLESS_SECRET_ID: the secret when none is given as an argument (for service units). VAULTLESS_CONFIG: the default for --config.",
            "AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SECRETS_MANAGER and the rest of the standard AWS settings.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "The whole secret document, and one field of it:",
            "$ fetch-secret prod/db",
            "$ fetch-secret prod/db --field password",
            "Into the shell, and into a dotenv file for docker compose:",
            "$ eval \"$(fetch-secret prod/db --output env --env-prefix DB_)\"",
            "$ fetch-secret prod/app --output dotenv > .env",
            "A certificate stored as a binary secret:",
            "$ fetch-secret prod/tls-key --output raw > key.pem",
            "Run a command with the secret in its environment only (stdin stays the command's):",
            "$ fetch-secret prod/db --exec -- psql \"host=db.internal user=app\" < dump.sql",
            "Several secrets at once, as NDJSON:",
            "$ fetch-secret ci/db ci/api-key ci/signing-key",
            "A broker: the caller's proof names the secret, the broker's config grants it:",
            "$ sign-login --server-id broker.example.com --role ci --request secret_id=ci/db | ssh broker",
            "$ verify-login | fetch-secret     # on the broker, as the ssh ForceCommand",
            "A systemd unit that gets its environment from Secrets Manager at start-up, nothing on disk but a tmpfs file:",
            "| [Service]\nRuntimeDirectory=app\nExecStartPre=/bin/sh -c 'umask 077; fetch-secret prod/app --output dotenv > /run/app/env'\nEnvironmentFile=/run/app/env",
        ],
    },
];

const MINT_CREDS: &[Section] = &[
    Section {
        title: "CONFIG",
        body: &[
            "[creds.NAME] type = \"assumed_role\" | \"federation_token\" | \"session_token\" | \"iam_user\".",
            "assumed_role: role_arn (or role_arns, chosen with --role-arn), policy_document and policy_arns (a session policy), session_tags, external_id. The session is named vaultless-CALLER-RANDOM; behind verify-login SourceIdentity is the caller's principal name, so CloudTrail shows who was behind the session.",
            "federation_token: policy_document or policy_arns, required: without one the token would carry the minting identity's own permissions.",
            "session_token: mfa_serial_number, with --mfa-code.",
            "iam_user: a user vaultless-PROFILE-RANDOM made for this lease alone, with user_path, permissions_boundary_arn, the inline policy_document, the managed policy_arns and the iam_groups, tagged with the lease id; revoke-lease deletes it.",
            "default_ttl (else 15m, or 1h with --output credential-process: the AWS SDKs and CLI run a credential_process again whenever its credentials expire within 15 minutes, so shorter leases would be minted anew on every use) and max_ttl. STS types live at least 15m (AWS's minimum); an iam_user lease lives any time from 1s.",
            "[ledger] backend = \"sqlite\" (the default: path, default $XDG_STATE_HOME/vaultless/leases.db, for one host) or \"dynamodb\" (table, default vaultless, shared by every broker host; created on first use with on-demand billing, its two indexes and TTL; a caller that may not create it gets exit 78 and the aws dynamodb create-table command). pending_grace (default 5m): a pending lease older than this is an interrupted mint. retain (default 30d): how long revoked leases stay for audit before they are pruned (SQLite) or expire by TTL (DynamoDB). The DynamoDB client takes the standard AWS settings, AWS_ENDPOINT_URL_DYNAMODB among them.",
        ],
    },
    Section {
        title: "LEASES",
        body: &[
            "Before its first AWS call mint-creds writes a pending row to the ledger, naming what it is about to create; it marks the row active once the credentials exist. A mint killed half-way leaves a pending row that revoke-lease --expired rolls back once it is older than pending_grace. If the credentials cannot be written (a closed pipe), they are revoked at once and mint-creds exits 75. No secret is ever written to the ledger.",
        ],
    },
    Section {
        title: "ENVIRONMENT",
        body: &[
            "AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM and the rest of the standard AWS settings, for the minting identity. VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the ledger lives by default.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "The AWS CLI and SDKs use mint-creds as a credential source (in ~/.aws/config):",
            "| [profile deploy]\ncredential_process = /usr/local/bin/mint-creds deployer --output credential-process",
            "$ aws s3 ls --profile deploy",
            "Run one command with its own credentials, revoked when it ends:",
            "$ mint-creds tmpuser --ttl 10m --exec --revoke-on-exit -- terraform apply",
            "Into the shell:",
            "$ eval \"$(mint-creds deployer --output env)\"",
            "A broker minting for verified callers, the caller naming the profile in its proof:",
            "$ sign-login --server-id broker.example.com --role ci --request creds=deployer | ssh broker",
            "$ verify-login | mint-creds     # on the broker",
        ],
    },
];

const REVOKE_LEASE: &[Section] = &[
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
        title: "ENVIRONMENT",
        body: &[
            "The standard AWS settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_DYNAMODB, ...), for the identity that deletes IAM users and reads the state store. VAULTLESS_CONFIG: the default for --config. XDG_STATE_HOME: where the SQLite ledger lives by default.",
        ],
    },
    Section {
        title: "EXAMPLES",
        body: &[
            "Sweep expired leases every minute from cron (scripts/cron/ has a crontab line and a systemd timer):",
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

fn render_sections(roff: &mut Roff, sections: &[Section]) {
    for s in sections {
        roff.control("SH", [s.title]);
        for para in s.body {
            let literal = if para.starts_with("$ ") {
                Some(*para)
            } else {
                para.strip_prefix("| ")
            };
            if let Some(text) = literal {
                roff.control("PP", [])
                    .control("RS", ["4"])
                    .control("nf", []);
                for line in text.lines() {
                    roff.text([roman(line)]);
                }
                roff.control("fi", []).control("RE", []);
            } else {
                roff.control("PP", []).text([roman(*para)]);
            }
        }
    }
}

fn page(cmd: clap::Command, extra: &[Section]) -> String {
    let man = clap_mangen::Man::new(cmd)
        .manual("vaultless")
        .source("vaultless");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", [])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["FILES"]);
    for (file, meaning) in FILES {
        roff.control("TP", [])
            .text([bold(*file)])
            .text([roman(*meaning)]);
    }
    render_sections(&mut roff, extra);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "sign-login(1), verify-login(1), fetch-secret(1), mint-creds(1), revoke-lease(1)",
    )]);
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Every tool's man page: (name, roff text).
pub fn pages() -> Vec<(String, String)> {
    let tools: [(&str, clap::Command, &[Section]); 5] = [
        ("sign-login", sign_login::cli::Cli::command(), SIGN_LOGIN),
        (
            "verify-login",
            verify_login::cli::Cli::command(),
            VERIFY_LOGIN,
        ),
        (
            "fetch-secret",
            fetch_secret::cli::Cli::command(),
            FETCH_SECRET,
        ),
        ("mint-creds", mint_creds::cli::Cli::command(), MINT_CREDS),
        (
            "revoke-lease",
            revoke_lease::cli::Cli::command(),
            REVOKE_LEASE,
        ),
    ];
    tools
        .into_iter()
        .map(|(name, cmd, extra)| (name.to_string(), page(cmd, extra)))
        .collect()
}
