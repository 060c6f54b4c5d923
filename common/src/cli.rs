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

/// Prints a `-v` log line on stderr.
pub fn log(enabled: bool, tool: &str, text: std::fmt::Arguments<'_>) {
    if enabled {
        crate::output::stderr(&format!("{tool}: {text}\n"));
    }
}

/// Parses the command line like `T::parse()`, but with DESIGN's exit codes: a usage
/// error exits 64 (clap's own default is 2), `--help` and `--version` exit 0.
pub fn parse<T: clap::Parser>() -> T {
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
