//! Reading `Evaluate`'s two inputs together: the cluster probabilities (`input`) and, for
//! the prototype grid, the same images (`images`). One `Images` node usually feeds both,
//! directly and through a model, so neither edge may be left full while the other is
//! awaited: the images are read whenever the probabilities are behind them or not ready
//! (an upstream such as `KMeans` or `ScanFeatures` gathers its whole input before it sends
//! anything), and held until their probabilities arrive.

use std::time::Duration;

use super::collect::Collected;
use super::prototypes::Prototypes;
use crate::payload::Payload;
use crate::runtime::{Context, OpError, Polled};

/// How long to wait before looking again when neither input has anything ready.
const IDLE: Duration = Duration::from_millis(2);

/// Reads both inputs to their end.
pub(super) fn receive(
    ctx: &mut Context,
    collected: &mut Collected,
    prototypes: &mut Option<Prototypes>,
) -> Result<(), OpError> {
    let (mut features_open, mut images_open) = (true, prototypes.is_some());
    while features_open || images_open {
        ctx.check_cancelled()?;
        let images_behind = prototypes
            .as_ref()
            .is_some_and(|p| p.received() < collected.len());
        if !features_open || (images_open && images_behind) {
            images_open = take_images(ctx, collected, prototypes, !features_open)?;
        } else if !images_open {
            let next = ctx.recv("input")?;
            features_open = take_features(next, collected, prototypes)?;
        } else {
            match ctx.poll("input")? {
                Polled::Ready(payload) => {
                    take_features(Some(payload), collected, prototypes)?;
                }
                Polled::Ended => features_open = take_features(None, collected, prototypes)?,
                Polled::Empty => images_open = poll_images(ctx, collected, prototypes)?,
            }
        }
    }
    Ok(())
}

/// Takes an image batch if one is ready, else waits a moment; `false` at the end of `images`.
fn poll_images(
    ctx: &mut Context,
    collected: &Collected,
    prototypes: &mut Option<Prototypes>,
) -> Result<bool, OpError> {
    let Some(p) = prototypes else {
        return Ok(false);
    };
    match ctx.poll("images")? {
        Polled::Ready(payload) => {
            let batch = payload
                .as_images()
                .ok_or_else(|| wrong("images", &payload))?;
            p.offer(batch, collected, false)?;
            Ok(true)
        }
        Polled::Ended => Ok(false),
        Polled::Empty => ctx.sleep(IDLE).map(|()| true),
    }
}

/// Waits for the next image batch; `false` at the end of `images`.
fn take_images(
    ctx: &mut Context,
    collected: &Collected,
    prototypes: &mut Option<Prototypes>,
    features_closed: bool,
) -> Result<bool, OpError> {
    let Some(p) = prototypes else {
        return Ok(false);
    };
    match ctx.recv_images("images")? {
        Some(batch) => {
            p.offer(&batch, collected, features_closed)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Takes one feature batch (`None`: the end of `input`); `false` at the end.
fn take_features(
    payload: Option<Payload>,
    collected: &mut Collected,
    prototypes: &mut Option<Prototypes>,
) -> Result<bool, OpError> {
    let Some(payload) = payload else {
        if let Some(p) = prototypes {
            p.close();
        }
        return Ok(false);
    };
    let batch = payload
        .as_features()
        .ok_or_else(|| wrong("input", &payload))?;
    collected.push(batch)?;
    if let Some(p) = prototypes {
        p.settle(&batch.indices, collected);
    }
    Ok(true)
}

/// The error for a payload of the wrong type on `field`.
fn wrong(field: &str, payload: &Payload) -> OpError {
    OpError::WrongPayload {
        field: field.into(),
        found: payload.port_type().describe(),
        expected: match field {
            "images" => "image batches".into(),
            _ => "feature batches".into(),
        },
    }
}
