"""The LSTM and GRU recurrences as ONE graph node per layer call (Keras 3 layouts).

LSTM, ``kernel (features, 4*units)``, ``recurrent_kernel (units, 4*units)``,
``bias (4*units,)``, gate order i, f, c, o::

    a_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_c)
    c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

GRU with ``reset_after=True`` (Keras 3's default), ``kernel (features,
3*units)``, ``recurrent_kernel (units, 3*units)``, ``bias (2, 3*units)``
(row 0 input bias, row 1 recurrent bias), gate order z, r, h::

    xz, xr, xh = x_t @ kernel + bias[0];   rz, rr, rh = h_{t-1} @ recurrent_kernel + bias[1]
    z, r = sigmoid(xz + rz), sigmoid(xr + rr);   hh = tanh(xh + r * rh)
    h_t = z * h_{t-1} + (1 - z) * hh

As in ``ops.rnn``: the input projection of all steps is one GEMM into a
preallocated time-major buffer that becomes the gate activations (computed
in place); each step costs one ``(batch, units) @ (units, k*units)`` GEMM
forward and one backward; the weight and input gradients are one GEMM each
over all steps. Inputs are ``(batch, time, features)``; outputs are the
states ``(batch, time, units)`` in processing order (reversed in time with
``go_backwards``, as Keras).

Options: ``mask (batch, time)`` bool (a masked step carries h and c
through), ``initial_state`` (LSTM ``[h, c]``, GRU ``[h]``, each ``(batch,
units)``, differentiable), ``recurrent_dropout_mask (batch, units)``
(multiplies ``h_{t-1}`` before the recurrent GEMM; same mask every step).
Only activation tanh with recurrent_activation sigmoid runs fused. Each time step after its
GEMM is one fused kernel on a device (``ops.kernels`` ``lstm_step`` / ``gru_step`` and their
gradients), one numba-compiled loop with the same arguments on the CPU for float32 where numba
is installed (``kerasette.cpu_kernels``), else a few NumPy calls (below); ``rnn.step_runner``
picks.
"""
import numpy as _np

from .. import backend, parallel
from . import kernels
from ..autograd.function import Function
from .rnn import (_carry_back, _column_sums, _contiguous_transpose, _input_grads, _previous,
                  _recurrent_kernel_grad, _recurrent_step, full_batch_constants, input_projection, step_runner)

__all__ = ["lstm", "gru", "LSTMFunction", "GRUFunction"]


def _check_activations(name, activation, recurrent_activation):
    if (activation or "linear") != "tanh" or (recurrent_activation or "linear") != "sigmoid":
        raise NotImplementedError(f"{name} op: only activation='tanh' with recurrent_activation='sigmoid' "
                                  f"is implemented, got activation={activation!r}, "
                                  f"recurrent_activation={recurrent_activation!r}")


def _states(initial_state, count, name):
    if initial_state is None:
        return [None] * count
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    if len(states) != count:
        raise ValueError(f"{name} op: expected {count} initial state(s), got {len(states)}")
    return states


def lstm(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, go_backwards=False,
         recurrent_dropout_mask=None, activation="tanh", recurrent_activation="sigmoid"):
    """Run an LSTM over ``inputs`` ``(batch, time, features)`` as one node.

    ``initial_state`` is ``[h0, c0]`` (each ``(batch, units)``) or None.
    Returns ``(states, carry)``: every ``h`` ``(batch, time, units)`` in
    processing order, and the final cell state ``c`` ``(batch, units)``.
    """
    _check_activations("lstm", activation, recurrent_activation)
    h0, c0 = _states(initial_state, 2, "lstm")
    mask, rmask = full_batch_constants(inputs, recurrent_kernel, mask, recurrent_dropout_mask)
    return LSTMFunction(go_backwards=go_backwards)(inputs, kernel, recurrent_kernel, bias, h0, c0, mask, rmask)


def gru(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, go_backwards=False,
        recurrent_dropout_mask=None, activation="tanh", recurrent_activation="sigmoid", reset_after=True):
    """Run a GRU (``reset_after=True``) over ``inputs`` ``(batch, time, features)`` as one node.

    ``bias`` is ``(2, 3*units)``; ``initial_state`` is ``[h0]``, a bare
    ``(batch, units)`` tensor, or None. Returns every state ``(batch, time,
    units)`` in processing order.
    """
    _check_activations("gru", activation, recurrent_activation)
    if not reset_after:
        raise NotImplementedError("gru op: only reset_after=True (Keras 3's default) is implemented")
    (h0,) = _states(initial_state, 1, "gru")
    mask, rmask = full_batch_constants(inputs, recurrent_kernel, mask, recurrent_dropout_mask)
    return GRUFunction(go_backwards=go_backwards)(inputs, kernel, recurrent_kernel, bias, h0, mask, rmask)


