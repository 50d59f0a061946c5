//! Command-line arguments (clap) and their dispatch to the subcommands.

mod describe;
mod run;

mod fetch;

mod metrics;

mod predict;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scanflow::{Diagnostics, Graph, Registry};

/// Exit code of a failed run or an unexpected error.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a graph file with errors.
pub const EXIT_INVALID: u8 = 2;
/// Exit code of a run interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Learn to classify images without labels (SCAN) with a dataflow graph.
#[derive(Parser, Debug)]
#[command(name = "scanflow", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a graph and run it.
    Run(run::RunArgs),
    /// Validate a graph and print it wired (nodes, inputs, payload types, parameters).
    Check(GraphArgs),
    /// List every operator with its parameters, defaults and typed ports.
    Ops,
    /// Print a graph as Graphviz DOT on stdout (`scanflow graph g.ron | dot -Tsvg > g.svg`).
    Graph(GraphArgs),
    /// Download, verify and unpack an official data set (cifar10, cifar100, stl10).
    Fetch(fetch::FetchArgs),
    /// Score cluster assignments against ground-truth labels (ACC, NMI, ARI, top-5, per cluster).
    Metrics(metrics::MetricsArgs),
    /// Assign new images to the clusters a trained node learned; writes a CSV.
    Predict(predict::PredictArgs),
}

/// A graph file and parameter overrides.
#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The graph file (RON).
    graph: PathBuf,
    /// Override a node parameter, e.g. `--set train.batch=64` (value in RON: strings quoted).
    #[arg(long = "set", value_name = "NODE.PARAM=VALUE")]
    overrides: Vec<String>,
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    match cli.command {
        Command::Run(args) => run::run(args, &registry),
        Command::Check(args) => {
            let Some(graph) = load(&args, &registry) else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            print!("{}", graph.describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ops => {
            print!("{}", describe::operators(&registry));
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph(args) => {
            let Some(graph) = load(&args, &registry) else {
                return Ok(ExitCode::from(EXIT_INVALID));
            };
            print!("{}", graph.to_dot());
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch(args) => fetch::run(args),
        Command::Metrics(args) => metrics::run(args),
        Command::Predict(args) => predict::run(args),
    }
}

/// Loads and validates a graph, printing every diagnostic; `None` when it has errors.
fn load(args: &GraphArgs, registry: &Registry) -> Option<Graph> {
    match Graph::from_file(&args.graph, registry, &args.overrides) {
        Ok(graph) => {
            for warning in &graph.warnings {
                eprintln!("{warning}");
            }
            Some(graph)
        }
        Err(diagnostics) => {
            report_invalid(&diagnostics);
            None
        }
    }
}

fn report_invalid(diagnostics: &Diagnostics) {
    eprintln!("{diagnostics}");
}
