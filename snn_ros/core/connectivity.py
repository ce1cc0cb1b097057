"""Sparse wiring in CSR by presynaptic neuron, and the small-world report.

* ``random_csr``: each pre->post pair exists with probability p, weights U(lo, hi).
* ``block_recurrent_csr``: microcircuits, dense inside blocks (no autapses), nothing across
  blocks unless ``p_rewire`` moves a synapse's target into another block.
* ``small_world_csr``: Watts-Strogatz on a bipartite ring: pre i sits at ring position
  ``i * n_post / n_pre`` and reaches the k nearest post slots, each edge rewired to a random
  post with probability p.
* ``wiring_report``: clustering coefficient and mean path length of the undirected graph of
  all hidden and readout neurons, beside those of an Erdos-Renyi graph of the same size.
"""

from __future__ import annotations

import math

import numpy as np

from snn_ros.core._numba import njit


def _to_csr(n_pre: int, pre: np.ndarray, post: np.ndarray, w: np.ndarray):
    order = np.lexsort((post, pre))
    pre, post, w = pre[order], post[order], w[order]
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr, post.astype(np.int64), w.astype(np.float64)


def random_csr(rng: np.random.Generator, n_pre: int, n_post: int, p: float, lo: float,
               hi: float):
    """Return (indptr, indices, weights): Bernoulli(p) synapses with U(lo, hi) weights."""
    mask = rng.random((n_pre, n_post)) < p
    pre, post = np.nonzero(mask)
    w = rng.uniform(lo, hi, size=pre.size)
    return _to_csr(n_pre, pre, post, w)


