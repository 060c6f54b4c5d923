//! What the tools print about themselves: man pages and shell completions, made from
//! the clap definitions (clap_mangen, clap_complete) plus the sections clap knows
//! nothing of, so the documentation cannot drift from the code. Each tool answers a
//! hidden `--generate man|bash|zsh|fish`; scripts/gen-man writes the results to man/.

use roff::{Roff, bold, roman};

use crate::error::ExitCode;

/// A man page section: paragraphs of plain text; a paragraph starting with `$ ` is a
/// command shown as typed, one starting with `| ` a block of literal lines.
pub struct Section {
    pub title: &'static str,
    pub body: &'static [&'static str],
}

/// The `[audit]` section of every tool that makes a decision a broker answers for.
pub const AUDIT: Section = Section {
    title: "AUDIT",
    body: &[
        "[audit] path = \"/var/log/vaultless/audit.jsonl\" (an absolute path, created 0640) or \"-\" (stderr, which systemd sends to the journal): every decision is appended as one JSON line, whose fields are time (RFC 3339, UTC), tool, host, pid, action (login, read_secret, mint, revoke, sweep), outcome (accepted, granted, reused (a cached credential_process lease), refused, failed, revoked, already_revoked, expires_only; a --dry-run writes no line), exit_code, caller {arn, user_id, role} where the caller is verified, target {secret_id, secret_arn, version_id, lease_id, profile, iam_user, session_name} with the fields that apply, reason (why it was refused or failed) and proof_hash (the SHA-256 of the proof's signature, as single-use records name it). Never a secret value, key, token or proof.",
        "The file is opened once per run with O_APPEND and each line is one write(2): processes sharing it never interleave, and logrotate can rename it between runs (no copytruncate needed). It fails closed: a tool that cannot write its line hands out nothing (exit 69, and a lease minted for that line is revoked at once); revoke-lease still revokes and says the line is missing.",
    ],
};

/// The `[ledger]` paragraph of every tool that uses the state store.
pub const LEDGER: &str = "[ledger] backend = \"sqlite\" (the default: path, default $XDG_STATE_HOME/vaultless/leases.db, for one host) or \"dynamodb\" (table, default vaultless, shared by every broker host; created on first use with on-demand billing, its two indexes and TTL; a caller that may not create it gets exit 78 and the aws dynamodb create-table command). pending_grace (default 5m): a pending lease older than this is an interrupted mint. retain (default 30d): how long revoked leases stay for audit before they are pruned (SQLite) or expire by TTL (DynamoDB). The DynamoDB client takes the standard AWS settings, AWS_ENDPOINT_URL_DYNAMODB among them.";

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

/// The whole man page of a tool, in roff.
pub fn page(cmd: clap::Command, extra: &[Section]) -> String {
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
    for code in ExitCode::ALL {
        roff.control("TP", [])
            .text([bold((code as i32).to_string())])
            .text([roman(code.meaning())]);
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

/// What `--generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Man,
    Bash,
    Zsh,
    Fish,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Man, Kind::Bash, Kind::Zsh, Kind::Fish];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Man => "man",
            Kind::Bash => "bash",
            Kind::Zsh => "zsh",
            Kind::Fish => "fish",
        }
    }

    /// Where the result lives, under man/ in the source tree and under share/ once
    /// installed: `man1/NAME.1`, `bash-completion/completions/NAME`,
    /// `zsh/site-functions/_NAME`, `fish/vendor_completions.d/NAME.fish`.
    pub fn path(self, tool: &str) -> String {
        match self {
            Kind::Man => format!("man1/{tool}.1"),
            Kind::Bash => format!("bash-completion/completions/{tool}"),
            Kind::Zsh => format!("zsh/site-functions/_{tool}"),
            Kind::Fish => format!("fish/vendor_completions.d/{tool}.fish"),
        }
    }
}

/// The man page or a shell's completion script for `cmd`.
pub fn generate(mut cmd: clap::Command, extra: &[Section], kind: Kind) -> String {
    use clap_complete::Shell;
    let shell = match kind {
        Kind::Man => return page(cmd, extra),
        Kind::Bash => Shell::Bash,
        Kind::Zsh => Shell::Zsh,
        Kind::Fish => Shell::Fish,
    };
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    String::from_utf8(out).expect("completions are UTF-8")
}
