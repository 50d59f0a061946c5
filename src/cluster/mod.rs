//! Clustering on fixed feature vectors: the k-means baseline ([`kmeans`]) and SCAN's
//! linear cluster heads trained on precomputed features with hand-written gradients
//! ([`heads`]).

pub mod consensus;
pub mod heads;
pub mod kmeans;
