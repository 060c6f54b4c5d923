//! mint-creds: mint short-lived AWS credentials under a lease recorded in a ledger.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<mint_creds::cli::Cli>();
    common::cli::finish("mint-creds", mint_creds::run(cli))
}
