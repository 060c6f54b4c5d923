//! revoke-lease: revoke leases by id, from lease documents, or by sweeping expired ones.

fn main() -> std::process::ExitCode {
    let cli = common::cli::parse::<revoke_lease::cli::Cli>(revoke_lease::cli::MANUAL);
    common::cli::finish("revoke-lease", revoke_lease::run(cli))
}