def _keep(xp, mask, go_backwards):
    if mask is None:
        return None
    keep = mask.T[::-1] if go_backwards else mask.T
    return xp.ascontiguousarray(keep.astype(bool, copy=False))[..., None]       # (T, B, 1)


class LSTMFunction(Function):
    """Forward/backward of the whole LSTM recurrence (see the module docstring).

    Inputs: ``x, kernel, recurrent_kernel, bias, h0, c0, mask, rmask``; the
    last five may be None. Two results: the ``h`` sequence ``(batch, time,
    units)`` and the final cell state ``c`` ``(batch, units)``; backward takes
    a gradient for each (either may be None).
    """

    def __init__(self, go_backwards=False):
        self.go_backwards = bool(go_backwards)

    def forward(self, x, w, u, b, h0, c0, mask, rmask):
        xp = backend.get_array_module(x, w)
        B, T = x.shape[:2]
        U = u.shape[0]
        xt, G = input_projection(xp, x, w, b, self.go_backwards)    # G becomes the gate activations
        keep = _keep(xp, mask, self.go_backwards)
        H = xp.empty((T, B, U), dtype=G.dtype)
        C = xp.empty((T, B, U), dtype=G.dtype)
        TC = xp.empty((T, B, U), dtype=G.dtype)                        # tanh(c_t), kept for backward
        run_step = step_runner(xp, G.dtype)
        fused = run_step is not None
        u_run = u
        if not fused:
            # every gate's activation from ONE sigmoid pass per step (few NumPy calls per step:
            # the threads' shares then overlap instead of queueing for the GIL): the
            # pre-activations are negated, the cell candidate's doubled, so that
            # 1 / (1 + exp(pre)) is sigmoid(a) for i, f, o and sigmoid(2a) for g, and
            # tanh(a) = 2 sigmoid(2a) - 1
            scale = _gate_scale(xp, U, G.dtype, (-1, -1, -2, -1))
            G *= scale
            u_run = u * scale

        def part(lo, hi):
            # the recurrence of samples lo:hi (samples are independent: one thread's share)
            h = h0[lo:hi] if h0 is not None else xp.zeros((hi - lo, U), dtype=G.dtype)
            c = c0[lo:hi] if c0 is not None else xp.zeros((hi - lo, U), dtype=G.dtype)
            step = _recurrent_step(xp, u_run, rmask, lo, hi, G.dtype)
            ig = None if fused else xp.empty((hi - lo, U), dtype=G.dtype)
            for t in range(T):
                rec = step(h)
                Gt = G[t, lo:hi]
                if fused:                                 # one kernel for the whole step
                    run_step("lstm_step", Gt, rec, c, h, None if keep is None else keep[t, lo:hi],
                             C[t, lo:hi], H[t, lo:hi], TC[t, lo:hi])
                    h, c = H[t, lo:hi], C[t, lo:hi]
                    continue
                Gt += rec
                with _np.errstate(over="ignore"):         # exp(pre) = inf gives the exact 0
                    xp.exp(Gt, out=Gt)
                Gt += 1
                xp.reciprocal(Gt, out=Gt)
                g = Gt[:, 2 * U:3 * U]
                g *= 2
                g -= 1
                Ct, Ht, TCt = C[t, lo:hi], H[t, lo:hi], TC[t, lo:hi]
                xp.multiply(Gt[:, U:2 * U], c, out=Ct)
                xp.multiply(Gt[:, :U], g, out=ig)
                Ct += ig
                xp.tanh(Ct, out=TCt)
                xp.multiply(Gt[:, 3 * U:], TCt, out=Ht)
                if keep is not None:
                    Ct[...] = xp.where(keep[t, lo:hi], Ct, c)
                    Ht[...] = xp.where(keep[t, lo:hi], Ht, h)
                h, c = Ht, Ct

        parallel.run(part, parallel.ranges(B, xp=xp))
        if T:
            carry = C[-1]
        else:
            carry = c0 if c0 is not None else xp.zeros((B, U), dtype=G.dtype)
        if self.needs_grad:
            ng = self.needs_grad
            self.save(xt if ng[1] or (b is not None and ng[3]) else None, w, u, G, H, C, TC, h0, c0, keep, rmask)
        return H.transpose(1, 0, 2), carry

    def backward(self, g, g_carry):
        xt, w, u, G, H, C, TC, h0, c0, keep, rmask = self.saved
        xp = backend.get_array_module(G)
        T, B, U = H.shape
        gt = g.transpose(1, 0, 2) if g is not None else xp.zeros((T, B, U), dtype=G.dtype)
        run_step = step_runner(xp, G.dtype)          # one kernel per step (lstm_step_grad)
        fused = run_step is not None
        if fused:
            gt = xp.ascontiguousarray(gt)             # one copy, not one per step in the kernel
        dA = xp.empty_like(G)
        dA4 = dA.reshape(T, B, 4, U)                   # the same memory, one axis per gate
        h_skip = xp.empty((B, U), dtype=G.dtype) if fused and keep is not None else None
        Cprev = _previous(xp, C, c0)
        skip = (~keep).astype(G.dtype) if keep is not None else None
        carry_h = xp.zeros((B, U), dtype=G.dtype)
        carry_c = xp.zeros((B, U), dtype=G.dtype)
        if g_carry is not None:
            carry_c += g_carry
        uT = _contiguous_transpose(xp, u)

        def part(lo, hi):
            # backpropagation through time for samples lo:hi (one thread's share)
            ch, cc = carry_h[lo:hi], carry_c[lo:hi]
            dh = xp.empty((hi - lo, U), dtype=G.dtype)
            if not fused:
                dc = xp.empty((hi - lo, U), dtype=G.dtype)
            for t in range(T - 1, -1, -1):
                if not fused and (t == T - 1 or t % _FACTOR_STEPS == _FACTOR_STEPS - 1):
                    # what each gate's pre-activation gradient is, times dc (i, f, g) or dh (o),
                    # for the next few steps at once (cache-sized passes; the loop then makes 7
                    # calls a step): i: g i(1-i), f: c_{t-1} f(1-f), g: i (1-g^2), o: tanh(c_t) o(1-o);
                    # and Q = o (1 - tanh(c_t)^2), with dc = carry + dh * Q
                    t0 = t - t % _FACTOR_STEPS
                    Q = _lstm_local_factors(xp, G[t0:t + 1, lo:hi], Cprev[t0:t + 1, lo:hi], TC[t0:t + 1, lo:hi],
                                            dA[t0:t + 1, lo:hi], U)
                Gt, dAt = G[t, lo:hi], dA[t, lo:hi]
                if fused:
                    skip_t = None if keep is None else h_skip[lo:hi]
                    run_step("lstm_step_grad", Gt, TC[t, lo:hi], Cprev[t, lo:hi], gt[t, lo:hi], ch, cc,
                             None if keep is None else keep[t, lo:hi], dAt,
                             skip_t if skip_t is not None else dh)
                    _carry_back(xp, dAt, uT, ch, None if rmask is None else rmask[lo:hi], skip_t)
                    continue
                xp.add(gt[t, lo:hi], ch, out=dh)
                xp.multiply(dh, Q[t - t0], out=dc)
                dc += cc
                dA4[t, lo:hi, :3] *= dc[:, None, :]           # i, f, g: (n, 3, U) by (n, 1, U)
                dA4[t, lo:hi, 3] *= dh                        # o
                if keep is None:
                    xp.multiply(dc, Gt[:, U:2 * U], out=cc)
                else:
                    dAt *= keep[t, lo:hi]
                    cc[...] = xp.where(keep[t, lo:hi], dc * Gt[:, U:2 * U], cc)
                xp.matmul(dAt, uT, out=ch)
                if rmask is not None:
                    ch *= rmask[lo:hi]
                if keep is not None:
                    ch += dh * skip[t, lo:hi]

        parallel.run(part, parallel.ranges(B, xp=xp))
        ng = self.needs_grad
        gx, gw, gb = _input_grads(self, xt, w, dA, self.go_backwards, bias_index=3)
        gu = None
        if ng[2]:
            gu = _recurrent_kernel_grad(xp, _previous(xp, H, h0), rmask, dA)
        return gx, gw, gu, gb, carry_h, carry_c, None, None


