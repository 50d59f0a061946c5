//! Tests of the augmentation module.
