"""What can clustering gain on frozen features? Offline checks in numpy and scipy.

Reads a finished `graphs/cifar-cpu.ron` run folder (`runs/cifar-cpu`): the train
projections (`features`), their four augmented views (`aug-features`), the test
projections (`test-features`), the mined table (`neighbours`) and the test labels
(`evaluate-scan/assignments.csv`). Trains one SCAN head as the graph's `Scan` does (a
256-unit hidden layer, Adam 1e-3, entropy weight 3, 30 epochs, anchors and neighbours drawn
among each image's five vectors), then prints the test ACC of:

  * that head, and how right its confident predictions are;
  * the head self-labelled (threshold 0.99, with and without the graph's cluster quota,
    with augmented or plain strong views) for 1, 5 and 10 epochs;
  * fresh heads trained on fixed sets of each cluster's most confident members;
  * test images labelled by their nearest train images' SCAN probabilities;
  * spectral clustering of the mined neighbour graph (train ACC, beside k-means on the
    projections; the train labels come from `neighbours/labels.npy`).

Usage: python3 benches/frozen_features.py runs/cifar-cpu [seed]
Needs numpy and scipy (`pip install numpy scipy`).
"""
import csv
import sys

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg
from scipy.optimize import linear_sum_assignment

CLUSTERS, HIDDEN = 10, 256


def load_run(run):
    """Train vectors (N×5×D: plain, then the views), test vectors, table, test labels."""
    train = np.load(f"{run}/features/features.npy").astype(np.float32)
    n, d = train.shape
    views = np.load(f"{run}/aug-features/features.npy").astype(np.float32).reshape(n, -1, d)
    test = np.load(f"{run}/test-features/features.npy").astype(np.float32)
    table = np.load(f"{run}/neighbours/neighbours.npy").astype(np.int64)
    with open(f"{run}/evaluate-scan/assignments.csv") as f:
        labels = np.array([int(row["label"]) for row in csv.DictReader(f)])
    return np.concatenate([train[:, None], views], axis=1), test, table, labels


