//! Flags every tool takes, flattened into each tool's clap definition.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Config file [default: $XDG_CONFIG_HOME/vaultless/config.toml, then /etc/vaultless/config.toml]
    #[arg(long, value_name = "FILE", env = "VAULTLESS_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Log what is being done on stderr (never secrets)
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl CommonArgs {
    /// Loads the config this invocation names (or finds).
    pub fn load_config(&self) -> crate::Result<crate::config::Loaded> {
        crate::config::load(self.config.as_deref())
    }
}

/// This program's name (the file name it was run as), for messages from shared code
/// that does not know which tool it runs in.
pub fn program() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "vaultless".to_string())
}

/// Prints a `-v` log line on stderr.
pub fn log(enabled: bool, tool: &str, text: std::fmt::Arguments<'_>) {
    if enabled {
        crate::output::stderr(&format!("{tool}: {text}\n"));
    }
}

/// Parses the command line like `T::parse()`, but with DESIGN's exit codes: a usage
/// error exits 64 (clap's own default is 2), `--help` and `--version` exit 0. A hidden
/// `--generate man|bash|zsh|fish` prints the man page (with `manual`'s sections) or a
/// shell completion script and exits.
pub fn parse<T: clap::Parser>(manual: &[crate::manual::Section]) -> T {
    let tool = T::command().get_name().to_string();
    let args: Vec<String> = std::env::args().skip(1).take(3).collect();
    if let [flag, kind] = args.as_slice()
        && flag == "--generate"
    {
        let Some(kind) = crate::manual::Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind.as_str())
        else {
            crate::output::stderr(&format!(
                "{tool}: error: --generate takes man, bash, zsh or fish\n"
            ));
            std::process::exit(crate::ExitCode::Usage as i32);
        };
        let text = crate::manual::generate(T::command(), manual, kind);
        if crate::output::raw(text.as_bytes()).is_err() {
            std::process::exit(crate::ExitCode::Unavailable as i32);
        }
        std::process::exit(0);
    }
    // A panic is a bug: say so in the house format and exit 70, not with a backtrace
    // or an abort signal.
    std::panic::set_hook(Box::new(move |info| {
        crate::output::stderr(&format!(
            "{tool}: error: internal error: {info}\n  hint: this is a bug in vaultless; please report it with the command you ran\n"
        ));
        std::process::exit(crate::ExitCode::Internal as i32);
    }));
    match T::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                crate::ExitCode::Usage
            } else {
                crate::ExitCode::Ok
            };
            std::process::exit(code as i32);
        }
    }
}

/// Runs a tool's `run` and turns its result into the process exit code, reporting any
/// error on stderr in the one house format.
pub fn finish(tool: &str, result: anyhow::Result<crate::ExitCode>) -> std::process::ExitCode {
    match result {
        Ok(code) => code.into(),
        Err(e) => crate::error::report(tool, &e).into(),
    }
}

/// The flags of the tools that act either for this workload or, behind verify-login,
/// for verified callers (fetch-secret, mint-creds).
#[derive(Debug, Clone, Args)]
pub struct ActArgs {
    /// Act for the verified caller(s) in this identity document (verify-login's
    /// output): - for stdin, or a file
    #[arg(long, value_name = "-|FILE")]
    pub identity: Option<String>,

    /// Run the command after `--` with the result in its environment instead of
    /// printing it, and exit with the command's status
    #[arg(long, requires = "command")]
    pub exec: bool,

    /// The command for --exec
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

impl ActArgs {
    /// Where verified identities come from (see [`crate::broker::identity_source`]),
    /// refusing `--exec` for callers: a command runs for this workload only. `named`:
    /// the command line names what to act on; `example` shows a correct call.
    pub fn identity_source(
        &self,
        require_identity: bool,
        named: bool,
        example: &str,
    ) -> crate::Result<Option<crate::broker::IdentitySource>> {
        if !self.command.is_empty() && !self.exec {
            return Err(crate::Error::usage("a command after -- needs --exec")
                .hint(format!("{example} --exec -- CMD ARGS...")));
        }
        let source =
            crate::broker::identity_source(self.identity.as_deref(), require_identity, named);
        if self.exec && source.is_some() {
            return Err(crate::Error::usage(
                "--exec runs a command for this workload and cannot act for verified callers",
            )
            .hint(format!(
                "name what to act on, without --identity: {example} --exec -- CMD"
            )));
        }
        Ok(source)
    }
}
