//! The `herald` binary: parse the command line and hand over to `server::cli`.

/// mimalloc rather than glibc's malloc, which took about a sixth of Herald's CPU under
/// publish load (many small, short-lived buffers freed on other threads).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    herald::server::cli::run().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is built with the `ssr` feature; the browser build only uses the library.
}
