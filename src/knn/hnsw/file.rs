//! The saved graph, `hnsw.graph`: the magic `SCANHNSW`, then little-endian u64s N, m,
//! the entry point and the length L of the link array, then N level bytes and L u32 link
//! words (per node and layer a count then its link slots, as [`Graph`] lays them out).
//! Reading checks every field against the others, so a truncated or foreign file is an
//! error, never a bad index into the points.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;

use super::graph::{block_offsets, Graph, MAX_LEVEL};

/// First bytes of the file.
const MAGIC: &[u8; 8] = b"SCANHNSW";
/// Bytes before the levels: the magic and four u64s.
const HEADER: usize = 8 + 4 * 8;

/// Writes `graph` to `path` atomically.
pub(crate) fn write(path: &Path, graph: &Graph) -> std::io::Result<()> {
    crate::fsutil::write_atomic_with(path, |out| {
        out.write_all(MAGIC)?;
        let (entry, _) = graph.entry();
        for value in [graph.len(), graph.m, entry as usize, graph.links.len()] {
            out.write_all(&(value as u64).to_le_bytes())?;
        }
        out.write_all(&graph.levels)?;
        out.flush()?;
        crate::fault::crash_point(crate::fault::INDEX_SAVE);
        for link in &graph.links {
            out.write_all(&link.load(Relaxed).to_le_bytes())?;
        }
        Ok(())
    })
}

/// Reads a graph [`write`] wrote; the message says what is wrong otherwise.
pub(crate) fn read(path: &Path) -> Result<Graph, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a scanflow HNSW graph (bad header)".into());
    }
    let field = |i: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[8 + 8 * i..16 + 8 * i]);
        usize::try_from(u64::from_le_bytes(word)).unwrap_or(usize::MAX)
    };
    let (n, m, entry, len) = (field(0), field(1), field(2), field(3));
    let expected = n
        .checked_add(len.saturating_mul(4))
        .and_then(|body| body.checked_add(HEADER));
    if expected != Some(bytes.len()) || m < 2 || (n > 0 && entry >= n) {
        return Err(format!(
            "header (N {n}, m {m}, entry {entry}, {len} link words) disagrees with the file's {} bytes",
            bytes.len()
        ));
    }
    let levels = bytes[HEADER..HEADER + n].to_vec();
    let links: Vec<u32> = bytes[HEADER + n..]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    check_links(&levels, m, &links)?;
    Ok(Graph::from_parts(m, levels, links, entry as u32))
}

/// Every level within range, the layout's length right, every count within its layer's
/// capacity and every link a node that reaches that layer.
fn check_links(levels: &[u8], m: usize, links: &[u32]) -> Result<(), String> {
    if let Some(level) = levels.iter().find(|&&l| l > MAX_LEVEL) {
        return Err(format!("level {level} is above the maximum {MAX_LEVEL}"));
    }
    let offsets = block_offsets(levels, m);
    if offsets.last() != Some(&links.len()) {
        return Err("the link array does not match the levels".into());
    }
    for (node, &level) in levels.iter().enumerate() {
        let mut slot = offsets[node];
        for layer in 0..=level {
            let cap = if layer == 0 { 2 * m } else { m };
            let count = links[slot] as usize;
            let bad = count > cap
                || links[slot + 1..slot + 1 + count]
                    .iter()
                    .any(|&l| levels.get(l as usize).is_none_or(|&to| to < layer));
            if bad {
                return Err(format!(
                    "node {node}'s layer {layer} links are out of range"
                ));
            }
            slot += cap + 1;
        }
    }
    Ok(())
}
