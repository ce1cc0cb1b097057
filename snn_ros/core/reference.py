"""Slow, obvious references of every core kernel (stumpy's ``naive.py`` idea).

Plain Python loops and whole-array numpy, written for readability, used by the tests to check
the fast paths. ``ReferenceProjection`` implements the every-step three-factor rule of
WORKLOAD.md literally (every synapse, every step) behind the ``Projection`` API, so a whole
``Network`` can run on it for comparison.
"""

from __future__ import annotations

import math

import numpy as np


def lif_step(v, theta, ref, i_in, alpha, reset_zero, refractory_steps):
    """Return (v, ref, spiked) after one step; the current ``i_in`` was delivered this step."""
    v = v * alpha
    spiked = (v >= theta) & (ref == 0)
    v_new = v.copy()
    ref_new = ref.copy()
    for i in range(v.size):
        if spiked[i]:
            v_new[i] = 0.0 if reset_zero else v[i] + i_in[i] - theta[i]
            ref_new[i] = refractory_steps
        elif ref[i] > 0:
            ref_new[i] = ref[i] - 1
        else:
            v_new[i] = v[i] + i_in[i]
    return v_new, ref_new, spiked.astype(np.uint8)


def near_threshold(v, theta, ref, kappa):
    """Return the eligibility events: indices with ``v >= kappa * theta`` and ``ref == 0``.

    ``v`` is the leaked membrane of the threshold test (``alpha * v`` before the input).
    """
    return np.nonzero((v >= kappa * theta) & (ref == 0))[0]


def homeostasis(theta, spiked, eta, p_target, theta_min, theta_max):
    """Return ``clip(theta + eta * (s - p_target), theta_min, theta_max)``."""
    return np.clip(theta + eta * (spiked - p_target), theta_min, theta_max)


def margin_wta(counts, target, margin, gain, balance=False):
    """Return the sparse margin WTA error of a count vector."""
    counts = np.asarray(counts, float)
    err = np.zeros(counts.size)
    rivals = [c for c in range(counts.size) if c != target]
    best_rival = max(counts[c] for c in rivals)
    if counts[target] - best_rival < margin:
        err[target] = gain
    violating = [c for c in rivals if counts[target] - counts[c] < margin]
    for c in violating:
        err[c] = -gain / len(violating) if balance else -gain
    return err


def modulate(err, a_mat, g_indptr, g_indices, g_weights, gain):
    """Return ``gain * G (A err)`` with ``G`` given in CSR by hidden neuron."""
    act = a_mat @ err
    n = g_indptr.size - 1
    g = np.zeros((n, act.size))
    for i in range(n):
        for p in range(g_indptr[i], g_indptr[i + 1]):
            g[i, g_indices[p]] += g_weights[p]
    return gain * (g @ act)


def deliver(indptr, indices, weights, pre_spikes, n_post):
    """Return the current ``i[post] = sum_{pre spiking} w[pre, post]``."""
    out = np.zeros(n_post)
    for pre in pre_spikes:
        for p in range(indptr[pre], indptr[pre + 1]):
            out[indices[p]] += weights[p]
    return out


def clustering(n, edge_set):
    """Return the average local clustering of an undirected graph given as a set of pairs."""
    nbr = [set() for _ in range(n)]
    for u, v in edge_set:
        if u != v:
            nbr[u].add(v)
            nbr[v].add(u)
    total = 0.0
    for u in range(n):
        d = len(nbr[u])
        if d < 2:
            continue
        links = sum(1 for a in nbr[u] for b in nbr[u] if a < b and b in nbr[a])
        total += 2.0 * links / (d * (d - 1))
    return total / n


def mean_path_length(n, edge_set):
    """Return the mean shortest path over all reachable ordered pairs (BFS from every node)."""
    nbr = [set() for _ in range(n)]
    for u, v in edge_set:
        if u != v:
            nbr[u].add(v)
            nbr[v].add(u)
    total = pairs = 0
    for s in range(n):
        dist = {s: 0}
        frontier = [s]
        while frontier:
            nxt = []
            for u in frontier:
                for v in nbr[u]:
                    if v not in dist:
                        dist[v] = dist[u] + 1
                        nxt.append(v)
            frontier = nxt
        total += sum(dist.values())
        pairs += len(dist) - 1
    return total / pairs if pairs else math.inf


