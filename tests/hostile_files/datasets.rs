//! Broken data-set and model files: CIFAR record files of the wrong length, `.npy` files
//! whose header lies, and safetensors files with wrong shapes, dtypes or a lying header.
