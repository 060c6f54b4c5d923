//! mint-creds: mint short-lived AWS credentials under a lease recorded in a ledger.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<mint_creds::cli::Cli>(mint_creds::cli::MANUAL);
    common::cli::finish("mint-creds", mint_creds::run(cli))
}
