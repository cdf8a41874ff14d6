"""The SimpleRNN recurrence as ONE graph node per layer call.

    h_t = act(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)

Input ``x`` is ``(batch, time, features)``, ``kernel`` ``(features, units)``,
``recurrent_kernel`` ``(units, units)``, ``bias`` ``(units,)``; the output
is the whole sequence of states ``(batch, time, units)`` (a layer that
wants only the last state slices it).

Why one node: backpropagation through time over a graph of elementary ops
would pay Python bookkeeping for every add / matmul / tanh of every step.
Here the forward pass does the input projection of all steps as one GEMM
``(time*batch, features) @ (features, units)`` and then loops over time with
one small GEMM and an in-place activation per step, writing into one
preallocated time-major buffer. The backward pass walks time in reverse
with one GEMM per step for the recurrent gradient, and then computes
``d kernel``, ``d recurrent_kernel`` and ``d x`` with one GEMM each over all
steps at once.

Options:
    mask ``(batch, time)`` bool: at a step where a sample is masked its state
        carries through unchanged (Keras semantics); the state sequence then
        repeats the previous state there.
    initial_state ``(batch, units)``: ``h_{-1}`` (zeros when absent); it gets
        a gradient.
    recurrent_dropout_mask ``(batch, units)``: multiplies ``h_{t-1}`` before
        the recurrent GEMM (the same mask at every step, as Keras).
    go_backwards: process the sequence from the last step to the first; the
        output is in processing order, i.e. reversed in time, as Keras.
    activation: "tanh", "relu", "sigmoid" or "linear" run inside the node;
        other activations are refused (a layer falls back to a graph of ops).
"""
from .. import backend, cpu_kernels, parallel
from . import kernels
from ..autograd.function import Function

__all__ = ["simple_rnn", "SimpleRNNFunction", "FUSED_ACTIVATIONS"]

FUSED_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def simple_rnn(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               activation="tanh", go_backwards=False, recurrent_dropout_mask=None):
    """Run a SimpleRNN over ``inputs`` ``(batch, time, features)`` as one node.

    Returns the states of every step, ``(batch, time, units)``, in processing
    order (reversed in time when ``go_backwards``). ``mask`` and
    ``recurrent_dropout_mask`` are constants (no gradient).
    """
    mask, rmask = full_batch_constants(inputs, recurrent_kernel, mask, recurrent_dropout_mask)
    op = SimpleRNNFunction(activation=activation, go_backwards=go_backwards)
    return op(inputs, kernel, recurrent_kernel, bias, initial_state, mask, rmask)


def full_batch_constants(inputs, recurrent_kernel, mask, recurrent_dropout_mask):
    """``mask`` as ``(batch, time)`` and the recurrent dropout mask as ``(batch, units)``
    arrays (broadcast views when given smaller): the recurrences slice them by sample."""
    mask = getattr(mask, "value", mask)
    rmask = getattr(recurrent_dropout_mask, "value", recurrent_dropout_mask)
    x = getattr(inputs, "value", inputs)
    xp = backend.get_array_module(x)
    mask = _broadcast(xp, mask, tuple(x.shape[:2]), "mask", "(batch, time)")
    rmask = _broadcast(xp, rmask, (x.shape[0], recurrent_kernel.shape[0]), "recurrent_dropout_mask",
                       "(batch, units)")
    return mask, rmask


def _broadcast(xp, a, shape, name, what):
    if a is None:
        return None
    try:
        return xp.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"recurrent op: {name} of shape {tuple(a.shape)} does not fit {what} = {shape}") from None


