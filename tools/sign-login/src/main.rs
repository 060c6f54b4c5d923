//! sign-login: print a signed sts:GetCallerIdentity request as a login proof.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<sign_login::cli::Cli>(sign_login::cli::MANUAL);
    common::cli::finish("sign-login", sign_login::run(cli))
}
