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
