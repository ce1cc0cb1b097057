"""A batch of network steps in one numba call.

``Network._step`` runs one step from Python: a few numba calls per neuron group and one per
projection, each of which unboxes its arrays (a :class:`ProjectionArrays` holds 36), about
60-80 us per step before any synaptic work. :func:`run_steps` runs the same per-step order
(threshold every group; deliver, eligibility and presynaptic traces per projection in
network order; integrate, reset and homeostasis; readout counts) for a whole batch, calling
the same kernels, so its results are bit-identical to the per-step path
(``test/test_core_network.py`` checks it against :meth:`Network.step`).
"""

from __future__ import annotations

from snn_ros.core._numba import njit
from snn_ros.core.neurons import (_homeostasis, _lif_integrate_reset, _lif_threshold,
                                  _near_threshold)
from snn_ros.core.plasticity import deliver_static, step_kernel


@njit
def run_steps(n_steps, t0, in_idx, in_bounds, vs, thetas, refs, i_ins, spikeds, idxs, nsp,
              alphas, reset_modes, refractory_steps, homeostasis, etas, p_targets, theta_min,
              theta_max, projs, pre_g, post_g, plastic, fired_all, all_readout, readout_group,
              class_of, counts, stat_spikes, n_hidden, want_hidden, ro_out, ro_off, hid_out,
              hid_off, kappa, nears, nnear):
    """Run ``n_steps`` steps from step ``t0``; return (readout spikes, hidden spikes) written.

    Args:
        in_idx, in_bounds: input channels of step ``s`` are
            ``in_idx[in_bounds[s]:in_bounds[s + 1]]`` (sorted, unique).
        vs, thetas, refs, i_ins, spikeds, idxs: the LIF state arrays per group (tuples in
            group order, readout last); ``nsp`` (int64[groups]) gets the spike counts of the
            last step.
        alphas, reset_modes, etas, p_targets: membrane decay, reset mode and homeostatic
            step and target spike probability per group (the readout may have its own).
        projs: the :class:`ProjectionArrays` per projection (tuple in network order);
            ``pre_g`` (-1: the input), ``post_g`` group per projection; ``plastic`` and
            ``fired_all`` (the readout delta rule: every readout neuron counts as fired)
            flags per projection.
        class_of, counts: readout neuron -> class, class spike counts (mutated).
        stat_spikes: spikes per group (mutated).
        ro_out, ro_off: readout spike indices and their step (size >= n_steps * n_readout).
        hid_out, hid_off: hidden spikes (layer k at ``k * n_hidden``) and their step, when
            ``want_hidden``.
        kappa, nears, nnear: ``plasticity.elig_v_fraction``; below 1 the eligibility events
            of plastic projections onto hidden group ``k`` are ``nears[k][:nnear[k]]``
            (``v >= kappa * theta`` after the leak, refractory excluded) instead of its
            spikes.

    """
    n_groups = len(vs)
    n_ro = 0
    n_hid = 0
    for s in range(n_steps):
        t = t0 + s
        for k in range(n_groups):
            nsp[k] = _lif_threshold(vs[k], thetas[k], refs[k], alphas[k], spikeds[k], idxs[k])
            if kappa < 1.0 and k < readout_group:
                nnear[k] = _near_threshold(vs[k], thetas[k], refs[k], kappa, nears[k])
        for j in range(len(projs)):
            g = pre_g[j]
            if g < 0:
                pre = in_idx[in_bounds[s]:in_bounds[s + 1]]
            else:
                pre = idxs[g][:nsp[g]]
            q = post_g[j]
            a = projs[j]
            if plastic[j]:
                if fired_all[j]:
                    step_kernel(a, t, pre, all_readout, i_ins[q])
                elif kappa < 1.0 and q < readout_group:
                    step_kernel(a, t, pre, nears[q][:nnear[q]], i_ins[q])
                else:
                    step_kernel(a, t, pre, idxs[q][:nsp[q]], i_ins[q])
            else:
                deliver_static(a.indptr, a.indices, a.w, pre, i_ins[q])
        for k in range(n_groups):
            _lif_integrate_reset(vs[k], i_ins[k], spikeds[k], thetas[k], refs[k],
                                 reset_modes[k], refractory_steps)
            if homeostasis:
                _homeostasis(thetas[k], spikeds[k], etas[k], p_targets[k], theta_min, theta_max)
            stat_spikes[k] += nsp[k]
        ro = idxs[readout_group]
        for i in range(nsp[readout_group]):
            counts[class_of[ro[i]]] += 1.0
            ro_out[n_ro] = ro[i]
            ro_off[n_ro] = s
            n_ro += 1
        if want_hidden:
            for k in range(readout_group):
                for i in range(nsp[k]):
                    hid_out[n_hid] = idxs[k][i] + k * n_hidden
                    hid_off[n_hid] = s
                    n_hid += 1
    return n_ro, n_hid
