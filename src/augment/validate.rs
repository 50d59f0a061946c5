//! Parameter checks for [`AugmentOp`]: sizes non-zero, ranges ordered and in their domain,
//! probabilities in `[0, 1]`, kernels odd, standard deviations non-zero.

use crate::augment::op::AugmentOp;

/// What is wrong with `op`'s parameters, or `None` when they are valid.
pub(crate) fn problem(op: &AugmentOp) -> Option<String> {
    match op {
        AugmentOp::RandomResizedCrop { size, scale, ratio } => size_problem(*size)
            .or_else(|| range_problem("scale", *scale, 0.0, 1.0))
            .or_else(|| positive_range("ratio", *ratio)),
        AugmentOp::Resize { size } | AugmentOp::CenterCrop { size } => size_problem(*size),
        AugmentOp::RandomCrop { size, .. } => size_problem(*size),
        AugmentOp::HorizontalFlip { p }
        | AugmentOp::RandomGrayscale { p }
        | AugmentOp::Solarize { p, .. } => p_problem(*p),
        AugmentOp::ColorJitter {
            brightness,
            contrast,
            saturation,
            hue,
            p,
        } => jitter_problem([*brightness, *contrast, *saturation], *hue).or_else(|| p_problem(*p)),
        AugmentOp::GaussianBlur { kernel, sigma, p } => {
            blur_problem(*kernel, *sigma).or_else(|| p_problem(*p))
        }
        AugmentOp::RandomTranslation { height, width }
        | AugmentOp::RandomZoom { height, width } => range_problem("height", *height, -1.0, 1.0)
            .or_else(|| range_problem("width", *width, -1.0, 1.0)),
        AugmentOp::RandomRotation { factor } => range_problem("factor", *factor, -1.0, 1.0),
        AugmentOp::Cutout { length, .. } => {
            (*length == 0).then(|| "length must be at least 1".to_string())
        }
        AugmentOp::RandAugment { m, .. } => m
            .filter(|m| !(0.0..=30.0).contains(m))
            .map(|m| format!("m = {m} is outside 0..=30")),
        AugmentOp::Normalize { std, .. } => [std.0, std.1, std.2]
            .iter()
            .any(|s| *s == 0.0 || !s.is_finite())
            .then(|| "every std must be finite and non-zero".to_string()),
    }
}

fn size_problem(size: (u32, u32)) -> Option<String> {
    (size.0 == 0 || size.1 == 0).then(|| format!("size {size:?} must be at least (1, 1)"))
}

fn p_problem(p: f32) -> Option<String> {
    (!(0.0..=1.0).contains(&p)).then(|| format!("p = {p} is outside [0, 1]"))
}

/// `range` must be ordered and inside `[min, max]`.
fn range_problem(name: &str, range: (f32, f32), min: f32, max: f32) -> Option<String> {
    let ok = min <= range.0 && range.0 <= range.1 && range.1 <= max;
    (!ok).then(|| format!("{name} = {range:?} must satisfy {min} <= lo <= hi <= {max}"))
}

fn positive_range(name: &str, range: (f32, f32)) -> Option<String> {
    let ok = range.0 > 0.0 && range.0 <= range.1 && range.1.is_finite();
    (!ok).then(|| format!("{name} = {range:?} must satisfy 0 < lo <= hi"))
}

fn jitter_problem(strengths: [f32; 3], hue: f32) -> Option<String> {
    if strengths.iter().any(|s| !(0.0..=100.0).contains(s)) {
        return Some("brightness, contrast and saturation must be in [0, 100]".to_string());
    }
    (!(0.0..=0.5).contains(&hue)).then(|| format!("hue = {hue} is outside [0, 0.5]"))
}

fn blur_problem(kernel: u32, sigma: (f32, f32)) -> Option<String> {
    if kernel.is_multiple_of(2) {
        return Some(format!("kernel = {kernel} must be odd"));
    }
    let ok = sigma.0 > 0.0 && sigma.0 <= sigma.1 && sigma.1.is_finite();
    (!ok).then(|| format!("sigma = {sigma:?} must satisfy 0 < lo <= hi"))
}
