//! Neighbour views for SCAN's clustering step: with a neighbour table wired into `Augment`,
//! view 0 of each image is the image itself (the anchor) and views 1.. are augmentations of
//! its neighbours, whose pixels come by random access to the packed store the `Images` node
//! built. `Random(top)` draws each neighbour view uniformly from the anchor's `top` nearest
//! (SCAN); `All` makes view `j` the `j`-th neighbour (the Keras example, `views = 1 + k`).
//!
//! Table rows follow ascending dataset index; the table's `ids` (when the rows are a subset)
//! map row → dataset index, and the store is addressed by dataset index.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{ImageBatch, NeighbourTable, PackedStore};
use crate::hash::StableHasher;
use crate::rng::SplitMix64;
use crate::runtime::OpError;

/// How neighbour views are chosen, as written in RON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pick {
    /// Each neighbour view is one of the anchor's `top` nearest, drawn from
    /// `(node seed, epoch, dataset index, view)`.
    Random {
        /// How many of the nearest neighbours to draw from (SCAN: 20).
        top: usize,
    },
    /// View `j ≥ 1` is neighbour `j − 1`; `views` must be `1 + k`.
    All,
}

impl Default for Pick {
    fn default() -> Self {
        Pick::Random { top: 20 }
    }
}

/// A neighbour table ready to pick from.
pub struct NeighbourViews {
    table: Arc<NeighbourTable>,
    pick: Pick,
}

impl NeighbourViews {
    /// Checks `views` and `pick` against `table`; errors name `node`.
    pub fn new(
        table: Arc<NeighbourTable>,
        pick: Pick,
        views: usize,
        node: &str,
    ) -> Result<Self, OpError> {
        let k = table.k;
        let problem = match pick {
            Pick::All if views != 1 + k => Some(format!(
                "`pick: All` makes one view per neighbour plus the anchor: set `views: {}` for a table of k = {k}",
                1 + k
            )),
            Pick::Random { top } if top == 0 || top > k => Some(format!(
                "`pick: Random(top: {top})` must draw from 1 to the table's k = {k} neighbours"
            )),
            Pick::Random { .. } if views < 2 => {
                Some("neighbour views need `views` ≥ 2 (the anchor and at least one neighbour)".into())
            }
            _ => None,
        };
        if let Some(message) = problem {
            return Err(OpError::Failed(format!("node `{node}`: {message}")));
        }
        Ok(NeighbourViews { table, pick })
    }

    /// Refuses a stream whose images per epoch differ from the table's rows.
    pub fn check_size(&self, batch: &ImageBatch, node: &str) -> Result<(), OpError> {
        let points = self.table.points() as u64;
        if batch.epoch_size == 0 || batch.epoch_size == points {
            return Ok(());
        }
        Err(OpError::Failed(format!(
            "node `{node}`: the neighbour table holds {points} images but the image stream has {} per epoch; mine the neighbours on the same images (same source, split and per_class)",
            batch.epoch_size
        )))
    }

    /// The store index of the image behind view `view ≥ 1` of image `i` of `batch`.
    pub fn source(
        &self,
        batch: &ImageBatch,
        view: usize,
        i: usize,
        seed: u64,
    ) -> Result<usize, OpError> {
        let index = batch.indices[i];
        let row = self.row_of(index)?;
        let neighbours = self.table.neighbours(row);
        let slot = match self.pick {
            Pick::All => view - 1,
            Pick::Random { top } => draw_rng(seed, batch.epoch, index, view).below(top),
        };
        let row = neighbours[slot] as usize;
        if row >= self.table.points() {
            return Err(OpError::Failed(format!(
                "neighbour row {row} of image {index} lies past the table's {} rows",
                self.table.points()
            )));
        }
        Ok(self.table.dataset_index(row) as usize)
    }

    fn row_of(&self, index: u64) -> Result<usize, OpError> {
        self.table.row_of(index).ok_or_else(|| {
            OpError::Failed(format!(
                "image {index} has no row in the neighbour table (mined on other images?)"
            ))
        })
    }
}

/// The generator choosing the neighbour of view `view` of dataset image `index`.
fn draw_rng(seed: u64, epoch: u64, index: u64, view: usize) -> SplitMix64 {
    let mut hasher = StableHasher::default();
    hasher.write_str("neighbour");
    for word in [seed, epoch, index, view as u64] {
        hasher.write(&word.to_le_bytes());
    }
    SplitMix64::new(hasher.finish())
}

/// The store behind `batch`, or an error telling the user to pack one.
pub fn store_of<'a>(batch: &'a ImageBatch, node: &str) -> Result<&'a PackedStore, OpError> {
    batch.store.as_ref().map(|s| s.0.as_ref()).ok_or_else(|| {
        OpError::Failed(format!(
            "node `{node}`: neighbour views read neighbours from the packed image store, but the images come without one; set `store: true` on the Images node"
        ))
    })
}

/// Every view's source store index, view-major: `out[(v − 1)·B + i]` for views `v ≥ 1`.
pub fn sources(
    views: &NeighbourViews,
    batch: &ImageBatch,
    count: usize,
    seed: u64,
    store: &PackedStore,
) -> Result<Vec<usize>, OpError> {
    let n = batch.len();
    let mut out = Vec::with_capacity((count - 1) * n);
    for view in 1..count {
        for i in 0..n {
            let index = views.source(batch, view, i, seed)?;
            if index >= store.len() {
                return Err(OpError::Failed(format!(
                    "neighbour {index} lies past the {} images of the store",
                    store.len()
                )));
            }
            out.push(index);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
