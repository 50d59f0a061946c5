//! The `scanflow` command line. Everything it does is a thin call into the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use scanflow::model::kernels::alloc::{retain_freed_memory, MiMalloc};

/// mimalloc keeps freed memory for reuse: training allocates and frees large buffers every
/// step (see `scanflow::model::kernels::alloc`).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    retain_freed_memory();
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
