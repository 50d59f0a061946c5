//! The order in which the tiles (a, b), a ≤ b, of a symmetric all-pairs search are visited:
//! rounds of a round-robin tournament (circle method), so the tiles of one round touch
//! pairwise disjoint blocks and can run in parallel without sharing a top-k list. With p
//! blocks (one bye added when p is odd) there are p − 1 (or p) rounds holding every pair
//! a < b exactly once, then one round of the p diagonal tiles (a, a).

/// Rounds of tiles `(a, b)` with `a ≤ b` covering every pair of the `blocks` blocks once.
pub(crate) fn rounds(blocks: usize) -> Vec<Vec<(usize, usize)>> {
    let players = blocks + blocks % 2;
    let mut rounds: Vec<Vec<(usize, usize)>> = (0..players.saturating_sub(1))
        .map(|round| round_pairs(round, players, blocks))
        .collect();
    rounds.push((0..blocks).map(|a| (a, a)).collect());
    rounds
}

/// Round `round` of the circle method for an even number of `players`: player
/// `players − 1` stays put and meets `round`; the others pair up around the circle.
/// Pairs with the bye (a player ≥ `blocks`) are dropped.
fn round_pairs(round: usize, players: usize, blocks: usize) -> Vec<(usize, usize)> {
    let circle = players - 1;
    let mut pairs = vec![(round, players - 1)];
    for i in 1..players / 2 {
        pairs.push(((round + i) % circle, (round + circle - i) % circle));
    }
    pairs
        .into_iter()
        .filter(|&(a, b)| a < blocks && b < blocks)
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect()
}
