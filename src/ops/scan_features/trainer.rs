//! The heads-only SCAN trainer: the heads' weights as candle `Var`s (so the crate's
//! optimisers update them), gradients from [`HeadShape::step`], and an epoch over shuffled
//! anchors, each paired with a neighbour drawn from its top `top`.

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

use super::ScanFeaturesParams;
use crate::cluster::heads::{HeadLoss, HeadShape, MlpShape, MlpWeights};
use crate::data::NeighbourTable;
use crate::model::optim::Optimizer;
use crate::ops::feature_stream::Stream;
use crate::rng::SplitMix64;

/// Rows per block when computing outputs of many rows.
const BLOCK_ROWS: usize = 4096;

/// The heads' layers: linear, or with a hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layers {
    /// `softmax(x·Wᵀ + b)` per head.
    Linear(HeadShape),
    /// `Linear(D, K) → ReLU → Linear(K, C)` per head.
    Mlp(MlpShape),
}

impl Layers {
    /// Each tensor's name in `heads.safetensors`, its shape and the `±bound` of its
    /// initial draw (torch's `Linear`: `1/√fan_in`).
    fn tensors(&self) -> Vec<(&'static str, Vec<usize>, f32)> {
        let bound = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
        match *self {
            Layers::Linear(s) => vec![
                ("weight", vec![s.columns(), s.dim], bound(s.dim)),
                ("bias", vec![s.columns()], bound(s.dim)),
            ],
            Layers::Mlp(s) => {
                let (hk, hc) = (s.heads * s.hidden, s.heads * s.clusters);
                vec![
                    ("hidden.weight", vec![hk, s.dim], bound(s.dim)),
                    ("hidden.bias", vec![hk], bound(s.dim)),
                    ("weight", vec![hc, s.hidden], bound(s.hidden)),
                    ("bias", vec![hc], bound(s.hidden)),
                ]
            }
        }
    }

    /// Feature length `D`.
    pub fn dim(&self) -> usize {
        match self {
            Layers::Linear(s) => s.dim,
            Layers::Mlp(s) => s.dim,
        }
    }

    /// Heads `H` and clusters per head `C`.
    pub fn heads_and_clusters(&self) -> (usize, usize) {
        match *self {
            Layers::Linear(s) => (s.heads, s.clusters),
            Layers::Mlp(s) => (s.heads, s.clusters),
        }
    }

    /// Logit columns `H·C`.
    pub fn columns(&self) -> usize {
        let (heads, clusters) = self.heads_and_clusters();
        heads * clusters
    }

    /// Each row of `x`'s probabilities under every head, `rows × (H·C)`.
    pub fn probabilities(&self, values: &[Vec<f32>], x: &[f32]) -> Vec<f32> {
        self.by_blocks(x, |x| match self {
            Layers::Linear(s) => s.probabilities(&values[0], &values[1], x),
            Layers::Mlp(s) => s.probabilities(mlp_weights(values), x),
        })
    }

    /// Each row of `x`'s logits under every head, `rows × (H·C)`.
    pub fn logits(&self, values: &[Vec<f32>], x: &[f32]) -> Vec<f32> {
        self.by_blocks(x, |x| match self {
            Layers::Linear(s) => s.logits(&values[0], &values[1], x),
            Layers::Mlp(s) => s.logits(mlp_weights(values), x),
        })
    }

    /// `f` on blocks of [`BLOCK_ROWS`] rows of `x`, its outputs concatenated: the hidden
    /// layers of every row at once would take `rows × H·K` values.
    fn by_blocks(&self, x: &[f32], f: impl Fn(&[f32]) -> Vec<f32>) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len() / self.dim() * self.columns());
        x.chunks(BLOCK_ROWS * self.dim())
            .for_each(|block| out.extend(f(block)));
        out
    }

    /// The gradients of every tensor and each head's loss on the `2B` rows `x`.
    fn step(
        &self,
        values: &[Vec<f32>],
        x: &[f32],
        params: &ScanFeaturesParams,
    ) -> (Vec<Vec<f32>>, Vec<HeadLoss>) {
        let (loss, w) = (params.loss, params.entropy_weight);
        match self {
            Layers::Linear(s) => {
                let step = s.step(&values[0], &values[1], x, loss, w);
                (vec![step.weight, step.bias], step.losses)
            }
            Layers::Mlp(s) => {
                let (grads, losses) = s.step(mlp_weights(values), x, loss, w);
                (grads.to_vec(), losses)
            }
        }
    }
}

