//! The prototype grid: the `n` most confident members of every cluster (ties: the lower
//! dataset index), chosen while images stream past. An image is kept only while it is among
//! its cluster's best `n`, or while its probabilities have not arrived yet — so memory holds
//! C·n images plus the lag between the two streams, never the whole data set.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::collect::Collected;
use super::error::EvaluateError;
use crate::data::ImageBatch;
use crate::report::{write_grid_png, ReportWriteError, BACKGROUND};

/// Pixels between the images of the grid.
const PAD: u32 = 2;

/// One image kept for the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its confidence (largest cluster probability).
    pub confidence: f32,
    /// Its dataset index.
    pub index: u64,
    /// Its RGB8 pixels.
    pub pixels: Vec<u8>,
}

impl Member {
    /// True when `self` ranks before `other`: more confident, or as confident with a lower index.
    fn beats(&self, other: &Member) -> bool {
        self.confidence > other.confidence
            || (self.confidence == other.confidence && self.index < other.index)
    }
}

/// The best members of every cluster, as images arrive.
#[derive(Debug)]
pub struct Prototypes {
    per_cluster: usize,
    size: Option<(u32, u32)>,
    best: Vec<Vec<Member>>,
    pending: HashMap<u64, Vec<u8>>,
    seen: HashSet<u64>,
    received: usize,
    classes: Arc<[String]>,
}

impl Prototypes {
    /// Keeps the `per_cluster` best members of each cluster.
    pub fn new(per_cluster: usize) -> Self {
        Prototypes {
            per_cluster,
            size: None,
            best: Vec::new(),
            pending: HashMap::new(),
            seen: HashSet::new(),
            received: 0,
            classes: Arc::from(Vec::new()),
        }
    }

    /// Images received so far (repeats included).
    pub fn received(&self) -> usize {
        self.received
    }

    /// Class names, from the first batch that had them (empty when none did).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Takes the images of `batch`: ranked at once when their probabilities are in
    /// `collected`, else held until they arrive (or dropped when `closed`: no more will).
    pub fn offer(
        &mut self,
        batch: &ImageBatch,
        collected: &Collected,
        closed: bool,
    ) -> Result<(), EvaluateError> {
        self.check_size(batch)?;
        if self.classes.is_empty() {
            self.classes = Arc::clone(&batch.classes);
        }
        self.received += batch.len();
        for (i, &index) in batch.indices.iter().enumerate() {
            if !self.seen.insert(index) {
                continue;
            }
            match collected.get(index) {
                Some((cluster, confidence)) => {
                    self.rank(cluster, confidence, index, batch.image(i));
                }
                None if !closed => {
                    self.pending.insert(index, batch.image(i).to_vec());
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Ranks the held images among `indices`, whose probabilities just arrived.
    pub fn settle(&mut self, indices: &[u64], collected: &Collected) {
        for index in indices {
            if let Some(pixels) = self.pending.remove(index) {
                if let Some((cluster, confidence)) = collected.get(*index) {
                    self.rank(cluster, confidence, *index, &pixels);
                }
            }
        }
    }

    /// Forgets the held images (no more probabilities will come).
    pub fn close(&mut self) {
        self.pending.clear();
    }

    /// Each cluster's members, best first, for `clusters` clusters.
    pub fn members(&self, clusters: usize) -> Vec<Vec<&Member>> {
        (0..clusters)
            .map(|c| {
                let mut row: Vec<&Member> =
                    self.best.get(c).map_or(Vec::new(), |b| b.iter().collect());
                row.sort_by(|a, b| {
                    b.confidence
                        .total_cmp(&a.confidence)
                        .then(a.index.cmp(&b.index))
                });
                row
            })
            .collect()
    }

    /// Writes the grid, one row per cluster (cluster 0 on top), best member first; missing
    /// members (and empty clusters) leave background cells. `false` when no image was kept.
    pub fn write_png(
        &self,
        path: &Path,
        clusters: usize,
        scale: u32,
    ) -> Result<bool, ReportWriteError> {
        let Some((width, height)) = self.size else {
            return Ok(false);
        };
        let blank = BACKGROUND.repeat(width as usize * height as usize);
        let mut tiles: Vec<&[u8]> = Vec::with_capacity(clusters * self.per_cluster);
        for row in self.members(clusters) {
            tiles.extend(row.iter().map(|m| m.pixels.as_slice()));
            tiles.extend((row.len()..self.per_cluster).map(|_| blank.as_slice()));
        }
        let columns = self.per_cluster as u32;
        write_grid_png(path, &tiles, width, height, columns, PAD, scale).map_err(|source| {
            ReportWriteError {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(true)
    }

    /// Puts an image among its cluster's best if it beats the worst kept one.
    fn rank(&mut self, cluster: u32, confidence: f32, index: u64, pixels: &[u8]) {
        let cluster = cluster as usize;
        if self.best.len() <= cluster {
            self.best.resize_with(cluster + 1, Vec::new);
        }
        let best = &mut self.best[cluster];
        let candidate = Member {
            confidence,
            index,
            pixels: Vec::new(),
        };
        if best.len() < self.per_cluster {
            best.push(Member {
                pixels: pixels.to_vec(),
                ..candidate
            });
            return;
        }
        let worst = (0..best.len()).reduce(|w, k| if best[w].beats(&best[k]) { k } else { w });
        if let Some(w) = worst.filter(|&w| candidate.beats(&best[w])) {
            best[w] = Member {
                pixels: pixels.to_vec(),
                ..candidate
            };
        }
    }

    /// Every image must be RGB8 of the first one's size.
    fn check_size(&mut self, batch: &ImageBatch) -> Result<(), EvaluateError> {
        let expected = self.size.unwrap_or((batch.width, batch.height));
        let found = (batch.width, batch.height, batch.channels);
        if batch.is_empty() || found == (expected.0, expected.1, 3) {
            self.size = self.size.or((!batch.is_empty()).then_some(expected));
            return Ok(());
        }
        Err(EvaluateError::ImageSize {
            index: batch.indices[0],
            expected: (expected.0, expected.1, 3),
            found,
        })
    }
}
