//! The f32 payloads that flow after decoding: augmented views ([`ViewBatch`]), feature
//! vectors ([`FeatureBatch`]) and a mined neighbour table ([`NeighbourTable`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::DatasetNames;

/// Augmented views of a batch of images, ready for an encoder.
///
/// `data` is laid out `[views][batch][channels][height][width]` (view-major: view `v` of
/// every image is one contiguous NCHW block, so the views stack like SimCLR's `[z_i; z_j]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ViewBatch {
    /// Views per image.
    pub views: usize,
    /// Images in the batch.
    pub batch: usize,
    /// Channels per pixel.
    pub channels: u32,
    /// View height in pixels.
    pub height: u32,
    /// View width in pixels.
    pub width: u32,
    /// The tensor, `views·batch·channels·height·width` values.
    pub data: Vec<f32>,
    /// Dataset index of each image.
    pub indices: Vec<u64>,
    /// Class of each image, when known.
    pub labels: Option<Vec<u32>>,
    /// The epoch the images were drawn in.
    pub epoch: u64,
    /// Images per epoch in the stream (0 when unknown).
    pub epoch_size: u64,
    /// The names of the data set's images and classes, passed on from the image batch.
    pub names: Option<Arc<DatasetNames>>,
    /// The (height, width) of the images every view is the central crop of (an `Eval`
    /// recipe), so new images can be cut the same way; `None` for randomised views.
    pub cropped_from: Option<(u32, u32)>,
    /// The fixed views of an `EvalViews` recipe, whose embeddings are averaged; `None` for
    /// every other recipe.
    pub eval_views: Option<EvalViewSet>,
}

/// How many views an `EvalViews` recipe made per image, and how it scaled the image for its
/// views 2 and 3: carried with the views so that new images can be embedded the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalViewSet {
    /// Views per image (1 to 4).
    pub views: usize,
    /// The `(width, height)` images were scaled to before views 2 and 3.
    pub scaled: (u32, u32),
}

impl ViewBatch {
    /// Values per view (C·H·W).
    pub fn view_len(&self) -> usize {
        (self.channels * self.height * self.width) as usize
    }

    /// View `view` of image `image`, CHW.
    pub fn view(&self, view: usize, image: usize) -> &[f32] {
        let n = self.view_len();
        let start = (view * self.batch + image) * n;
        &self.data[start..start + n]
    }
}

/// A batch of feature vectors (row-major, `len()`×`dim`).
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureBatch {
    /// Values per vector.
    pub dim: usize,
    /// The vectors, one after another.
    pub data: Vec<f32>,
    /// Dataset index of each vector.
    pub indices: Vec<u64>,
    /// Class of each vector's image, when known.
    pub labels: Option<Vec<u32>>,
    /// The names of the data set's images and classes, passed on from the view batch.
    pub names: Option<Arc<DatasetNames>>,
}

impl FeatureBatch {
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True when there is no vector.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Vector `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Each point's `k` nearest neighbours (itself excluded), most similar first.
#[derive(Clone, Debug, PartialEq)]
pub struct NeighbourTable {
    /// Neighbours per point.
    pub k: usize,
    /// `points·k` neighbour indices, row per point.
    pub indices: Vec<u32>,
    /// `points·k` similarities (cosine / dot of unit vectors), aligned with `indices`.
    pub similarities: Vec<f32>,
    /// Class of each point, when known (for neighbour label agreement).
    pub labels: Option<Vec<u32>>,
    /// The dataset index of each row when the points are a subset of their data set (rows
    /// follow ascending dataset index); `None` when row `i` is dataset index `i`.
    pub ids: Option<Vec<u64>>,
}

impl NeighbourTable {
    /// Number of points.
    pub fn points(&self) -> usize {
        self.indices.len().checked_div(self.k).unwrap_or(0)
    }

    /// The neighbours of point `i`.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// The dataset index of row `row`.
    pub fn dataset_index(&self, row: usize) -> u64 {
        self.ids
            .as_ref()
            .and_then(|ids| ids.get(row).copied())
            .unwrap_or(row as u64)
    }

    /// The row of dataset index `index`, or `None` when the table has no such row (its
    /// `ids` ascend, so this is a binary search).
    pub fn row_of(&self, index: u64) -> Option<usize> {
        match &self.ids {
            Some(ids) => ids.binary_search(&index).ok(),
            None => usize::try_from(index).ok().filter(|&r| r < self.points()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_laid_out_view_major() {
        let batch = ViewBatch {
            views: 2,
            batch: 3,
            channels: 1,
            height: 1,
            width: 2,
            data: (0..12).map(|v| v as f32).collect(),
            indices: vec![0, 1, 2],
            labels: None,
            epoch: 0,
            epoch_size: 0,
            names: None,
            cropped_from: None,
            eval_views: None,
        };
        assert_eq!(batch.view(0, 2), &[4.0, 5.0]);
        assert_eq!(batch.view(1, 0), &[6.0, 7.0]);
    }

    #[test]
    fn neighbour_rows() {
        let table = NeighbourTable {
            k: 2,
            indices: vec![1, 2, 0, 2, 0, 1],
            similarities: vec![0.0; 6],
            labels: None,
            ids: None,
        };
        assert_eq!(table.points(), 3);
        assert_eq!(table.neighbours(1), &[0, 2]);
    }

    #[test]
    fn dataset_indices_and_rows_map_both_ways() {
        let mut table = NeighbourTable {
            k: 1,
            indices: vec![1, 2, 0],
            similarities: vec![0.0; 3],
            labels: None,
            ids: None,
        };
        assert_eq!((table.row_of(2), table.row_of(3)), (Some(2), None));
        table.ids = Some(vec![4, 9, 30]);
        for row in 0..3 {
            assert_eq!(table.row_of(table.dataset_index(row)), Some(row));
        }
        assert_eq!((table.row_of(2), table.row_of(10)), (None, None));
    }
}
