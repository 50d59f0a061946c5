"""The faiss-cpu side of `cargo bench --bench knn`: exact top-20 (IndexFlatIP, search k=21,
self dropped) on the very unit vectors the Rust bench wrote, 2 OpenMP threads, median of
RUNS runs, in the Rust bench's output format; then how far the two tables agree.

    KNN_NPY_DIR=/tmp/knn-npy cargo bench --bench knn        # writes random_D.npy, scanflow_D.npy
    /tmp/knnref/bin/python benches/knn_faiss.py /tmp/knn-npy [RUNS=3]
    /tmp/knnref/bin/python benches/knn_faiss.py /tmp/knn-npy/clustered_250000.npy [RUNS=1]

The second form searches one `.npy` (e.g. the points `benches/knn_hnsw.rs` wrote with
KNN_NPY_OUT), the exact side of the HNSW crossover.

Set up once: python3 -m venv /tmp/knnref && /tmp/knnref/bin/pip install faiss-cpu numpy
"""
import os
import sys
import time

import faiss
import numpy as np

K = 20


def median(values):
    return sorted(values)[len(values) // 2]


def drop_self(ids):
    """(N, K+1) -> (N, K): the query's own id removed, else the last column."""
    out = np.empty((len(ids), K), ids.dtype)
    for i, row in enumerate(ids):
        out[i] = row[row != i][:K]
    return out


def search(x, runs):
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        _, ids = index.search(x, K + 1)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return drop_self(ids), walls, cpus


def agreement(ours_path, theirs):
    """Fraction of rows with the same neighbour list, and of neighbours in common."""
    ours = np.load(ours_path).astype(np.int64)
    same_rows = float(np.mean(np.all(ours == theirs, axis=1)))
    common = sum(len(np.intersect1d(a, b)) for a, b in zip(ours, theirs))
    return same_rows, common / ours.size


def report(path, runs):
    """Searches the points in `path`; returns faiss' table."""
    x = np.ascontiguousarray(np.load(path), np.float32)
    ids, walls, cpus = search(x, runs)
    each = ", ".join(f"{w:.2f}" for w in walls)
    print(f"faiss {faiss.__version__} exact top-{K} {x.shape[0]}x{x.shape[1]}: runs [{each}] s; "
          f"median {median(walls):.2f} s wall, {median(cpus):.2f} s CPU")
    return ids


def main():
    target = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    faiss.omp_set_num_threads(2)
    if target.endswith(".npy"):
        report(target, runs)
        return
    for dim in (128, 512):
        ids = report(os.path.join(target, f"random_{dim}.npy"), runs)
        ours = os.path.join(target, f"scanflow_{dim}.npy")
        if os.path.exists(ours):
            rows, common = agreement(ours, ids)
            print(f"  vs scanflow: identical rows {rows:.4f}, neighbours in common {common:.5f}")


if __name__ == "__main__":
    main()
