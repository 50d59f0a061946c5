//! Progress display, driven from the runtime's own counters (operators only announce a
//! total and a status line): indicatif bars on a terminal, plain periodic lines otherwise,
//! nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::stats::NodeStats;

/// How progress is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Always bars.
    Bars,
    /// A line per active node every few seconds.
    Plain,
    /// Nothing.
    Quiet,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub(crate) struct Progress {
    nodes: Vec<(String, Arc<NodeStats>)>,
    bars: Vec<ProgressBar>,
    plain: bool,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode, nodes: Vec<(String, Arc<NodeStats>)>) -> Self {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bars,
            ProgressMode::Auto => ProgressMode::Plain,
            other => other,
        };
        let bars = if mode == ProgressMode::Bars {
            make_bars(&nodes)
        } else {
            Vec::new()
        };
        Progress {
            nodes,
            bars,
            plain: mode == ProgressMode::Plain,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    pub(crate) fn tick(&mut self) {
        for (bar, (_, stats)) in self.bars.iter().zip(&self.nodes) {
            if stats.total() > 0 {
                bar.set_length(stats.total());
            }
            bar.set_position(stats.items_out().max(stats.items_in()));
            bar.set_message(stats.status());
        }
        if self.plain && self.last_line.elapsed() >= PLAIN_EVERY {
            self.last_line = Instant::now();
            self.print_lines();
        }
    }

    fn print_lines(&self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        for (id, stats) in &self.nodes {
            let done = stats.items_out().max(stats.items_in());
            let total = match stats.total() {
                0 => String::new(),
                t => format!("/{t}"),
            };
            eprintln!(
                "[{elapsed:>7.1}s] {id}: {done}{total} items {}",
                stats.status()
            );
        }
    }

    pub(crate) fn finish(&mut self) {
        self.tick();
        for bar in &self.bars {
            bar.finish();
        }
    }
}

fn make_bars(nodes: &[(String, Arc<NodeStats>)]) -> Vec<ProgressBar> {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let style = ProgressStyle::with_template(
        "{prefix:>14} {bar:28} {human_pos:>9}/{human_len:<9} {per_sec:>12} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    nodes
        .iter()
        .map(|(id, _)| {
            let bar = multi.add(ProgressBar::new(0).with_style(style.clone()));
            bar.set_prefix(id.clone());
            bar
        })
        .collect()
}