# time steps whose local factors LSTMFunction.backward computes in one go (cache-sized blocks)
_FACTOR_STEPS = 4


def _gate_scale(xp, units, dtype, factors):
    """``(len(factors)*units,)``: each gate's columns times its factor (the LSTM's
    ``(-1, -1, -2, -1)``, the GRU's ``(-1, -1, 1)``; see their forwards)."""
    return xp.repeat(xp.asarray(factors, dtype=dtype), units)


def _lstm_local_factors(xp, G, Cprev, TC, P, U):
    """Write into ``P`` ``(T, n, 4U)`` each gate's local factor (see ``LSTMFunction.backward``)
    from the activations ``G`` ``(T, n, 4U)``, ``c_{t-1}`` and ``tanh(c_t)``; return
    ``o * (1 - tanh(c_t)^2)`` ``(T, n, U)``, the factor from ``dh`` to ``dc``."""
    i, f, g, o = (G[..., k * U:(k + 1) * U] for k in range(4))
    Pi, Pf, Pg, Po = (P[..., k * U:(k + 1) * U] for k in range(4))
    xp.subtract(1, i, out=Pi)
    Pi *= i
    Pi *= g
    xp.subtract(1, f, out=Pf)
    Pf *= f
    Pf *= Cprev
    xp.multiply(g, g, out=Pg)
    xp.subtract(1, Pg, out=Pg)
    Pg *= i
    xp.subtract(1, o, out=Po)
    Po *= o
    Po *= TC
    Q = TC * TC
    xp.subtract(1, Q, out=Q)
    Q *= o
    return Q


