//! Deadlock detection. Every node records the edge it is blocked on — receiving from an
//! empty channel or sending into a full one — and the supervisor follows "waits for" from
//! node to node. A cycle of nodes that stays blocked, each in the same wait, for [`HOLD`]
//! is a deadlock: none of them can move again, so the run stops with the cycle spelled out
//! instead of hanging. The classic shape is a stream fanned out to two consumers where one
//! holds the stream back until something computed from the other's reading of the whole
//! stream arrives.

use std::time::{Duration, Instant};

use super::stats::EdgeStats;

/// How long a cycle of waits must stay unchanged before the run is stopped.
pub const HOLD: Duration = Duration::from_secs(2);

/// One blocking episode of a node: which edge, which way, and a per-node counter that
/// tells a new episode on the same edge from the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait {
    /// Counts the node's blocking episodes.
    pub episode: u64,
    /// Index of the edge in the run's edge list.
    pub edge: usize,
    /// True when blocked sending into a full channel, false when receiving from an empty one.
    pub sending: bool,
}

impl Wait {
    /// Packs the wait into one word; 0 is reserved for "not blocked".
    pub(crate) fn encode(self) -> u64 {
        (self.episode << 32) | (u64::from(self.sending) << 31) | (self.edge as u64 + 1)
    }

    /// The wait packed by [`Wait::encode`], or `None` for 0.
    pub(crate) fn decode(bits: u64) -> Option<Wait> {
        let edge = bits & 0x7fff_ffff;
        (edge != 0).then(|| Wait {
            episode: bits >> 32,
            edge: edge as usize - 1,
            sending: bits & (1 << 31) != 0,
        })
    }
}

/// A cycle of waits: (node index, its wait), each node waiting for the next.
pub(crate) type Cycle = Vec<(usize, Wait)>;

/// Remembers the cycle seen at the last checks and since when it has held.
#[derive(Default)]
pub(crate) struct Watch {
    seen: Option<(Cycle, Instant)>,
}

impl Watch {
    /// The cycle of waits that has held unchanged for [`HOLD`], if any. `waits[node]` is
    /// each node's current wait; `edges[edge]` the (producer, consumer) node indices.
    pub(crate) fn check(
        &mut self,
        waits: &[Option<Wait>],
        edges: &[(usize, usize)],
    ) -> Option<Cycle> {
        let Some(cycle) = find_cycle(waits, edges) else {
            self.seen = None;
            return None;
        };
        match &self.seen {
            Some((seen, since)) if *seen == cycle => (since.elapsed() >= HOLD).then_some(cycle),
            _ => {
                self.seen = Some((cycle, Instant::now()));
                None
            }
        }
    }
}

/// The first cycle found by following each blocked node to the node it waits for.
fn find_cycle(waits: &[Option<Wait>], edges: &[(usize, usize)]) -> Option<Cycle> {
    for start in 0..waits.len() {
        let mut path: Cycle = Vec::new();
        let mut node = start;
        while let Some(wait) = waits[node] {
            if let Some(at) = path.iter().position(|(n, _)| *n == node) {
                return Some(path.split_off(at));
            }
            path.push((node, wait));
            let (from, to) = edges[wait.edge];
            node = if wait.sending { to } else { from };
        }
    }
    None
}

/// The cycle in words, e.g. "`a` cannot send to `b` (its `input` channel is full), `b`
/// waits for `c` on `model`, `c` waits for `a` on `input`".
pub(crate) fn describe(cycle: &Cycle, edges: &[std::sync::Arc<EdgeStats>]) -> String {
    let steps: Vec<String> = cycle
        .iter()
        .map(|(_, wait)| {
            let edge = &edges[wait.edge];
            match wait.sending {
                true => format!(
                    "`{}` cannot send to `{}` (its `{}` channel is full)",
                    edge.from, edge.to, edge.field
                ),
                false => format!(
                    "`{}` waits for `{}` on `{}`",
                    edge.to, edge.from, edge.field
                ),
            }
        })
        .collect();
    steps.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(episode: u64, edge: usize, sending: bool) -> Option<Wait> {
        Some(Wait {
            episode,
            edge,
            sending,
        })
    }

    #[test]
    fn a_wait_survives_encoding_and_zero_means_not_blocked() {
        let w = wait(7, 12, true).unwrap();
        assert_eq!(Wait::decode(w.encode()), Some(w));
        assert_eq!(Wait::decode(0), None);
    }

    #[test]
    fn a_cycle_of_waits_is_found_and_a_chain_ending_in_a_busy_node_is_not() {
        // Edges: 0 = a→b, 1 = b→c, 2 = a→c.
        let edges = [(0, 1), (1, 2), (0, 2)];
        // a sends to c (full), c waits for b, b waits for a: a cycle.
        let waits = [wait(1, 2, true), wait(1, 0, false), wait(1, 1, false)];
        let cycle = find_cycle(&waits, &edges).expect("a cycle");
        let mut nodes: Vec<usize> = cycle.iter().map(|(n, _)| *n).collect();
        nodes.sort();
        assert_eq!(nodes, [0, 1, 2]);
        // a busy (not blocked): c waits for b waits for a, no cycle.
        let waits = [None, wait(1, 0, false), wait(1, 1, false)];
        assert_eq!(find_cycle(&waits, &edges), None);
    }

    #[test]
    fn a_cycle_counts_only_once_it_has_held_unchanged() {
        let edges = [(0, 1), (1, 0)];
        let mut watch = Watch::default();
        let waits = [wait(1, 0, true), wait(1, 0, false)];
        assert!(watch.check(&waits, &edges).is_none());
        // A new episode is a new cycle: the clock starts again.
        let waits = [wait(2, 0, true), wait(1, 0, false)];
        assert!(watch.check(&waits, &edges).is_none());
        watch.seen.as_mut().unwrap().1 -= HOLD;
        assert!(watch.check(&waits, &edges).is_some());
    }
}