def hungarian_acc(pred, labels):
    """ACC under the best one-to-one cluster-to-class matching."""
    counts = np.zeros((CLUSTERS, CLUSTERS))
    np.add.at(counts, (pred, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(labels)


class Head:
    """Linear(D, 256) → ReLU → Linear(256, C), torch's initial draw, Adam with L2 decay."""

    def __init__(self, dim, rng, lr):
        b1, b2 = 1 / np.sqrt(dim), 1 / np.sqrt(HIDDEN)
        self.w = [rng.uniform(-b1, b1, (HIDDEN, dim)), rng.uniform(-b1, b1, HIDDEN),
                  rng.uniform(-b2, b2, (CLUSTERS, HIDDEN)), rng.uniform(-b2, b2, CLUSTERS)]
        self.w = [a.astype(np.float32) for a in self.w]
        self.restart_optimizer(lr)

    def restart_optimizer(self, lr):
        """A fresh Adam state at learning rate `lr`."""
        self.lr, self.t = lr, 0
        self.m = [np.zeros_like(a) for a in self.w]
        self.v = [np.zeros_like(a) for a in self.w]

    def forward(self, x):
        hidden = np.maximum(x @ self.w[0].T + self.w[1], 0)
        return hidden, softmax(hidden @ self.w[2].T + self.w[3])

    def probabilities(self, x):
        return self.forward(x)[1]

    def step(self, x, hidden, dz, weight_decay=1e-4):
        dh = (dz @ self.w[2]) * (hidden > 0)
        grads = [dh.T @ x, dh.sum(0), dz.T @ hidden, dz.sum(0)]
        self.t += 1
        for i, g in enumerate(grads):
            g = g + weight_decay * self.w[i]
            self.m[i] = 0.9 * self.m[i] + 0.1 * g
            self.v[i] = 0.999 * self.v[i] + 0.001 * g * g
            m_hat, v_hat = self.m[i] / (1 - 0.9**self.t), self.v[i] / (1 - 0.999**self.t)
            self.w[i] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def softmax_backward(p, dp):
    return p * (dp - (dp * p).sum(1, keepdims=True))


def any_vector(vectors, idx, rng):
    return vectors[idx, rng.integers(0, vectors.shape[1], len(idx))]


def train_scan(head, vectors, table, rng, epochs=30, batch=128, entropy_weight=3.0):
    """SCAN's loss: −log⟨p(anchor), p(neighbour)⟩ − w·H(mean p(anchor))."""
    n = len(vectors)
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n - batch + 1, batch):
            anchors = order[s:s + batch]
            neighbours = table[anchors, rng.integers(0, table.shape[1], batch)]
            x = np.concatenate([any_vector(vectors, anchors, rng),
                                any_vector(vectors, neighbours, rng)])
            hidden, p = head.forward(x)
            pa, pn = p[:batch], p[batch:]
            dot = (pa * pn).sum(1, keepdims=True)
            mean = pa.mean(0)
            dpa = -pn / dot / batch + entropy_weight / batch * (np.log(np.maximum(mean, 1e-8)) + 1)
            dp = np.concatenate([dpa, -pa / dot / batch])
            head.step(x, hidden, softmax_backward(p, dp))


def cross_entropy_step(head, x, labels):
    """One class-balanced cross-entropy step on `x` towards `labels`."""
    counts = np.bincount(labels, minlength=CLUSTERS)
    weight = (len(labels) / np.maximum(counts, 1))[labels]
    hidden, p = head.forward(x)
    dz = (p - np.eye(CLUSTERS, dtype=np.float32)[labels]) * (weight / weight.sum())[:, None]
    head.step(x, hidden, dz)


def confident(probs, threshold, quota):
    """SelfLabel's rule: confidence above `threshold`, plus each cluster's top `quota`."""
    labels, conf = probs.argmax(1), probs.max(1)
    mask = conf > threshold
    for c in range(CLUSTERS):
        members = np.flatnonzero(labels == c)
        top = members[np.argsort(-conf[members])[:int(np.ceil(quota * len(members)))]]
        mask[top] = True
    return mask, labels


def self_label(head, vectors, test, labels, rng, quota, strong, epochs=10, batch=256):
    head.restart_optimizer(1e-4)
    accs = []
    for epoch in range(epochs):
        order = rng.permutation(len(vectors))
        for s in range(0, len(order) - batch + 1, batch):
            idx = order[s:s + batch]
            mask, pseudo = confident(head.probabilities(vectors[idx, 0]), 0.99, quota)
            if mask.any():
                x = any_vector(vectors, idx[mask], rng) if strong else vectors[idx[mask], 0]
                cross_entropy_step(head, x, pseudo[mask])
        if epoch + 1 in (1, 5, 10):
            accs.append(hungarian_acc(head.probabilities(test).argmax(1), labels))
    return accs


def fixed_set(probs, share):
    """Each cluster's most confident `share` of its members."""
    chosen, labels = [], probs.argmax(1)
    for c in range(CLUSTERS):
        members = np.flatnonzero(labels == c)
        chosen.extend(members[np.argsort(-probs[members, c])[:int(np.ceil(share * len(members)))]])
    return np.array(chosen)


def calibration(probs, labels):
    pred, conf = probs.argmax(1), probs.max(1)
    counts = np.zeros((CLUSTERS, CLUSTERS))
    np.add.at(counts, (pred, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    right = dict(zip(rows, cols))
    hit = np.array([right[p] == y for p, y in zip(pred, labels)])
    for low in (0.99, 0.9):
        sel = conf > low
        print(f"  confidence > {low}: {sel.mean():.1%} of the test images, {hit[sel].mean():.1%} right")
    half = np.argsort(-conf)[:len(conf) // 2]
    print(f"  the most confident half: {hit[half].mean():.1%} right")


def kmeans(points, k, rng, restarts=5, iterations=50):
    """Lloyd's k-means, the lowest-inertia of `restarts` random starts."""
    best = None
    for _ in range(restarts):
        centres = points[rng.choice(len(points), k, replace=False)]
        for _ in range(iterations):
            distances = (points * points).sum(1)[:, None] - 2 * points @ centres.T + (centres * centres).sum(1)
            nearest = distances.argmin(1)
            centres = np.array([points[nearest == j].mean(0) if (nearest == j).any() else centres[j]
                                for j in range(k)])
        inertia = distances[np.arange(len(points)), nearest].sum()
        if best is None or inertia < best[0]:
            best = (inertia, nearest)
    return best[1]


def spectral(run, train, rng):
    """Spectral clustering of the symmetrised top-k graph, weights exp((cos − 1)/0.1)."""
    table = np.load(f"{run}/neighbours/neighbours.npy").astype(np.int64)
    similarity = np.load(f"{run}/neighbours/similarities.npy").astype(np.float32)
    labels = np.load(f"{run}/neighbours/labels.npy").astype(np.int64).ravel()
    n = len(table)
    for k in (10, 20):
        rows, cols = np.repeat(np.arange(n), k), table[:, :k].ravel()
        graph = sparse.csr_matrix((np.exp((similarity[:, :k].ravel() - 1) / 0.1), (rows, cols)), shape=(n, n))
        graph = graph + graph.T
        scale = sparse.diags(1 / np.sqrt(np.asarray(graph.sum(1)).ravel()))
        start = rng.standard_normal(n)
        _, vectors = sparse_linalg.eigsh(scale @ graph @ scale, k=CLUSTERS + 1, which="LA", v0=start)
        embedded = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        print(f"spectral clustering of the top-{k} graph: train ACC {hungarian_acc(kmeans(embedded, CLUSTERS, rng), labels):.2%}")
    print(f"k-means on the projections: train ACC {hungarian_acc(kmeans(train, CLUSTERS, rng), labels):.2%}")


def main():
    run, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    vectors, test, table, labels = load_run(run)
    rng = np.random.default_rng(seed)
    head = Head(vectors.shape[2], rng, 1e-3)
    train_scan(head, vectors, table, rng)
    start = [a.copy() for a in head.w]
    scan_probs = head.probabilities(test)
    print(f"SCAN head: test ACC {hungarian_acc(scan_probs.argmax(1), labels):.2%}")
    calibration(scan_probs, labels)
    for name, quota, strong in [("threshold + quota 0.2", 0.2, True),
                                ("threshold alone", 0.0, True),
                                ("threshold + quota, plain strong views", 0.2, False)]:
        head.w = [a.copy() for a in start]
        accs = self_label(head, vectors, test, labels, rng, quota, strong)
        print(f"self-labelled, {name}: after 1 / 5 / 10 epochs " +
              " / ".join(f"{a:.2%}" for a in accs))
    head.w = start
    train_probs = head.probabilities(vectors[:, 0])
    for share in (0.1, 0.2, 0.4, 1.0):
        chosen = fixed_set(train_probs, share)
        fresh = Head(vectors.shape[2], rng, 1e-3)
        pseudo = train_probs[chosen].argmax(1)
        for _ in range(20):
            order = rng.permutation(len(chosen))
            for s in range(0, len(order), 256):
                k = order[s:s + 256]
                cross_entropy_step(fresh, any_vector(vectors, chosen[k], rng), pseudo[k])
        acc = hungarian_acc(fresh.probabilities(test).argmax(1), labels)
        print(f"fresh head on each cluster's most confident {share:.0%}: test ACC {acc:.2%}")
    similar = test @ vectors[:, 0].T
    nearest = np.argpartition(-similar, 20, axis=1)[:, :20]
    voted = train_probs[nearest].mean(1).argmax(1)
    print(f"test images labelled by their 20 nearest train images: {hungarian_acc(voted, labels):.2%}")
    spectral(run, vectors[:, 0], rng)


if __name__ == "__main__":
    main()