class GRUFunction(Function):
    """Forward/backward of the whole GRU (reset_after) recurrence (see the module docstring).

    Inputs: ``x, kernel, recurrent_kernel, bias (2, 3*units), h0, mask,
    rmask``; the last four may be None.
    """

    def __init__(self, go_backwards=False):
        self.go_backwards = bool(go_backwards)

    def forward(self, x, w, u, b, h0, mask, rmask):
        xp = backend.get_array_module(x, w)
        B, T = x.shape[:2]
        U = u.shape[0]
        xt, G = input_projection(xp, x, w, None if b is None else b[0], self.go_backwards)   # becomes z, r, hh
        keep = _keep(xp, mask, self.go_backwards)
        H = xp.empty((T, B, U), dtype=G.dtype)
        RH = xp.empty((T, B, U), dtype=G.dtype)                        # h_{t-1} @ U_h + b_h, for backward
        run_step = step_runner(xp, G.dtype)
        fused = run_step is not None
        u_run, b_rec = u, None if b is None else b[1]
        if not fused:
            # z and r from one 3-call sigmoid: their pre-activations negated (input part here,
            # recurrent part through the kernel and bias), so that 1 / (1 + exp(pre)) = sigmoid
            scale = _gate_scale(xp, U, G.dtype, (-1, -1, 1))
            G *= scale
            u_run = u * scale
            b_rec = None if b is None else b[1] * scale

        def part(lo, hi):
            # the recurrence of samples lo:hi (samples are independent: one thread's share)
            h = h0[lo:hi] if h0 is not None else xp.zeros((hi - lo, U), dtype=G.dtype)
            step = _recurrent_step(xp, u_run, rmask, lo, hi, G.dtype)
            for t in range(T):
                rec = step(h)
                if fused:                                 # one kernel for the whole step
                    run_step("gru_step", G[t, lo:hi], rec, b_rec, h,
                             None if keep is None else keep[t, lo:hi], RH[t, lo:hi], H[t, lo:hi])
                    h = H[t, lo:hi]
                    continue
                if b_rec is not None:
                    rec += b_rec
                Gt, RHt, Ht = G[t, lo:hi], RH[t, lo:hi], H[t, lo:hi]
                zr = Gt[:, :2 * U]
                zr += rec[:, :2 * U]
                with _np.errstate(over="ignore"):         # exp(pre) = inf gives the exact 0
                    xp.exp(zr, out=zr)
                zr += 1
                xp.reciprocal(zr, out=zr)
                RHt[...] = rec[:, 2 * U:]
                z, r, hh = Gt[:, :U], Gt[:, U:2 * U], Gt[:, 2 * U:]
                xp.multiply(r, RHt, out=Ht)               # Ht as scratch
                hh += Ht
                xp.tanh(hh, out=hh)
                xp.subtract(h, hh, out=Ht)
                Ht *= z
                Ht += hh
                if keep is not None:
                    Ht[...] = xp.where(keep[t, lo:hi], Ht, h)
                h = Ht

        parallel.run(part, parallel.ranges(B, xp=xp))
        if self.needs_grad:
            ng = self.needs_grad
            self.save(xt if ng[1] or (b is not None and ng[3]) else None, w, u, G, H, RH, h0, keep, rmask)
        return H.transpose(1, 0, 2)

    def backward(self, g):
        xt, w, u, G, H, RH, h0, keep, rmask = self.saved
        xp = backend.get_array_module(g, G)
        T, B, U = H.shape
        gt = g.transpose(1, 0, 2)
        Hprev = _previous(xp, H, h0)
        dR = xp.empty_like(G)              # dL/d(h_{t-1} @ recurrent_kernel + recurrent bias)
        carry = xp.zeros((B, U), dtype=G.dtype)
        uT = _contiguous_transpose(xp, u)

        dR4 = dR.reshape(T, B, 3, U)       # the same memory, one axis per gate
        run_step = step_runner(xp, G.dtype)
        fused = run_step is not None
        if fused:
            gt = xp.ascontiguousarray(gt)             # one copy, not one per step in the kernel

        def part(lo, hi):
            # backpropagation through time for samples lo:hi (one thread's share)
            c = carry[lo:hi]
            dh = xp.empty((hi - lo, U), dtype=G.dtype)
            for t in range(T - 1, -1, -1):
                Gt, dRt = G[t, lo:hi], dR[t, lo:hi]
                if fused:                                 # dh is the direct path's buffer here
                    run_step("gru_step_grad", Gt, RH[t, lo:hi], Hprev[t, lo:hi], gt[t, lo:hi], c,
                             None if keep is None else keep[t, lo:hi], dRt, dh)
                    _carry_back(xp, dRt, uT, c, None if rmask is None else rmask[lo:hi], dh)
                    continue
                if t == T - 1 or t % _FACTOR_STEPS == _FACTOR_STEPS - 1:
                    # every gradient of step t is dh times a factor of the forward values alone:
                    # computed for a few steps at once (then the step makes 8 calls)
                    t0 = t - t % _FACTOR_STEPS
                    Ah, Zd = _gru_local_factors(xp, G[t0:t + 1, lo:hi], Hprev[t0:t + 1, lo:hi],
                                                RH[t0:t + 1, lo:hi], None if keep is None else keep[t0:t + 1, lo:hi],
                                                dR[t0:t + 1, lo:hi], U)
                xp.add(gt[t, lo:hi], c, out=dh)
                dR4[t, lo:hi] *= dh[:, None, :]
                # G[t] becomes dL/d(input projection): z and r parts equal dR's, the h part is da_h
                Gt[:, :2 * U] = dRt[:, :2 * U]
                xp.multiply(dh, Ah[t - t0], out=Gt[:, 2 * U:])
                xp.matmul(dRt, uT, out=c)
                if rmask is not None:
                    c *= rmask[lo:hi]
                dh *= Zd[t - t0]                          # h_t = z * h_{t-1} + ...: the direct path
                c += dh

        parallel.run(part, parallel.ranges(B, xp=xp))
        ng = self.needs_grad
        gx, gw, gb_input = _input_grads(self, xt, w, G, self.go_backwards, bias_index=3)
        gu = gb = None
        if ng[2]:
            gu = _recurrent_kernel_grad(xp, Hprev, rmask, dR)
        if gb_input is not None:
            gb = xp.stack([gb_input, _column_sums(xp, dR.reshape(T * B, 3 * U))])
        return gx, gw, gu, gb, carry, None, None


