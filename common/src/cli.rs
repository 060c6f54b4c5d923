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