fn mlp_weights(values: &[Vec<f32>]) -> MlpWeights<'_> {
    [&values[0], &values[1], &values[2], &values[3]]
}

/// The vectors an epoch draws its anchors and neighbours from.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    /// N×D: each point's vector (of its unaugmented view).
    pub plain: &'a [f32],
    /// N×(V·D) and V: each point's vectors of V augmented views, side by side
    /// (`Encode(views: Keep)`).
    pub augmented: Option<(&'a [f32], usize)>,
}

impl<'a> Points<'a> {
    /// Points with no augmented views.
    pub fn plain(plain: &'a [f32]) -> Self {
        Points {
            plain,
            augmented: None,
        }
    }

    /// The rows of `plain`, with the rows of `augmented` holding V views of each.
    pub fn new(plain: &'a Stream, augmented: Option<&'a (Stream, usize)>) -> Self {
        Points {
            plain: &plain.rows.data,
            augmented: augmented.map(|(stream, views)| (stream.rows.data.as_slice(), *views)),
        }
    }

    /// Point `i`'s vector: the plain one, or with augmented views one of the V + 1 drawn
    /// uniformly.
    fn view(&self, i: usize, dim: usize, rng: &mut SplitMix64) -> &'a [f32] {
        match self.augmented {
            Some((rows, views)) => {
                let v = rng.below(views + 1);
                if v == views {
                    &self.plain[i * dim..(i + 1) * dim]
                } else {
                    let start = (i * views + v) * dim;
                    &rows[start..start + dim]
                }
            }
            None => &self.plain[i * dim..(i + 1) * dim],
        }
    }
}

/// The heads, their optimiser and the sampling state.
pub struct Trainer {
    /// The heads' layers and sizes.
    pub layers: Layers,
    vars: Vec<(&'static str, Var)>,
    optimizer: Box<dyn Optimizer>,
    params: ScanFeaturesParams,
    rng: SplitMix64,
    /// Optimiser steps taken (the schedule's position).
    step: u64,
}

impl Trainer {
    /// Heads of `dim`-long inputs initialised as torch's `Linear` (`U(±1/√fan_in)`) from
    /// `seed`.
    pub fn new(params: &ScanFeaturesParams, dim: usize, seed: u64) -> Result<Self, String> {
        let (heads, clusters) = (params.heads, params.clusters);
        let layers = match params.hidden {
            None => Layers::Linear(HeadShape {
                heads,
                clusters,
                dim,
            }),
            Some(hidden) => Layers::Mlp(MlpShape {
                heads,
                clusters,
                dim,
                hidden,
            }),
        };
        let mut rng = SplitMix64::new(seed);
        let mut vars = Vec::new();
        for (name, shape, bound) in layers.tensors() {
            let n = shape.iter().product();
            let values = (0..n).map(|_| rng.uniform_f32(-bound, bound)).collect();
            let var = Var::from_vec(values, shape, &Device::Cpu).map_err(|e| e.to_string())?;
            vars.push((name, var));
        }
        let named: Vec<(String, Var)> = vars
            .iter()
            .map(|(n, v)| (format!("heads.{n}"), v.clone()))
            .collect();
        let optimizer = params.optimizer.build(&named).map_err(|e| e.to_string())?;
        Ok(Trainer {
            layers,
            vars,
            optimizer,
            params: params.clone(),
            rng,
            step: 0,
        })
    }

    /// The current values of every tensor, in [`ClusterModel::set_heads`]' order
    /// (`W`, `b`, or `W₁`, `b₁`, `W₂`, `b₂`).
    ///
    /// [`ClusterModel::set_heads`]: crate::model::ClusterModel::set_heads
    pub fn weights(&self) -> candle_core::Result<Vec<Vec<f32>>> {
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        self.vars.iter().map(|(_, v)| flat(v)).collect()
    }