def _gru_local_factors(xp, G, Hprev, RH, keep, P, U):
    """Write into ``P`` ``(T, n, 3U)`` the factors that turn ``dh`` into ``dR`` (z, r, h parts)
    from the activations ``G`` ``(T, n, 3U)``, ``h_{t-1}`` and ``RH``; return the factor of
    ``da_h`` (the candidate's pre-activation) and of the direct path ``dh -> dh_{t-1}``, each
    ``(T, n, U)``; a ``keep`` mask ``(T, n, 1)`` zeroes the masked steps (the direct path: 1)::

        da_h = dh (1-z)(1-hh^2);  dR_z = dh (h_{t-1} - hh) z(1-z)
        dR_r = da_h RH r(1-r);    dR_h = da_h r
    """
    z, r, hh = (G[..., k * U:(k + 1) * U] for k in range(3))
    Pz, Pr, Ph = (P[..., k * U:(k + 1) * U] for k in range(3))
    Ah = hh * hh
    xp.subtract(1, Ah, out=Ah)
    one_minus_z = 1 - z
    Ah *= one_minus_z
    xp.subtract(Hprev, hh, out=Pz)
    Pz *= z
    Pz *= one_minus_z
    xp.subtract(1, r, out=Pr)
    Pr *= r
    Pr *= RH
    Pr *= Ah
    xp.multiply(Ah, r, out=Ph)
    if keep is None:
        return Ah, z.copy()                  # G's z is overwritten step by step (dL/d input)
    P *= keep
    Ah *= keep
    return Ah, xp.where(keep, z, 1)
