"""Slow, obvious every-step reference of ``snn_ros.core.plasticity.Projection``.

Every synapse is touched every step, in the order of WORKLOAD.md::

    1. x *= lam_x; e *= lam_e
    3. i_post[j] += w s_i;  e += x_i s_j
    4. x += s_i
    5. w += lr e m_j (when learning), clipped to the bounds (and the Dale sign)

A step is opened (leak) by the first call with that step and closed (plasticity) by the first
call with a later step or by ``flush``. ``learning_rate`` / ``learning`` changes take effect at
the next call, for the steps not yet closed before it, as in the fast path.
"""

from __future__ import annotations

import numpy as np


class ReferenceProjection:
    """Every-step three-factor rule with the ``Projection`` API (tests only)."""

    def __init__(self, n_pre, n_post, indptr, indices, weights, *, lam_x, lam_e,
                 w_min, w_max, plastic=True, sign=None):
        """Build the projection (same arguments as ``Projection``)."""
        self.n_pre, self.n_post = int(n_pre), int(n_post)
        self.indptr = np.asarray(indptr, np.int64)
        self.indices = np.asarray(indices, np.int64)
        self.w = np.array(weights, np.float64)
        self.pre_of = np.repeat(np.arange(self.n_pre), np.diff(self.indptr))
        self.lam_x, self.lam_e = float(lam_x), float(lam_e)
        self.plastic = plastic
        lo = np.full(self.n_pre, float(w_min))
        hi = np.full(self.n_pre, float(w_max))
        if sign is not None:
            sign = np.asarray(sign, np.float64)
            lo = np.where(sign > 0, max(w_min, 0.0), w_min)
            hi = np.where(sign > 0, w_max, min(w_max, 0.0))
        self.lo, self.hi = lo[self.pre_of], hi[self.pre_of]
        self.x = np.zeros(self.n_pre)
        self.e = np.zeros(self.w.size)
        self.m = np.zeros(self.n_post)
        self.learning_rate = 0.0
        self.learning = True
        self._params = (0.0, True)   # (lr, learning) in effect for open steps
        self._closed = -1            # last step whose plasticity ran
        self._open = None            # step leaked but not yet closed

    def _close(self, k):
        lr, learning = self._params
        if self.plastic and learning:
            for s in range(self.w.size):
                w = self.w[s] + lr * self.e[s] * self.m[self.indices[s]]
                self.w[s] = min(max(w, self.lo[s]), self.hi[s])
        self._closed = k
        self._open = None

    def _leak(self, k):
        self.x *= self.lam_x
        self.e *= self.lam_e
        self._open = k

    def _sync(self, t):
        """Close every step before t, then open step t."""
        if self._open is not None and self._open < t:
            self._close(self._open)
        while self._closed + 1 < t:
            self._leak(self._closed + 1)
            self._close(self._closed + 1)
        self._params = (float(self.learning_rate), bool(self.learning))
        if self._open is None and t > self._closed:
            self._leak(t)

    def deliver(self, t, pre_spikes, i_post):
        """Add ``w`` of every synapse of each spiking pre to ``i_post``."""
        self._sync(t)
        for i in np.asarray(pre_spikes, np.int64):
            for s in range(self.indptr[i], self.indptr[i + 1]):
                i_post[self.indices[s]] += self.w[s]

    def on_post_spikes(self, t, post_spikes):
        """Add ``x_pre`` to the eligibility of every synapse into a spiking post."""
        self._sync(t)
        post = set(int(j) for j in np.asarray(post_spikes, np.int64))
        for s in range(self.w.size):
            if int(self.indices[s]) in post:
                self.e[s] += self.x[self.pre_of[s]]

    def on_pre_spikes(self, t, pre_spikes):
        """Increment the presynaptic trace of spiking pres."""
        self._sync(t)
        for i in set(int(i) for i in np.asarray(pre_spikes, np.int64)):
            self.x[i] += 1.0

    def step(self, t, pre_spikes, post_spikes, i_post):
        """``deliver``, ``on_post_spikes`` and ``on_pre_spikes`` of step t, in this order."""
        self.deliver(t, pre_spikes, i_post)
        self.on_post_spikes(t, post_spikes)
        self.on_pre_spikes(t, pre_spikes)

    def set_modulation(self, t, m_post):
        """Use ``m_post`` as the third factor from step t on."""
        self._sync(t)
        self.m = np.array(m_post, np.float64)

    def flush(self, t):
        """Close every step up to and including t."""
        self._sync(t)
        if self._open == t:
            self._close(t)

    def weights(self):
        """Return a copy of the weight array (CSR order)."""
        return self.w.copy()

    def eligibility(self):
        """Return the eligibility per synapse."""
        return self.e.copy()

    def presynaptic_trace(self, t):
        """Return x per presynaptic neuron (valid after flush(t))."""
        return self.x.copy()
