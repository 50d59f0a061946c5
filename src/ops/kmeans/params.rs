//! The parameters of `KMeans` as written in RON, their documentation and validation.

use serde::{Deserialize, Serialize};

use crate::ops::{ParamDoc, ParamError};

/// Parameters of the `KMeans` operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KMeansParams {
    /// Clusters `C`, at least 2 and at most the number of points.
    pub clusters: usize,
    /// Independent k-means++ seedings; the lowest inertia is kept (sklearn's `n_init`).
    #[serde(default = "default_restarts")]
    pub restarts: usize,
    /// Lloyd iterations per restart at most.
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Stop when the summed squared centroid shift falls below `tol` × the features'
    /// mean per-dimension variance (sklearn's rule).
    #[serde(default = "default_tol")]
    pub tol: f64,
}

fn default_restarts() -> usize {
    10
}
fn default_max_iter() -> usize {
    300
}
fn default_tol() -> f64 {
    1e-4
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            clusters: 10,
            restarts: default_restarts(),
            max_iter: default_max_iter(),
            tol: default_tol(),
        }
    }
}

impl KMeansParams {
    /// Every bad value at once.
    pub fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut errors = Vec::new();
        if self.clusters < 2 {
            let message = format!("must be at least 2, found {}", self.clusters);
            errors.push(ParamError::new("clusters", message));
        }
        if self.restarts == 0 {
            errors.push(ParamError::new("restarts", "must be at least 1"));
        }
        if self.max_iter == 0 {
            errors.push(ParamError::new("max_iter", "must be at least 1"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            errors.push(ParamError::new("tol", "must be a number ≥ 0"));
        }
        ParamError::result(errors)
    }
}

/// The documentation `scanflow ops` prints.
pub const DOCS: &[ParamDoc] = &[
    ParamDoc {
        name: "clusters",
        ty: "usize",
        doc: "clusters C, at least 2 and at most the number of points",
    },
    ParamDoc {
        name: "restarts",
        ty: "usize",
        doc: "k-means++ seedings; the lowest inertia is kept (sklearn's n_init)",
    },
    ParamDoc {
        name: "max_iter",
        ty: "usize",
        doc: "Lloyd iterations per restart at most",
    },
    ParamDoc {
        name: "tol",
        ty: "f64",
        doc: "stop when the squared centroid shift falls below tol × the mean feature variance",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_value_is_named() {
        let params = KMeansParams {
            clusters: 1,
            restarts: 0,
            max_iter: 0,
            tol: f64::NAN,
        };
        let fields: Vec<String> = params
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["clusters", "restarts", "max_iter", "tol"]);
        assert!(KMeansParams::default().validate().is_ok());
    }
}