class SimpleRNNFunction(Function):
    """Forward/backward of the whole SimpleRNN recurrence (see the module docstring).

    Inputs: ``x, kernel, recurrent_kernel, bias, h0, mask, rmask``; the last
    four may be None.
    """

    def __init__(self, activation="tanh", go_backwards=False):
        if activation is None:
            activation = "linear"
        if activation not in FUSED_ACTIVATIONS:
            raise ValueError(f"simple_rnn op: activation must be one of {list(FUSED_ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.activation = activation
        self.go_backwards = bool(go_backwards)

    def forward(self, x, w, u, b, h0, mask, rmask):
        xp = backend.get_array_module(x, w)
        B, T = x.shape[:2]
        U = w.shape[1]
        # input projection of every step (bias included) in one GEMM; the buffer becomes the states
        xt, H = input_projection(xp, x, w, b, self.go_backwards)
        keep = None
        if mask is not None:
            keep = mask.T[::-1] if self.go_backwards else mask.T
            keep = xp.ascontiguousarray(keep.astype(bool, copy=False))[..., None]   # (T, B, 1)
        act = _ACTIVATE[self.activation]
        # one kernel per step (rnn_step); compiled on the CPU for tanh, the default
        run_step = step_runner(xp, H.dtype, on_cpu=self.activation == "tanh")
        fused = run_step is not None
        fused_act = None if self.activation == "linear" else self.activation

        def part(a, z):
            # the recurrence of samples a:z (samples are independent: one thread's share)
            h = h0[a:z] if h0 is not None else xp.zeros((z - a, U), dtype=H.dtype)
            step = _recurrent_step(xp, u, rmask, a, z, H.dtype)
            for t in range(T):
                rec = step(h)
                Ht = H[t, a:z]
                if fused:
                    run_step("rnn_step", Ht, rec, h, None if keep is None else keep[t, a:z], fused_act)
                    h = Ht
                    continue
                Ht += rec
                act(xp, Ht)
                if keep is not None:
                    Ht[...] = xp.where(keep[t, a:z], Ht, h)
                h = Ht

        parallel.run(part, parallel.ranges(B, xp=xp))
        ng = self.needs_grad
        if ng:
            self.save(xt if ng[1] or (b is not None and ng[3]) else None, w, u, H, h0, keep, rmask)
        return H.transpose(1, 0, 2)

    def backward(self, g):
        xt, w, u, H, h0, keep, rmask = self.saved
        xp = backend.get_array_module(g, H)
        T, B, U = H.shape
        gt = g.transpose(1, 0, 2)                     # already in processing order
        # dA[t] = d(pre-activation at step t); starts as act'(h_t), zero where masked
        dA = _DERIVATIVE[self.activation](xp, H)
        skip = None
        if keep is not None:
            dA *= keep
            skip = (~keep).astype(H.dtype)            # rows whose state passes through
        carry = xp.zeros((B, U), dtype=H.dtype)       # dL/dh_{t} coming from step t+1
        uT = _contiguous_transpose(xp, u)
        run_step = step_runner(xp, H.dtype)           # one kernel per step (rnn_step_grad)
        fused = run_step is not None
        if fused:
            gt = xp.ascontiguousarray(gt)             # one copy, not one per step in the kernel

        def part(a, z):
            # backpropagation through time for samples a:z (one thread's share)
            c = carry[a:z]
            dh = xp.empty((z - a, U), dtype=H.dtype)
            for t in range(T - 1, -1, -1):
                if fused:                             # dh holds the masked samples' direct path
                    dAt = dA[t, a:z]
                    run_step("rnn_step_grad", dAt, gt[t, a:z], c, None if keep is None else keep[t, a:z], dh)
                    _carry_back(xp, dAt, uT, c, None if rmask is None else rmask[a:z], None if keep is None else dh)
                    continue
                xp.add(gt[t, a:z], c, out=dh)
                dAt = dA[t, a:z]
                dAt *= dh
                xp.matmul(dAt, uT, out=c)
                if rmask is not None:
                    c *= rmask[a:z]
                if skip is not None:
                    c += dh * skip[t, a:z]

        parallel.run(part, parallel.ranges(B, xp=xp))
        ng = self.needs_grad
        gx, gw, gb = _input_grads(self, xt, w, dA, self.go_backwards, bias_index=3)
        gu = gh0 = None
        if ng[2]:
            gu = _recurrent_kernel_grad(xp, _previous(xp, H, h0), rmask, dA)
        if len(ng) > 4 and ng[4]:
            gh0 = carry
        return gx, gw, gu, gb, gh0, None, None


# ---- helpers ------------------------------------------------------------------

def step_runner(xp, dtype, on_cpu=True):
    """How one fused time step runs, ``run(name, *args)`` as ``kernels.run(name, xp, *args)``:
    a device kernel (CuPy, or the stand-in's reference), a loop compiled for the CPU
    (``cpu_kernels``, float32 with numba, unless ``on_cpu`` is False: no loop for this
    step's options), or None: the step as a few NumPy calls."""
    if kernels.on_device(xp):
        return lambda name, *args: kernels.run(name, xp, *args)
    if on_cpu and cpu_kernels.steps_usable(dtype):
        return cpu_kernels.step
    return None


def _contiguous_transpose(xp, u):
    """``u.T`` as its own C-ordered array, for the backward pass's per-step ``d_pre @ u.T``: one
    copy per batch, after which each step's GEMM runs ~30 % faster than through the transposed
    view (``(64, 512) @ (512, 128)``: 44 against 61 us on one core, OpenBLAS, AVX-512)."""
    return xp.ascontiguousarray(u.T)


def _column_sums(xp, a):
    """``a.sum(axis=0)`` of a tall ``(rows, k)`` array (a bias gradient over every step) as a
    GEMV with ones: ~1.7x faster than NumPy's column reduction on ``(3584, 512)``."""
    return xp.ones(a.shape[0], dtype=a.dtype) @ a


def _carry_back(xp, d_pre, uT, carry, rmask, direct):
    """``carry = (d_pre @ recurrent_kernel.T) * rmask + direct``: the gradient reaching
    ``h_{t-1}`` from step ``t`` (the fused steps' last part; rmask / direct may be None)."""
    xp.matmul(d_pre, uT, out=carry)
    if rmask is not None:
        carry *= rmask
    if direct is not None:
        carry += direct


def _previous(xp, H, h0):
    """``h_{t-1}`` for every step: ``(T, B, U)`` with ``h0`` (or zeros) first."""
    prev = xp.empty_like(H)
    if h0 is None:
        prev[0] = 0
    else:
        prev[0] = h0
    prev[1:] = H[:-1]
    return prev


def input_projection(xp, x, w, b, go_backwards):
    """``(xt, G)``: the inputs ``x (B, T, F)`` time-major in processing order, ``(T, B, F)``,
    and ``G = x_t @ w + b`` for every step ``(T, B, k)``, one GEMM. With a bias ``(k,)``, ``xt``
    gets a last column of ones and the kernel a last row holding the bias: the GEMM adds the
    bias (no pass over ``G``, 0.2 ms of an LSTM batch of 128) and backward's kernel-gradient
    GEMM over ``xt`` returns the bias gradient as its last row (``_input_grads``)."""
    B, T, F = x.shape
    src = x.transpose(1, 0, 2)
    if go_backwards:
        src = src[::-1]
    if b is None:
        xt, wm = xp.ascontiguousarray(src), w
    else:
        xt = xp.empty((T, B, F + 1), dtype=x.dtype)
        xt[..., :F] = src
        xt[..., F] = 1
        wm = xp.concatenate([w, b.reshape(1, -1).astype(w.dtype, copy=False)], axis=0)
    G = parallel.matmul(xt.reshape(T * B, -1), wm, xp=xp).reshape(T, B, w.shape[1])
    return xt, G


def _input_grads(fn, xt, w, dA, go_backwards, bias_index=None):
    """``(d x, d kernel, d bias)`` from the pre-activation gradients ``dA (T, B, k*U)``; ``xt``
    from ``input_projection``: with its column of ones the kernel-gradient GEMM's last row is
    the gradient of the bias (``fn``'s input ``bias_index``), else ``d bias`` is None."""
    T, B, K = dA.shape
    xp = backend.get_array_module(dA)
    flat = dA.reshape(T * B, K)
    ng = fn.needs_grad
    gx = gw = gb = None
    if ng[0]:
        gxt = parallel.matmul(flat, w.T, xp=xp).reshape(T, B, w.shape[0])
        if go_backwards:
            gxt = gxt[::-1]
        gx = gxt.transpose(1, 0, 2)
    folded = xt is not None and xt.shape[2] > w.shape[0]
    want_gb = folded and bias_index is not None and ng[bias_index]
    if ng[1] or want_gb:
        gwb = parallel.matmul_tn(xt.reshape(T * B, -1), flat, xp=xp)
        gw = gwb[:w.shape[0]] if ng[1] else None
        gb = gwb[w.shape[0]] if want_gb else None
    return gx, gw, gb


def _recurrent_kernel_grad(xp, prev, rmask, dA):
    """``d recurrent_kernel``: ``sum_t (h_{t-1} * rmask).T @ dA[t]`` as one GEMM over all steps;
    ``prev`` is ``h_{t-1}`` of every step (``_previous``), ``dA`` ``(T, B, k*U)``."""
    if rmask is not None:
        prev = prev * rmask
    return parallel.matmul_tn(prev.reshape(-1, prev.shape[-1]), dA.reshape(-1, dA.shape[-1]), xp=xp)


def _recurrent_step(xp, u, rmask, lo, hi, dtype):
    """``step(h)``: ``(h * rmask) @ u`` for samples ``lo:hi`` (one thread's share of a
    recurrence), written into one buffer that every step reuses."""
    rec = xp.empty((hi - lo, u.shape[1]), dtype=dtype)
    if rmask is None:
        return lambda h: xp.matmul(h, u, out=rec)
    dropped, rm = xp.empty((hi - lo, u.shape[0]), dtype=dtype), rmask[lo:hi]
    return lambda h: xp.matmul(xp.multiply(h, rm, out=dropped), u, out=rec)


def _tanh(xp, y):
    xp.tanh(y, out=y)


def _relu(xp, y):
    xp.maximum(y, 0, out=y)


def _sigmoid(xp, y):
    # 1 / (1 + exp(-y)), with the exponent clipped so float32 never overflows
    xp.clip(y, -80, 80, out=y)
    xp.negative(y, out=y)
    xp.exp(y, out=y)
    y += 1
    xp.reciprocal(y, out=y)


def _linear(xp, y):
    pass


_ACTIVATE = {"tanh": _tanh, "relu": _relu, "sigmoid": _sigmoid, "linear": _linear}

_DERIVATIVE = {
    "tanh": lambda xp, h: 1 - h * h,
    "relu": lambda xp, h: (h > 0).astype(h.dtype),
    "sigmoid": lambda xp, h: h * (1 - h),
    "linear": lambda xp, h: xp.ones_like(h),
}