    /// The tensors, named as in `heads.safetensors`.
    pub fn tensors(&self) -> Vec<(&'static str, Tensor)> {
        let tensor = |(n, v): &(&'static str, Var)| (*n, v.as_tensor().clone());
        self.vars.iter().map(tensor).collect()
    }

    /// One pass over every anchor of `points` (row `i` = table row `i`); returns each
    /// head's loss averaged over the steps.
    pub fn epoch(
        &mut self,
        points: &Points<'_>,
        table: &NeighbourTable,
    ) -> candle_core::Result<Vec<HeadLoss>> {
        let dim = self.layers.dim();
        let mut order: Vec<usize> = (0..points.plain.len() / dim).collect();
        self.rng.shuffle(&mut order);
        let top = self.params.top.min(table.k);
        let mut sums = vec![HeadLoss::default(); self.layers.heads_and_clusters().0];
        let mut x = Vec::with_capacity(2 * self.params.batch * dim);
        let steps = order.len().div_ceil(self.params.batch);
        let total = self.params.epochs * steps as u64;
        for anchors in order.chunks(self.params.batch) {
            let base = self.params.optimizer.base_lr();
            let lr = self
                .params
                .schedule
                .lr_at(base, self.step, total, steps as u64);
            x.clear();
            for &a in anchors {
                x.extend_from_slice(points.view(a, dim, &mut self.rng));
            }
            for &a in anchors {
                let n = table.neighbours(a)[self.rng.below(top)] as usize;
                x.extend_from_slice(points.view(n, dim, &mut self.rng));
            }
            for (sum, loss) in sums.iter_mut().zip(self.step(&x, lr)?) {
                sum.consistency += loss.consistency / steps as f64;
                sum.entropy += loss.entropy / steps as f64;
                sum.total += loss.total / steps as f64;
            }
        }
        Ok(sums)
    }

    /// One optimiser step at rate `lr` on the `2B` rows `x`.
    fn step(&mut self, x: &[f32], lr: f64) -> candle_core::Result<Vec<HeadLoss>> {
        let values = self.weights()?;
        let (grads, losses) = self.layers.step(&values, x, &self.params);
        let mut store = GradStore::default();
        for ((_, var), grad) in self.vars.iter().zip(grads) {
            let grad = Tensor::from_vec(grad, var.shape(), &Device::Cpu)?;
            store.insert(var.as_tensor(), grad);
        }
        self.optimizer.step(&store, lr)?;
        self.step += 1;
        Ok(losses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::ScheduleKind;

    /// The weights after two epochs on 40 random 4-d points, each point's neighbours the
    /// next two, with `schedule`.
    fn trained(schedule: ScheduleKind) -> Vec<Vec<f32>> {
        let mut rng = SplitMix64::new(5);
        let features: Vec<f32> = (0..40 * 4).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
        let indices = (0..40u32)
            .flat_map(|i| [(i + 1) % 40, (i + 2) % 40])
            .collect();
        let table = NeighbourTable {
            k: 2,
            indices,
            similarities: vec![1.0; 80],
            labels: None,
            ids: None,
        };
        let params = ScanFeaturesParams {
            clusters: 3,
            heads: 2,
            batch: 8,
            epochs: 2,
            schedule,
            ..ScanFeaturesParams::default()
        };
        let mut trainer = Trainer::new(&params, 4, 1).unwrap();
        for _ in 0..2 {
            trainer.epoch(&Points::plain(&features), &table).unwrap();
        }
        trainer.weights().unwrap()
    }

    #[test]
    fn the_schedule_sets_each_steps_rate() {
        let constant = trained(ScheduleKind::Constant);
        let flat_cosine = trained(ScheduleKind::Cosine {
            warmup_epochs: 0,
            min_lr_factor: 1.0,
        });
        assert_eq!(constant, flat_cosine);
        let cosine = trained(ScheduleKind::Cosine {
            warmup_epochs: 0,
            min_lr_factor: 0.0,
        });
        assert_ne!(constant, cosine);
    }

    #[test]
    fn augmented_points_draw_every_view_and_the_plain_one() {
        // Two points of dim 1: plain 0 and 10; point 0's views 1, 2, point 1's 11, 12.
        let plain = [0.0, 10.0];
        let augmented = [1.0, 2.0, 11.0, 12.0];
        let points = Points {
            plain: &plain,
            augmented: Some((&augmented, 2)),
        };
        let mut rng = SplitMix64::new(3);
        let mut seen: Vec<f32> = (0..200).map(|_| points.view(1, 1, &mut rng)[0]).collect();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert_eq!(seen, vec![10.0, 11.0, 12.0]);
        let only_plain = Points::plain(&plain);
        assert_eq!(only_plain.view(1, 1, &mut rng), &[10.0]);
    }
}
