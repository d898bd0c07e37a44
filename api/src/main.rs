//! The `shebao` binary. See `shebao --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    shebao_api::cli::main()
}