def local_csr(rng: np.random.Generator, n_pre: int, n_post: int, width: int, height: int,
              radius: float, p: float, lo: float, hi: float):
    """Return (indptr, indices, weights) of local receptive fields on an image-like input.

    Channel ``c`` is pixel ``(c % width, (c // width) % height)`` of plane
    ``c // (width * height)``. Each post neuron gets a uniform random centre and connects with
    probability ``p`` to every channel (of every plane) within ``radius`` pixels; U(lo, hi).
    """
    pix = np.arange(n_pre)
    x = (pix % width).astype(np.float64)
    y = ((pix // width) % height).astype(np.float64)
    cx = rng.uniform(0.0, width - 1.0, n_post)
    cy = rng.uniform(0.0, height - 1.0, n_post)
    near = (x[:, None] - cx[None, :]) ** 2 + (y[:, None] - cy[None, :]) ** 2 <= radius ** 2
    mask = near & (rng.random((n_pre, n_post)) < p)
    pre, post = np.nonzero(mask)
    w = rng.uniform(lo, hi, size=pre.size)
    return _to_csr(n_pre, pre, post, w)


def block_recurrent_csr(rng: np.random.Generator, n: int, block: int, std: float,
                        sign: np.ndarray | None = None, p_rewire: float = 0.0):
    """Return (indptr, indices, weights) of dense microcircuits of ``block`` neurons.

    Weights are N(0, std); with ``sign`` (Dale) they are ``sign[pre] * |N(0, std)|``. With
    ``p_rewire`` each synapse moves with that probability to a random neuron of another block
    (skipped when it would duplicate a synapse).
    """
    nb = n // block
    local = np.arange(block)
    pre_l, post_l = np.meshgrid(local, local, indexing='ij')
    keep = pre_l != post_l
    pre_l, post_l = pre_l[keep], post_l[keep]
    offs = np.repeat(np.arange(nb) * block, pre_l.size)
    pre = np.tile(pre_l, nb) + offs
    post = np.tile(post_l, nb) + offs
    w = rng.normal(0.0, std, size=pre.size)
    if sign is not None:
        w = sign[pre] * np.abs(w)
    if p_rewire > 0.0 and nb > 1:
        move = np.nonzero(rng.random(pre.size) < p_rewire)[0]
        other = rng.integers(0, n - block, size=move.size)
        blk = pre[move] // block
        target = np.where(other >= blk * block, other + block, other)
        existing = set((pre * n + post).tolist())
        for j, m in enumerate(move):
            key = int(pre[m]) * n + int(target[j])
            if key not in existing:
                existing.discard(int(pre[m]) * n + int(post[m]))
                existing.add(key)
                post[m] = target[j]
    return _to_csr(n, pre, post, w)


def ring_order(n_classes: int, pop_size: int) -> np.ndarray:
    """Return readout neuron ids in ring order, classes interleaved (neighbours differ)."""
    slot = np.arange(n_classes * pop_size)
    return (slot % n_classes) * pop_size + slot // n_classes


def small_world_csr(rng: np.random.Generator, n_pre: int, n_post: int, k: int,
                    p_rewire: float, lo: float, hi: float,
                    post_order: np.ndarray | None = None):
    """Return (indptr, indices, weights) of a Watts-Strogatz bipartite ring projection.

    Args:
        rng: the network's generator.
        n_pre, n_post: sizes; ``k <= n_post`` targets per presynaptic neuron.
        p_rewire: probability of moving each lattice edge to a uniformly random post neuron
            that the presynaptic neuron does not reach yet.
        lo, hi: weights U(lo, hi).
        post_order: post neuron id of each ring slot (default identity).
    """
    k = int(min(max(k, 0), n_post))
    order = np.arange(n_post) if post_order is None else np.asarray(post_order)
    centre = np.floor(np.arange(n_pre) * n_post / n_pre).astype(np.int64)
    offs = np.arange(k) - k // 2
    slots = (centre[:, None] + offs[None, :]) % n_post
    targets = order[slots]
    rewire = rng.random((n_pre, k)) < p_rewire
    for i in np.nonzero(rewire.any(axis=1))[0]:
        row = targets[i]
        present = set(row.tolist())
        for j in np.nonzero(rewire[i])[0]:
            if len(present) >= n_post:
                break
            while True:
                cand = int(rng.integers(0, n_post))
                if cand not in present:
                    break
            present.discard(int(row[j]))
            present.add(cand)
            row[j] = cand
    pre = np.repeat(np.arange(n_pre), k)
    w = rng.uniform(lo, hi, size=pre.size)
    return _to_csr(n_pre, pre, targets.reshape(-1), w)


def undirected_csr(n: int, edges: list[tuple[np.ndarray, np.ndarray]]):
    """Return (indptr, indices) of the simple undirected graph of the given (u, v) edge arrays."""
    us = [np.asarray(u, np.int64) for u, _ in edges]
    vs = [np.asarray(v, np.int64) for _, v in edges]
    u = np.concatenate(us + vs) if us else np.zeros(0, np.int64)
    v = np.concatenate(vs + us) if vs else np.zeros(0, np.int64)
    keep = u != v
    key = np.unique(u[keep] * n + v[keep])
    u, v = key // n, key % n
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return indptr, v


@njit
def _clustering(indptr, indices, out):
    """C_u = 2 T_u / (d_u (d_u - 1)), T_u the triangles through u (sorted adjacency).

    Mutates out (one value per node, 0 for degree < 2).
    """
    n = indptr.shape[0] - 1
    for u in range(n):
        a0, a1 = indptr[u], indptr[u + 1]
        d = a1 - a0
        if d < 2:
            out[u] = 0.0
            continue
        links = 0
        for p in range(a0, a1):
            v = indices[p]
            i, j = a0, indptr[v]
            je = indptr[v + 1]
            while i < a1 and j < je:
                if indices[i] == indices[j]:
                    links += 1
                    i += 1
                    j += 1
                elif indices[i] < indices[j]:
                    i += 1
                else:
                    j += 1
        out[u] = links / (d * (d - 1.0))


@njit
def _bfs_sum(indptr, indices, source, dist, queue):
    """Breadth-first distances from ``source``; return (sum of distances, reached count).

    Mutates dist (-1 = unreached) and queue.
    """
    dist[:] = -1
    dist[source] = 0
    head, tail = 0, 1
    queue[0] = source
    total = 0
    while head < tail:
        u = queue[head]
        head += 1
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if dist[v] < 0:
                dist[v] = dist[u] + 1
                total += dist[v]
                queue[tail] = v
                tail += 1
    return total, tail - 1


def clustering_coefficient(indptr: np.ndarray, indices: np.ndarray) -> float:
    """Return the average local clustering coefficient of an undirected CSR graph."""
    n = indptr.size - 1
    out = np.zeros(n)
    _clustering(indptr, indices, out)
    return float(out.mean()) if n else 0.0


def mean_path_length(indptr: np.ndarray, indices: np.ndarray, n_sources: int = 128,
                     seed: int = 0) -> float:
    """Return the mean shortest-path length over reachable pairs from sampled sources.

    All nodes are sources when ``n_sources >= n``; the sample uses its own generator, so the
    report never touches the network's RNG.
    """
    n = indptr.size - 1
    if n < 2:
        return 0.0
    if n_sources >= n:
        sources = np.arange(n)
    else:
        sources = np.random.default_rng(seed).choice(n, n_sources, replace=False)
    dist = np.empty(n, np.int64)
    queue = np.empty(n, np.int64)
    total = 0
    pairs = 0
    for s in sources:
        t, c = _bfs_sum(indptr, indices, int(s), dist, queue)
        total += t
        pairs += c
    return float(total / pairs) if pairs else math.inf


def wiring_report(n: int, edges: list[tuple[np.ndarray, np.ndarray]],
                  n_sources: int = 128) -> dict[str, float]:
    """Return clustering, path length and the small-world index of an undirected graph.

    The equivalent random graph (same nodes and edges) uses the Erdos-Renyi estimates
    ``C_rand = <k> / (n - 1)`` and ``L_rand = ln n / ln <k>``; ``sigma = (C/C_rand)/(L/L_rand)``
    above 1 marks a small world.
    """
    indptr, indices = undirected_csr(n, edges)
    n_edges = indices.size // 2
    mean_deg = 2.0 * n_edges / n if n else 0.0
    c = clustering_coefficient(indptr, indices)
    length = mean_path_length(indptr, indices, n_sources)
    c_rand = mean_deg / (n - 1) if n > 1 else 0.0
    l_rand = math.log(n) / math.log(mean_deg) if mean_deg > 1 else math.inf
    sigma = ((c / c_rand) / (length / l_rand)
             if c_rand > 0 and length > 0 and math.isfinite(l_rand) else 0.0)
    return {'nodes': float(n), 'edges': float(n_edges), 'mean_degree': mean_deg,
            'clustering': c, 'path_length': length, 'clustering_random': c_rand,
            'path_length_random': l_rand, 'small_world_sigma': sigma}
