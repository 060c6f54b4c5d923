//! fetch-secret: read AWS Secrets Manager secrets, for a workload or a verified caller.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<fetch_secret::cli::Cli>(fetch_secret::cli::MANUAL);
    common::cli::finish("fetch-secret", fetch_secret::run(cli))
}
