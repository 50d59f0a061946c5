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

#[cfg(test)]
mod tests {
    use super::rounds;

    #[test]
    fn every_tile_once_and_blocks_disjoint_within_a_round() {
        for blocks in 1..=9 {
            let rounds = rounds(blocks);
            let mut tiles: Vec<(usize, usize)> = rounds.concat();
            tiles.sort_unstable();
            let all: Vec<(usize, usize)> = (0..blocks)
                .flat_map(|a| (a..blocks).map(move |b| (a, b)))
                .collect();
            assert_eq!(tiles, all, "{blocks} blocks");
            for round in &rounds {
                let mut touched: Vec<usize> = round
                    .iter()
                    .flat_map(|&(a, b)| if a == b { vec![a] } else { vec![a, b] })
                    .collect();
                let count = touched.len();
                touched.sort_unstable();
                touched.dedup();
                assert_eq!(touched.len(), count, "{blocks} blocks: {round:?}");
            }
            // p − 1 rounds of pairs for even p, p for odd p, then the diagonal round.
            assert_eq!(rounds.len(), blocks - 1 + blocks % 2 + 1, "{blocks} blocks");
        }
    }
}
