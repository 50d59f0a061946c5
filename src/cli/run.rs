//! `scanflow run`: validate, run with progress and Ctrl-C handling, print the end-of-run
//! table, and map the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use scanflow::runtime::{ProgressMode, RunError};
use scanflow::{Registry, RunOptions, RunReport};

use super::{load, GraphArgs, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_INVALID};

/// Arguments of `scanflow run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Parent folder of the run folders (`<runs-dir>/<graph name>/<node>/`).
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,
    /// Ignore cached results and run every node again.
    #[arg(long)]
    fresh: bool,
    /// No progress display and no table (errors are still printed).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the graph; the exit code says how it ended.
pub fn run(args: RunArgs, registry: &Registry) -> anyhow::Result<ExitCode> {
    let Some(graph) = load(&args.graph, registry) else {
        return Ok(ExitCode::from(EXIT_INVALID));
    };
    let options = RunOptions {
        runs_dir: args.runs_dir,
        fresh: args.fresh,
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        ..RunOptions::default()
    };
    install_interrupt_handler(&options);
    match scanflow::run(graph, &options) {
        Ok(report) => {
            if !args.quiet {
                println!("{}", report.table());
                print_summaries(&report);
                println!("figures: {}", report.run_dir.join("metrics.json").display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            if !args.quiet {
                println!("{}", failure.report.table());
            }
            eprintln!("error: {}", failure.error);
            let code = match failure.error {
                RunError::Interrupted => EXIT_INTERRUPTED,
                _ => EXIT_FAILURE,
            };
            Ok(ExitCode::from(code))
        }
    }
}

/// First Ctrl-C cancels the run cleanly; a second one exits at once.
fn install_interrupt_handler(options: &RunOptions) {
    let token = options.cancel.clone();
    let result = ctrlc::set_handler(move || {
        if token.is_cancelled() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("\ninterrupted: stopping every node (Ctrl-C again to exit at once)");
        token.cancel();
    });
    if let Err(e) = result {
        eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}");
    }
}

/// Figures a node may leave in its run folder, listed under its summary when present.
const FIGURES: [&str; 2] = ["prototypes.png", "confusion.png"];

/// Prints the `summary.txt` a node left in its run folder (e.g. `Evaluate`'s score table),
/// then the paths of its figures (the prototype grid and the confusion heat map).
fn print_summaries(report: &RunReport) {
    for node in &report.nodes {
        let dir = report.run_dir.join(&node.id);
        if let Ok(text) = std::fs::read_to_string(dir.join("summary.txt")) {
            println!("{} ({}):\n{text}", node.id, node.operator);
            for figure in FIGURES.iter().map(|f| dir.join(f)).filter(|p| p.is_file()) {
                println!("{}", figure.display());
            }
            println!();
        }
    }
}
