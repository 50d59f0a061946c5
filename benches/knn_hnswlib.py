"""The hnswlib side of `cargo bench --bench knn_hnsw`: build an HNSW index (inner-product
space, 2 threads) over the very unit vectors the Rust bench wrote, query every point for
its top 20 (k=21, self dropped), and report build and query CPU seconds and recall@20
against exact search on 2,000 seeded queries, in the Rust bench's output format.

    KNN_POINTS=60000 KNN_NPY_OUT=/tmp/knn-npy/clustered_60000.npy cargo bench --bench knn_hnsw
    /tmp/scanflow-ref/venv/bin/python benches/knn_hnswlib.py /tmp/knn-npy/clustered_60000.npy 16,200,128 [...]

Each argument after the file is one `m,ef_construction,ef_search` setting.
"""
import os
import sys
import time

import hnswlib
import numpy as np

K = 20
QUERIES = 2000


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def drop_self(ids):
    """(N, K+1) -> (N, K): the query's own id removed, else the last column."""
    out = np.empty((len(ids), K), ids.dtype)
    for i, row in enumerate(ids):
        out[i] = row[row != i][:K]
    return out


def recall(x, table):
    """Mean |approx ∩ exact| / K over a seeded sample of queries (exact by matmul)."""
    rng = np.random.default_rng(3)
    queries = rng.choice(len(x), size=min(QUERIES, len(x)), replace=False)
    scores = x[queries] @ x.T
    scores[np.arange(len(queries)), queries] = -np.inf
    truth = np.argpartition(-scores, K, axis=1)[:, :K]
    hits = sum(len(np.intersect1d(t, table[q])) for t, q in zip(truth, queries))
    return hits / (len(queries) * K)


def run(x, m, ef_c, ef_s):
    wall, cpu = time.perf_counter(), time.process_time()
    index = hnswlib.Index(space="ip", dim=x.shape[1])
    index.init_index(max_elements=len(x), M=m, ef_construction=ef_c, random_seed=100)
    index.add_items(x, np.arange(len(x)), num_threads=2)
    build = (time.perf_counter() - wall, time.process_time() - cpu)
    wall, cpu = time.perf_counter(), time.process_time()
    index.set_ef(max(ef_s, K + 1))
    ids, _ = index.knn_query(x, k=K + 1, num_threads=2)
    query = (time.perf_counter() - wall, time.process_time() - cpu)
    r = recall(x, drop_self(ids.astype(np.int64)))
    print(f"hnswlib m {m} ef_c {ef_c} ef_s {ef_s}: build {build[0]:.2f} s wall {build[1]:.2f} s CPU, "
          f"query {query[0]:.2f} s wall {query[1]:.2f} s CPU, recall@{K} {r:.4f} "
          f"(load average {load_average()})", flush=True)


def main():
    x = np.ascontiguousarray(np.load(sys.argv[1]), np.float32)
    print(f"{x.shape[0]} points x {x.shape[1]} from {os.path.basename(sys.argv[1])}")
    for setting in sys.argv[2:] or ["16,200,128"]:
        m, ef_c, ef_s = (int(v) for v in setting.split(","))
        run(x, m, ef_c, ef_s)


if __name__ == "__main__":
    main()
