//! The heads-only SCAN trainer: the heads' weights as candle `Var`s (so the crate's
//! optimisers update them), gradients from [`HeadShape::step`], and an epoch over shuffled
//! anchors, each paired with a neighbour drawn from its top `top`.

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

use super::ScanFeaturesParams;
use crate::cluster::heads::{HeadLoss, HeadShape};
use crate::data::NeighbourTable;
use crate::model::optim::Optimizer;
use crate::rng::SplitMix64;

/// The heads, their optimiser and the sampling state.
pub struct Trainer {
    /// The heads' sizes.
    pub shape: HeadShape,
    weight: Var,
    bias: Var,
    optimizer: Box<dyn Optimizer>,
    params: ScanFeaturesParams,
    rng: SplitMix64,
}

impl Trainer {
    /// Heads of `dim`-long inputs initialised as torch's `Linear` (`U(±1/√D)`) from `seed`.
    pub fn new(params: &ScanFeaturesParams, dim: usize, seed: u64) -> Result<Self, String> {
        let shape = HeadShape {
            heads: params.heads,
            clusters: params.clusters,
            dim,
        };
        let mut rng = SplitMix64::new(seed);
        let bound = 1.0 / (dim as f32).sqrt();
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform_f32(-bound, bound)).collect() };
        let (w, b) = (draw(shape.columns() * dim), draw(shape.columns()));
        let weight =
            Var::from_vec(w, (shape.columns(), dim), &Device::Cpu).map_err(|e| e.to_string())?;
        let bias = Var::from_vec(b, shape.columns(), &Device::Cpu).map_err(|e| e.to_string())?;
        let named = [
            ("heads.weight".to_string(), weight.clone()),
            ("heads.bias".to_string(), bias.clone()),
        ];
        let optimizer = params.optimizer.build(&named).map_err(|e| e.to_string())?;
        Ok(Trainer {
            shape,
            weight,
            bias,
            optimizer,
            params: params.clone(),
            rng,
        })
    }

    /// The current weight `(H·C)×D` and bias `H·C`.
    pub fn weights(&self) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        Ok((flat(&self.weight)?, flat(&self.bias)?))
    }

    /// The weight and bias tensors, named as in `heads.safetensors`.
    pub fn tensors(&self) -> [(&'static str, Tensor); 2] {
        [
            ("weight", self.weight.as_tensor().clone()),
            ("bias", self.bias.as_tensor().clone()),
        ]
    }

    /// One pass over every anchor of `features` (N×D, row `i` = table row `i`); returns each
    /// head's loss averaged over the steps.
    pub fn epoch(
        &mut self,
        features: &[f32],
        table: &NeighbourTable,
    ) -> candle_core::Result<Vec<HeadLoss>> {
        let dim = self.shape.dim;
        let mut order: Vec<usize> = (0..features.len() / dim).collect();
        self.rng.shuffle(&mut order);
        let top = self.params.top.min(table.k);
        let mut sums = vec![HeadLoss::default(); self.shape.heads];
        let mut x = Vec::with_capacity(2 * self.params.batch * dim);
        let steps = order.len().div_ceil(self.params.batch);
        for anchors in order.chunks(self.params.batch) {
            x.clear();
            anchors
                .iter()
                .for_each(|&a| x.extend_from_slice(&features[a * dim..(a + 1) * dim]));
            for &a in anchors {
                let n = table.neighbours(a)[self.rng.below(top)] as usize;
                x.extend_from_slice(&features[n * dim..(n + 1) * dim]);
            }
            for (sum, loss) in sums.iter_mut().zip(self.step(&x)?) {
                sum.consistency += loss.consistency / steps as f64;
                sum.entropy += loss.entropy / steps as f64;
                sum.total += loss.total / steps as f64;
            }
        }
        Ok(sums)
    }

    /// One optimiser step on the `2B` rows `x`.
    fn step(&mut self, x: &[f32]) -> candle_core::Result<Vec<HeadLoss>> {
        let (weight, bias) = self.weights()?;
        let step = self.shape.step(
            &weight,
            &bias,
            x,
            self.params.loss,
            self.params.entropy_weight,
        );
        let mut grads = GradStore::default();
        let gw = Tensor::from_vec(step.weight, self.weight.shape(), &Device::Cpu)?;
        let gb = Tensor::from_vec(step.bias, self.bias.shape(), &Device::Cpu)?;
        grads.insert(self.weight.as_tensor(), gw);
        grads.insert(self.bias.as_tensor(), gb);
        self.optimizer
            .step(&grads, self.params.optimizer.base_lr())?;
        Ok(step.losses)
    }
}
