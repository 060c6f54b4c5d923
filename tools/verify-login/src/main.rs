//! verify-login: check login proofs with STS and print verified identities.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<verify_login::cli::Cli>(verify_login::cli::MANUAL);
    common::cli::finish("verify-login", verify_login::run(cli))
}