class ReferenceProjection:
    """Every-synapse, every-step three-factor rule with the ``Projection`` API.

    Per step t: leak ``x *= lam_x; e *= lam_e``; deliver ``i_post += w s_pre`` and
    ``e += x_pre s_post``; ``x += s_pre``; ``w += lr e m_post`` (when learning), clipped to
    ``[w_min, w_max]`` and, with ``sign``, to the sign of the presynaptic neuron.
    """

    def __init__(self, n_pre, n_post, indptr, indices, weights, *, lam_x, lam_e, w_min,
                 w_max, plastic=True, sign=None):
        self.n_pre, self.n_post = n_pre, n_post
        self.indptr = np.asarray(indptr, np.int64)
        self.indices = np.asarray(indices, np.int64)
        self.w = np.array(weights, np.float64)
        self.pre_of = np.repeat(np.arange(n_pre), np.diff(self.indptr))
        self.lam_x, self.lam_e = lam_x, lam_e
        self.w_min, self.w_max = w_min, w_max
        self.plastic = plastic
        self.sign = None if sign is None else np.asarray(sign, np.float64)
        self.x = np.zeros(n_pre)
        self.e = np.zeros(self.w.size)
        self.m = np.zeros(n_post)
        self.learning_rate = 0.0
        self.learning = True
        self.t_leaked = -1
        self.t_plastic = -1

    def _plasticity(self):
        if not (self.plastic and self.learning):
            return
        self.w = self.w + self.learning_rate * self.e * self.m[self.indices]
        self.w = np.clip(self.w, self.w_min, self.w_max)
        if self.sign is not None:
            s = self.sign[self.pre_of]
            self.w = np.where(s > 0, np.maximum(self.w, 0.0), np.minimum(self.w, 0.0))

    def _advance(self, t, leak_t):
        while self.t_plastic < t - 1:
            s = self.t_plastic + 1
            if self.t_leaked < s:
                self.x *= self.lam_x
                self.e *= self.lam_e
                self.t_leaked = s
            self._plasticity()
            self.t_plastic = s
        if leak_t and self.t_leaked < t:
            self.x *= self.lam_x
            self.e *= self.lam_e
            self.t_leaked = t

    def deliver(self, t, pre_spikes, i_post):
        """Add ``w`` of every synapse of each spiking pre to ``i_post`` (step t)."""
        self._advance(t, True)
        for pre in pre_spikes:
            for p in range(self.indptr[pre], self.indptr[pre + 1]):
                i_post[self.indices[p]] += self.w[p]

    def on_post_spikes(self, t, post_spikes):
        """Add the decayed presynaptic trace to the eligibility of each spiking post's inputs."""
        self._advance(t, True)
        hit = np.zeros(self.n_post, bool)
        hit[np.asarray(post_spikes, np.int64)] = True
        sel = hit[self.indices]
        self.e[sel] += self.x[self.pre_of[sel]]

    def on_pre_spikes(self, t, pre_spikes):
        """Increment the presynaptic trace of spiking pres."""
        self._advance(t, True)
        self.x[np.asarray(pre_spikes, np.int64)] += 1.0

    def step(self, t, pre_spikes, post_spikes, i_post):
        """``deliver``, ``on_post_spikes`` and ``on_pre_spikes`` of step t, in this order."""
        self.deliver(t, pre_spikes, i_post)
        self.on_post_spikes(t, post_spikes)
        self.on_pre_spikes(t, pre_spikes)

    def set_modulation(self, t, m_post):
        """Use ``m_post`` as the third factor from step t on."""
        self._advance(t, False)
        self.m = np.array(m_post, np.float64)

    def flush(self, t):
        """Complete every step up to and including t."""
        self._advance(t + 1, False)

    def weights(self):
        """Return a copy of the current synaptic strengths (CSR order)."""
        return self.w.copy()

    def state_dict(self):
        """Return the state as arrays."""
        return {'w': self.w.copy(), 'x': self.x.copy(), 'e': self.e.copy(), 'm': self.m.copy(),
                't': np.array([self.t_leaked, self.t_plastic], np.int64)}

    def load_state_dict(self, d):
        """Restore a state from ``state_dict``."""
        self.w = np.array(d['w'], np.float64)
        self.x = np.array(d['x'], np.float64)
        self.e = np.array(d['e'], np.float64)
        self.m = np.array(d['m'], np.float64)
        self.t_leaked, self.t_plastic = (int(v) for v in d['t'])
