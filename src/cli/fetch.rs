//! `scanflow fetch <name>`: download, verify and unpack an official data-set archive, with a
//! byte progress bar on a terminal and one plain line at the end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use scanflow::data::fetch::{self, Archive};

/// Arguments of `scanflow fetch`.
#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The data set: cifar10, cifar100 or stl10.
    name: String,
    /// The folder that receives the archive and its unpacked files.
    #[arg(long, default_value = "data")]
    dir: PathBuf,
    /// Download from this URL instead of the official one (a mirror).
    #[arg(long)]
    url: Option<String>,
}

/// Fetches the archive; errors (exit code 1) say what to do by hand.
pub fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let archive = fetch::lookup(&args.name)?;
    let bar = std::io::stderr().is_terminal().then(progress_bar);
    let mut downloaded = 0;
    let mut progress = |done: u64, total: Option<u64>| {
        downloaded = done;
        if let Some(bar) = &bar {
            bar.set_length(total.unwrap_or(done));
            bar.set_position(done);
        }
    };
    let result = fetch::fetch(archive, &args.dir, args.url.as_deref(), &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let unpacked = result?;
    println!("{}", summary(archive, downloaded, &unpacked));
    Ok(ExitCode::SUCCESS)
}

/// A byte progress bar on stderr.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let template = "{bytes}/{total_bytes} [{bar:40}] {bytes_per_sec}, {eta} left";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The final line: where the data set is, and how much was downloaded.
fn summary(archive: &Archive, downloaded: u64, unpacked: &std::path::Path) -> String {
    let source = match downloaded {
        0 => "already downloaded".to_string(),
        bytes => format!("downloaded {:.1} MB", bytes as f64 / 1e6),
    };
    format!(
        "{}: ready in {} ({source})",
        archive.name,
        unpacked.display()
    )
}
