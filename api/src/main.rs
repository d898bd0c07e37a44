//! The `shebao` binary. See `shebao --help`.
#![forbid(unsafe_code)]

/// mimalloc instead of glibc's malloc: a request allocates many small buffers (rows, JSON),
/// and glibc's allocator was a tenth of the server's CPU under load (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shebao_api::cli::main()
}
