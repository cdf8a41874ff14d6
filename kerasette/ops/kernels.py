"""Custom device kernels behind one registry: CUDA C++ for CuPy, a reference for the rest.

On the GPU every elementwise NumPy-style expression is one kernel launch and one
pass over memory; the hot spots get a fused kernel instead. Each kernel here is a
``Kernel``: its full CUDA C++ source (plain ``extern "C"`` functions, one per
dtype, compilable on its own: the tests compile every source with NVRTC for
``sm_80`` and ``sm_90`` without a GPU), how to launch it through CuPy's
``RawModule``, and a reference written with the array module's own functions.

``run(name, xp, ...)`` is the one dispatch: on CuPy it launches the compiled
kernel; on any other device module (the CI stand-in,
``kerasette.testing.standin``) it runs the reference, so the calling code, the
shapes and the dtype rules of every kernel run in CI. Both paths check their
arguments the same way (a float64 gradient into a float32 kernel is an error on
CuPy, so it is one on the stand-in too). Ops call ``run`` only when
``on_device(xp)``; NumPy keeps its own (threaded) CPU code.

The kernels (name: what, arguments):

* ``bias_act``: ``y = act(y + b)`` in place; ``y (n, units)``, ``b (units,)`` or None, ``act``
  one of ``FUSED_ACTIVATIONS`` (None, relu, tanh, sigmoid, elu, selu, softplus, softsign, relu6,
  leaky_relu, hard_sigmoid, exponential, silu, gelu, mish: the fused Dense activations, one
  kernel switched on an activation code); ``pre=z`` also writes the pre-activation ``y + b``.
* ``act_grad``: ``g * act'(.)``, a new array, from the activation's output ``y``, or from the
  pre-activation ``z`` for ``FUSED_FROM_PRE`` (silu, gelu, mish), whose derivative the output
  does not determine.
* ``adam_update``: Keras 3's Adam step on ``w``, ``m``, ``v`` in place, one pass (with AdamW's
  decoupled decay ``w *= 1 - decay`` folded in).
* ``sgd_momentum_update``: SGD with (Nesterov) momentum on ``w`` and ``m`` in place, one pass.
* ``softmax_xent_grad``: ``(p - onehot(labels)) * g[..., None]``, no one-hot array.
* ``max_pool_2x2``: 2x2 / stride-2 max of a (padded) ``(N, H, W, C)`` input and
  the arg-max tap of each window (0..3, the first maximum in row-major order).
* ``max_pool_2x2_grad``: the gradient routed to each window's arg-max, written
  over the whole padded input (no zero-fill pass, no atomics).
* ``max_pool`` / ``max_pool_grad``: the same for any window and stride of a padded input (the
  arg-max tap as int32; the gradient gathered per input position from the windows covering it).
* ``col2im``: the conv input gradient from the ``(N*Ho*Wo, kh*kw*C)`` column
  gradient: each input position gathers its taps (one pass, no atomics).
* ``lstm_step``: one LSTM time step after the recurrent GEMM: adds ``rec`` to the
  gate pre-activations, activates them in place (i, f, o sigmoid; g tanh), writes
  ``c``, ``tanh(c)`` and ``h``, carries masked samples through (one launch instead
  of about fifteen).
* ``lstm_step_grad``: the same step backwards: every gate's pre-activation gradient,
  the cell-state carry (in place) and the ``h`` gradient of masked samples.
* ``rnn_step`` / ``rnn_step_grad``: a SimpleRNN step: ``h = act(h + rec)`` with the
  mask in one launch; backwards ``dA *= g + carry`` and the masked samples' direct path.
* ``gru_step`` / ``gru_step_grad``: the same for a GRU (``reset_after``) step: the
  recurrent bias, the z / r / candidate gates and ``h`` in one launch; backwards the
  recurrent and input-projection gradients and the direct ``h`` path.
"""
import functools

__all__ = ["Kernel", "KERNELS", "on_device", "is_cupy", "run", "compile_ptx", "FUSED_ACTIVATIONS",
           "FUSED_FROM_PRE"]

KERNELS = {}         # name -> Kernel; filled once at import, read-only afterwards
_THREADS = 256
_SUFFIX = {"float32": "f32", "float64": "f64"}


class Kernel:
    """One custom kernel: ``source`` (CUDA C++), ``launch(cupy, *args)`` and
    ``reference(xp, *args)`` with the same arguments and results."""

    def __init__(self, name, source, launch, reference):
        self.name, self.source, self.launch, self.reference = name, _HEADER + source, launch, reference
        KERNELS[name] = self

    def __repr__(self):
        return f"<Kernel {self.name}>"


def is_cupy(xp):
    """True when ``xp`` is the real CuPy module (not NumPy, not the test stand-in)."""
    return getattr(xp, "__name__", "") == "cupy"


def on_device(xp):
    """True for a device module (CuPy or a stand-in): ops then dispatch through ``run``."""
    return getattr(xp, "__name__", "numpy") != "numpy"


def run(name, xp, *args, **kwargs):
    """Run kernel ``name`` on arrays of module ``xp``: compiled on CuPy, the reference elsewhere."""
    kernel = KERNELS[name]
    if is_cupy(xp):
        return kernel.launch(xp, *args, **kwargs)
    return kernel.reference(xp, *args, **kwargs)


def compile_ptx(kernel, arch="80"):
    """Compile ``kernel``'s CUDA source with NVRTC for ``compute_<arch>`` and return the
    PTX (bytes); needs CuPy's NVRTC binding but no GPU. Raises ``RuntimeError`` with
    NVRTC's log on a compile error."""
    from cupy_backends.cuda.libs import nvrtc
    prog = nvrtc.createProgram(kernel.source, f"{kernel.name}.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(prog, [f"-arch=compute_{arch}", "-std=c++14"])
        except nvrtc.NVRTCError:
            raise RuntimeError(f"kernel {kernel.name}: NVRTC failed for compute_{arch}:\n"
                               f"{nvrtc.getProgramLog(prog)}") from None
        return nvrtc.getPTX(prog)
    finally:
        nvrtc.destroyProgram(prog)


# ---- argument checks, shared by both paths ------------------------------------------------

def _float_dtype(name, *arrays):
    """The one float dtype of ``arrays`` (float32 or float64) or a clear error."""
    dtypes = {str(a.dtype) for a in arrays}
    if len(dtypes) != 1 or next(iter(dtypes)) not in _SUFFIX:
        raise TypeError(f"kernel {name}: expected float32 or float64 arrays of one dtype, got "
                        f"{', '.join(str(a.dtype) for a in arrays)}; cast them first")
    return next(iter(dtypes))


def _activation(name, act, allowed):
    if act not in allowed:
        raise ValueError(f"kernel {name}: activation must be one of {list(allowed)}, got {act!r}")
    return act or "linear"


# ---- CUDA plumbing ------------------------------------------------------------------------

_HEADER = r"""
#define KS_LOOP(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; \
                           i < (n); i += (long long)blockDim.x * gridDim.x)
"""


@functools.lru_cache(maxsize=None)
def _function(kernel_name, function_name):
    import cupy
    module = cupy.RawModule(code=KERNELS[kernel_name].source, options=("-std=c++14",))
    return module.get_function(function_name)


def _launch(kernel_name, function_name, n, args):
    blocks = max(1, min((int(n) + _THREADS - 1) // _THREADS, 65535))
    _function(kernel_name, function_name)((blocks,), (_THREADS,), args)


def _scalar(cp, dtype, value):
    return cp.dtype(dtype).type(value)


# ---- bias + activation ----------------------------------------------------------------------

def _per_dtype(template):
    """``template`` (using T and SUF) for float and double."""
    return "".join(template.replace("T", t).replace("SUF", s) for t, s in (("float", "f32"), ("double", "f64")))


# the fused Dense activations, by their number in the CUDA switch (None is "linear": code 0)
_ACT_CODE = {name: code for code, name in enumerate(
    ("linear", "relu", "tanh", "sigmoid", "elu", "selu", "softplus", "softsign", "relu6", "leaky_relu",
     "hard_sigmoid", "exponential", "silu", "gelu", "mish"))}
# the gradient of these needs the pre-activation z = x @ w + b (act_grad takes z, not the output)
FUSED_FROM_PRE = ("silu", "gelu", "mish")
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
LEAKY_SLOPE = 0.2                    # keras.activations.leaky_relu's default negative_slope

# Every activation of a Dense layer as one device function, switched on its code; the code is
# the same for all threads of a launch, so the switch costs no divergence. The gradient takes
# the output y, or the pre-activation z for the codes of FUSED_FROM_PRE (12 and up). Only the
# template letter is an upper-case T in this source (_per_dtype replaces every one).
_ACT_SRC = _per_dtype(r"""
__device__ inline T ks_sig_SUF(T s) { return (T)1 / ((T)1 + exp(-s)); }
__device__ inline T ks_softplus_SUF(T s) { return fmax(s, (T)0) + log1p(exp(-fabs(s))); }
__device__ inline T ks_phi_SUF(T s) { return (T)0.5 * ((T)1 + erf(s * (T)0.7071067811865476)); }
__device__ inline T ks_act_SUF(T s, int act) {
  switch (act) {
    case 1: return s > (T)0 ? s : (T)0;
    case 2: return tanh(s);
    case 3: return ks_sig_SUF(s);
    case 4: return s > (T)0 ? s : expm1(s);
    case 5: return (T)1.0507009873554805 * (s > (T)0 ? s : (T)1.6732632423543772 * expm1(s));
    case 6: return ks_softplus_SUF(s);
    case 7: return s / ((T)1 + fabs(s));
    case 8: return fmin(fmax(s, (T)0), (T)6);
    case 9: return s > (T)0 ? s : (T)0.2 * s;
    case 10: return fmin(fmax(s / (T)6 + (T)0.5, (T)0), (T)1);
    case 11: return exp(s);
    case 12: return s * ks_sig_SUF(s);
    case 13: return s * ks_phi_SUF(s);
    case 14: return s * tanh(ks_softplus_SUF(s));
    default: return s;
  }
}
__device__ inline T ks_act_grad_SUF(T v, T g, int act) {
  switch (act) {
    case 1: return v > (T)0 ? g : (T)0;
    case 2: return g * ((T)1 - v * v);
    case 3: return g * v * ((T)1 - v);
    case 4: return v > (T)0 ? g : g * (v + (T)1);
    case 5: return v > (T)0 ? g * (T)1.0507009873554805 : g * (v + (T)(1.0507009873554805 * 1.6732632423543772));
    case 6: return -g * expm1(-v);
    case 7: { T d = (T)1 - fabs(v); return g * d * d; }
    case 8: return (v > (T)0 && v < (T)6) ? g : (T)0;
    case 9: return v > (T)0 ? g : (T)0.2 * g;
    case 10: return (v > (T)0 && v < (T)1) ? g / (T)6 : (T)0;
    case 11: return g * v;
    case 12: { T p = ks_sig_SUF(v); return g * p * ((T)1 + v * ((T)1 - p)); }
    case 13: return g * (ks_phi_SUF(v) + v * exp((T)-0.5 * v * v) * (T)0.3989422804014327);
    case 14: {
      T t = tanh(ks_softplus_SUF(v));
      return g * (t + v * ((T)1 - t * t) * ks_sig_SUF(v));
    }
    default: return g;
  }
}
""")
_BIAS_ACT_SRC = _ACT_SRC + _per_dtype(r"""
extern "C" __global__ void bias_act_SUF(T* y, const T* b, T* pre, long long n, long long units, int act,
                                        int keep_pre) {
  KS_LOOP(i, n) {
    T s = y[i] + b[i % units];
    if (keep_pre) pre[i] = s;
    y[i] = ks_act_SUF(s, act);
  }
}
""")
_ACT_GRAD_SRC = _ACT_SRC + _per_dtype(r"""
extern "C" __global__ void act_grad_SUF(const T* v, const T* g, T* gx, long long n, int act) {
  KS_LOOP(i, n) { gx[i] = ks_act_grad_SUF(v[i], g[i], act); }
}
""")
FUSED_ACTIVATIONS = (None,) + tuple(_ACT_CODE)[1:]


def _bias_act_check(y, b, activation, pre):
    act = _activation("bias_act", activation, FUSED_ACTIVATIONS)
    dtype = _float_dtype("bias_act", y, *(a for a in (b, pre) if a is not None))
    if y.ndim != 2 or (b is not None and tuple(b.shape) != (y.shape[1],)):
        raise ValueError(f"kernel bias_act: expected y (n, units) and b (units,), got {tuple(y.shape)} and "
                         f"{None if b is None else tuple(b.shape)}")
    if pre is not None and tuple(pre.shape) != tuple(y.shape):
        raise ValueError(f"kernel bias_act: pre must have y's shape {tuple(y.shape)}, got {tuple(pre.shape)}")
    return act, dtype


def _bias_act_launch(cp, y, b, activation, pre=None):
    act, dtype = _bias_act_check(y, b, activation, pre)
    if not y.flags.c_contiguous or (pre is not None and not pre.flags.c_contiguous):
        raise ValueError("kernel bias_act: y and pre must be C-contiguous (they are written in place)")
    b = cp.zeros(1, dtype=dtype) if b is None else cp.ascontiguousarray(b)
    keep = cp.int32(pre is not None)
    pre = y if pre is None else pre              # not written when keep is 0
    _launch("bias_act", f"bias_act_{_SUFFIX[dtype]}", y.size,
            (y, b, pre, cp.int64(y.size), cp.int64(b.size), cp.int32(_ACT_CODE[act]), keep))
    return y


def _sigmoid_ref(xp, s):
    e = xp.exp(-xp.abs(s))                   # exp of a non-positive number: no overflow
    return xp.where(s >= 0, 1 / (1 + e), e / (1 + e))


def _softplus_ref(xp, s):
    return xp.maximum(s, 0) + xp.log1p(xp.exp(-xp.abs(s)))


def _phi_ref(xp, s):
    from .nn import _normal_cdf                  # kerasette's normal CDF (activations.gelu's)
    return _normal_cdf(xp, s)


# act(s) and act'(.) written with the array module's functions: the kernels' specification
_ACT_REF = {
    "linear": lambda xp, s: s,
    "relu": lambda xp, s: xp.maximum(s, 0),
    "tanh": lambda xp, s: xp.tanh(s),
    "sigmoid": _sigmoid_ref,
    "elu": lambda xp, s: xp.where(s > 0, s, xp.expm1(xp.minimum(s, 0))),
    "selu": lambda xp, s: SELU_SCALE * xp.where(s > 0, s, SELU_ALPHA * xp.expm1(xp.minimum(s, 0))),
    "softplus": _softplus_ref,
    "softsign": lambda xp, s: s / (1 + xp.abs(s)),
    "relu6": lambda xp, s: xp.clip(s, 0, 6),
    "leaky_relu": lambda xp, s: xp.where(s > 0, s, LEAKY_SLOPE * s),
    "hard_sigmoid": lambda xp, s: xp.clip(s / 6 + 0.5, 0, 1),
    "exponential": lambda xp, s: xp.exp(s),
    "silu": lambda xp, s: s * _sigmoid_ref(xp, s),
    "gelu": lambda xp, s: s * _phi_ref(xp, s),
    "mish": lambda xp, s: s * xp.tanh(_softplus_ref(xp, s)),
}
_GRAD_REF = {          # (v, g): v is the output, or the pre-activation for FUSED_FROM_PRE
    "relu": lambda xp, v, g: g * (v > 0),
    "tanh": lambda xp, v, g: g * (1 - v * v),
    "sigmoid": lambda xp, v, g: g * v * (1 - v),
    "elu": lambda xp, v, g: g * xp.where(v > 0, 1, v + 1),
    "selu": lambda xp, v, g: g * xp.where(v > 0, SELU_SCALE, v + SELU_SCALE * SELU_ALPHA),
    "softplus": lambda xp, v, g: -g * xp.expm1(-v),
    "softsign": lambda xp, v, g: g * (1 - xp.abs(v)) ** 2,
    "relu6": lambda xp, v, g: g * ((v > 0) & (v < 6)),
    "leaky_relu": lambda xp, v, g: g * xp.where(v > 0, 1, LEAKY_SLOPE),
    "hard_sigmoid": lambda xp, v, g: g * ((v > 0) & (v < 1)) / 6,
    "exponential": lambda xp, v, g: g * v,
    "silu": lambda xp, v, g: g * _sigmoid_ref(xp, v) * (1 + v * (1 - _sigmoid_ref(xp, v))),
    "gelu": lambda xp, v, g: g * (_phi_ref(xp, v) + v * xp.exp(-0.5 * v * v) * 0.3989422804014327),
    "mish": lambda xp, v, g: g * (xp.tanh(_softplus_ref(xp, v)) +
                                  v * (1 - xp.tanh(_softplus_ref(xp, v)) ** 2) * _sigmoid_ref(xp, v)),
}


def _bias_act_reference(xp, y, b, activation, pre=None):
    act, _ = _bias_act_check(y, b, activation, pre)
    if b is not None:
        y += b
    if pre is not None:
        pre[...] = y
    if act != "linear":
        y[...] = _ACT_REF[act](xp, y)
    return y


def _act_grad_check(v, g, activation):
    act = _activation("act_grad", activation, FUSED_ACTIVATIONS[1:])
    dtype = _float_dtype("act_grad", v, g)
    if tuple(v.shape) != tuple(g.shape):
        raise ValueError(f"kernel act_grad: the saved values and g must have one shape, got {tuple(v.shape)} "
                         f"and {tuple(g.shape)}")
    return act, dtype


def _act_grad_launch(cp, v, g, activation):
    act, dtype = _act_grad_check(v, g, activation)
    v, g = cp.ascontiguousarray(v), cp.ascontiguousarray(g)
    gx = cp.empty_like(g)
    _launch("act_grad", f"act_grad_{_SUFFIX[dtype]}", g.size, (v, g, gx, cp.int64(g.size), cp.int32(_ACT_CODE[act])))
    return gx


def _act_grad_reference(xp, v, g, activation):
    act, _ = _act_grad_check(v, g, activation)
    return _GRAD_REF[act](xp, v, g).astype(g.dtype, copy=False)


Kernel("bias_act", _BIAS_ACT_SRC, _bias_act_launch, _bias_act_reference)
Kernel("act_grad", _ACT_GRAD_SRC, _act_grad_launch, _act_grad_reference)


# ---- Adam ------------------------------------------------------------------------------------

_ADAM_SRC = _per_dtype(r"""
extern "C" __global__ void adam_SUF(T* w, const T* g, T* m, T* v, T alpha, T one_minus_b1,
                                    T one_minus_b2, T eps, T keep, long long n) {
  KS_LOOP(i, n) {
    T gi = g[i];
    T mi = m[i] + (gi - m[i]) * one_minus_b1;
    T vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] * keep - alpha * mi / (sqrt(vi) + eps);
  }
}
""")


def _update_check(name, names, *arrays):
    """The one float dtype of an optimizer update's arrays, which must share one shape."""
    dtype = _float_dtype(name, *arrays)
    shapes = {tuple(a.shape) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"kernel {name}: {names} must have one shape, got {sorted(shapes)}")
    return dtype


def _adam_check(w, g, m, v):
    return _update_check("adam_update", "w, g, m, v", w, g, m, v)


def _adam_launch(cp, w, g, m, v, alpha, beta_1, beta_2, epsilon, decay=0.0):
    dtype = _adam_check(w, g, m, v)
    if not (w.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous):
        raise ValueError("kernel adam_update: w, m and v must be C-contiguous (updated in place)")
    s = functools.partial(_scalar, cp, dtype)
    _launch("adam_update", f"adam_{_SUFFIX[dtype]}", w.size,
            (w, cp.ascontiguousarray(g), m, v, s(alpha), s(1 - beta_1), s(1 - beta_2), s(epsilon), s(1 - decay),
             cp.int64(w.size)))


def _adam_reference(xp, w, g, m, v, alpha, beta_1, beta_2, epsilon, decay=0.0):
    _adam_check(w, g, m, v)
    if decay:
        w *= 1 - decay                   # AdamW's decoupled decay, folded into the same pass
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    w -= alpha * m / (xp.sqrt(v) + epsilon)


Kernel("adam_update", _ADAM_SRC, _adam_launch, _adam_reference)


# ---- SGD with momentum -----------------------------------------------------------------------

_SGD_SRC = _per_dtype(r"""
extern "C" __global__ void sgd_momentum_SUF(T* w, const T* g, T* m, T lr, T momentum, int nesterov,
                                            long long n) {
  KS_LOOP(i, n) {
    T gi = g[i];
    T mi = momentum * m[i] - lr * gi;
    m[i] = mi;
    w[i] += nesterov ? momentum * mi - lr * gi : mi;
  }
}
""")


def _sgd_check(w, g, m):
    return _update_check("sgd_momentum_update", "w, g, m", w, g, m)


def _sgd_launch(cp, w, g, m, lr, momentum, nesterov):
    dtype = _sgd_check(w, g, m)
    if not (w.flags.c_contiguous and m.flags.c_contiguous):
        raise ValueError("kernel sgd_momentum_update: w and m must be C-contiguous (updated in place)")
    s = functools.partial(_scalar, cp, dtype)
    _launch("sgd_momentum_update", f"sgd_momentum_{_SUFFIX[dtype]}", w.size,
            (w, cp.ascontiguousarray(g), m, s(lr), s(momentum), cp.int32(bool(nesterov)), cp.int64(w.size)))


def _sgd_reference(xp, w, g, m, lr, momentum, nesterov):
    _sgd_check(w, g, m)
    m *= momentum
    m -= lr * g
    if nesterov:
        w += momentum * m - lr * g
    else:
        w += m


Kernel("sgd_momentum_update", _SGD_SRC, _sgd_launch, _sgd_reference)


# ---- softmax cross-entropy gradient ---------------------------------------------------------

_XENT_SRC = _per_dtype(r"""
extern "C" __global__ void xent_grad_SUF(const T* p, const long long* labels, const T* g, T* out,
                                         long long n, long long classes) {
  KS_LOOP(i, n) {
    long long row = i / classes;
    T hit = (i % classes) == labels[row] ? (T)1 : (T)0;
    out[i] = (p[i] - hit) * g[row];
  }
}
""")


def _xent_check(p, labels, g):
    if tuple(labels.shape) != tuple(p.shape[:-1]) or tuple(g.shape) != tuple(p.shape[:-1]):
        raise ValueError(f"kernel softmax_xent_grad: labels and g must have shape {tuple(p.shape[:-1])}, "
                         f"got {tuple(labels.shape)} and {tuple(g.shape)}")
    return _float_dtype("softmax_xent_grad", p, g)


def _xent_launch(cp, p, labels, g):
    dtype = _xent_check(p, labels, g)
    p, g = cp.ascontiguousarray(p), cp.ascontiguousarray(g)
    labels = cp.ascontiguousarray(labels.astype(cp.int64, copy=False))
    out = cp.empty_like(p)
    _launch("softmax_xent_grad", f"xent_grad_{_SUFFIX[dtype]}", p.size,
            (p, labels, g, out, cp.int64(p.size), cp.int64(p.shape[-1])))
    return out


def _xent_reference(xp, p, labels, g):
    _xent_check(p, labels, g)
    classes = p.shape[-1]
    hit = xp.arange(classes).reshape((1,) * (p.ndim - 1) + (classes,)) == labels[..., None]
    return (p - hit.astype(p.dtype)) * g[..., None]


Kernel("softmax_xent_grad", _XENT_SRC, _xent_launch, _xent_reference)


# ---- 2x2 max pooling -------------------------------------------------------------------------

_POOL_SRC = _per_dtype(r"""
extern "C" __global__ void max_pool_2x2_SUF(const T* x, T* y, unsigned char* arg, long long n_out,
                                            long long H, long long W, long long C, long long HO,
                                            long long WO) {
  KS_LOOP(i, n_out) {
    long long c = i % C, t = i / C;
    long long ow = t % WO; t /= WO;
    long long oh = t % HO, s = t / HO;
    long long base = ((s * H + 2 * oh) * W + 2 * ow) * C + c;
    T best = x[base];
    unsigned char k = 0;
    T v = x[base + C];
    if (v > best) { best = v; k = 1; }
    v = x[base + W * C];
    if (v > best) { best = v; k = 2; }
    v = x[base + W * C + C];
    if (v > best) { best = v; k = 3; }
    y[i] = best;
    arg[i] = k;
  }
}
""")
_POOL_GRAD_SRC = _per_dtype(r"""
extern "C" __global__ void max_pool_2x2_grad_SUF(const T* g, const unsigned char* arg, T* dx,
                                                 long long n_in, long long H, long long W, long long C,
                                                 long long HO, long long WO) {
  KS_LOOP(i, n_in) {
    long long c = i % C, t = i / C;
    long long w = t % W; t /= W;
    long long h = t % H, s = t / H;
    long long oh = h / 2, ow = w / 2;
    T out = (T)0;
    if (oh < HO && ow < WO) {
      long long o = ((s * HO + oh) * WO + ow) * C + c;
      if (arg[o] == (unsigned char)((h % 2) * 2 + (w % 2))) out = g[o];
    }
    dx[i] = out;
  }
}
""")


def _pool_shapes(x_shape):
    return _gpool_shapes(x_shape, (2, 2), (2, 2))


def _pool_launch(cp, x):
    dtype = _float_dtype("max_pool_2x2", x)
    x = cp.ascontiguousarray(x)
    n, h, w, c, ho, wo = _pool_shapes(x.shape)
    y = cp.empty((n, ho, wo, c), dtype=x.dtype)
    arg = cp.empty((n, ho, wo, c), dtype=cp.uint8)
    _launch("max_pool_2x2", f"max_pool_2x2_{_SUFFIX[dtype]}", y.size,
            (x, y, arg, cp.int64(y.size), cp.int64(h), cp.int64(w), cp.int64(c), cp.int64(ho), cp.int64(wo)))
    return y, arg


def _pool_reference(xp, x):
    _float_dtype("max_pool_2x2", x)
    best, arg = _gpool_reference(xp, x, (2, 2), (2, 2))
    return best, arg.astype(xp.uint8)              # taps 0..3, as the kernel keeps them


def _pool_grad_launch(cp, g, arg, x_shape):
    dtype = _float_dtype("max_pool_2x2_grad", g)
    n, h, w, c, ho, wo = _pool_shapes(x_shape)
    dx = cp.empty(tuple(x_shape), dtype=g.dtype)
    _launch("max_pool_2x2_grad", f"max_pool_2x2_grad_{_SUFFIX[dtype]}", dx.size,
            (cp.ascontiguousarray(g), cp.ascontiguousarray(arg), dx, cp.int64(dx.size), cp.int64(h), cp.int64(w),
             cp.int64(c), cp.int64(ho), cp.int64(wo)))
    return dx


def _pool_grad_reference(xp, g, arg, x_shape):
    _float_dtype("max_pool_2x2_grad", g)
    return _gpool_grad_reference(xp, g, arg, x_shape, (2, 2), (2, 2))


Kernel("max_pool_2x2", _POOL_SRC, _pool_launch, _pool_reference)
Kernel("max_pool_2x2_grad", _POOL_GRAD_SRC, _pool_grad_launch, _pool_grad_reference)


# ---- max pooling, any window and stride --------------------------------------------------------

_GPOOL_SRC = _per_dtype(r"""
extern "C" __global__ void max_pool_SUF(const T* x, T* y, int* arg, long long n_out, long long H,
                                        long long W, long long C, long long HO, long long WO,
                                        int PH, int PW, int SH, int SW) {
  KS_LOOP(i, n_out) {
    long long c = i % C, t = i / C;
    long long ow = t % WO; t /= WO;
    long long oh = t % HO, s = t / HO;
    long long base = ((s * H + oh * SH) * W + ow * SW) * C + c;
    T best = x[base];
    int k = 0;
    for (int a = 0; a < PH; ++a) {
      for (int b = 0; b < PW; ++b) {
        T v = x[base + ((long long)a * W + b) * C];
        if (v > best) { best = v; k = a * PW + b; }
      }
    }
    y[i] = best;
    arg[i] = k;
  }
}
""")
_GPOOL_GRAD_SRC = _per_dtype(r"""
extern "C" __global__ void max_pool_grad_SUF(const T* g, const int* arg, T* dx, long long n_in,
                                             long long H, long long W, long long C, long long HO,
                                             long long WO, int PH, int PW, int SH, int SW) {
  KS_LOOP(i, n_in) {
    long long c = i % C, t = i / C;
    long long w = t % W; t /= W;
    long long h = t % H, s = t / H;
    // the windows that cover (h, w): oh * SH <= h < oh * SH + PH (a gather: no atomics)
    long long oh0 = h >= PH ? (h - PH) / SH + 1 : 0, oh1 = h / SH;
    long long ow0 = w >= PW ? (w - PW) / SW + 1 : 0, ow1 = w / SW;
    T total = (T)0;
    for (long long oh = oh0; oh <= oh1 && oh < HO; ++oh) {
      for (long long ow = ow0; ow <= ow1 && ow < WO; ++ow) {
        long long o = ((s * HO + oh) * WO + ow) * C + c;
        if (arg[o] == (int)((h - oh * SH) * PW + (w - ow * SW))) total += g[o];
      }
    }
    dx[i] = total;
  }
}
""")


def _gpool_shapes(x_shape, pool, strides):
    n, h, w, c = x_shape
    (ph, pw), (sh, sw) = pool, strides
    return n, h, w, c, (h - ph) // sh + 1, (w - pw) // sw + 1


def _gpool_launch(cp, x, pool, strides):
    dtype = _float_dtype("max_pool", x)
    x = cp.ascontiguousarray(x)
    n, h, w, c, ho, wo = _gpool_shapes(x.shape, pool, strides)
    y = cp.empty((n, ho, wo, c), dtype=x.dtype)
    arg = cp.empty((n, ho, wo, c), dtype=cp.int32)
    _launch("max_pool", f"max_pool_{_SUFFIX[dtype]}", y.size,
            (x, y, arg, cp.int64(y.size), cp.int64(h), cp.int64(w), cp.int64(c), cp.int64(ho), cp.int64(wo),
             *(cp.int32(v) for v in (*pool, *strides))))
    return y, arg


def _gpool_taps(pool, strides, ho, wo):
    (ph, pw), (sh, sw) = pool, strides
    return [(slice(None), slice(a, a + sh * (ho - 1) + 1, sh), slice(b, b + sw * (wo - 1) + 1, sw), slice(None))
            for a in range(ph) for b in range(pw)]


def _gpool_reference(xp, x, pool, strides):
    _float_dtype("max_pool", x)
    n, h, w, c, ho, wo = _gpool_shapes(x.shape, pool, strides)
    taps = [x[s] for s in _gpool_taps(pool, strides, ho, wo)]
    best, arg = taps[0].copy(), xp.zeros((n, ho, wo, c), dtype=xp.int32)
    for k, v in enumerate(taps[1:], 1):
        better = v > best                     # strictly: the first maximum in row-major order
        best = xp.where(better, v, best)
        arg = xp.where(better, xp.int32(k), arg)
    return best, arg


def _gpool_grad_launch(cp, g, arg, x_shape, pool, strides):
    dtype = _float_dtype("max_pool_grad", g)
    n, h, w, c, ho, wo = _gpool_shapes(x_shape, pool, strides)
    dx = cp.empty(tuple(x_shape), dtype=g.dtype)
    _launch("max_pool_grad", f"max_pool_grad_{_SUFFIX[dtype]}", dx.size,
            (cp.ascontiguousarray(g), cp.ascontiguousarray(arg), dx, cp.int64(dx.size), cp.int64(h), cp.int64(w),
             cp.int64(c), cp.int64(ho), cp.int64(wo), *(cp.int32(v) for v in (*pool, *strides))))
    return dx


def _gpool_grad_reference(xp, g, arg, x_shape, pool, strides):
    _float_dtype("max_pool_grad", g)
    n, h, w, c, ho, wo = _gpool_shapes(x_shape, pool, strides)
    dx = xp.zeros(tuple(x_shape), dtype=g.dtype)
    for k, s in enumerate(_gpool_taps(pool, strides, ho, wo)):
        dx[s] += g * (arg == k)               # overlapping windows add up
    return dx


Kernel("max_pool", _GPOOL_SRC, _gpool_launch, _gpool_reference)
Kernel("max_pool_grad", _GPOOL_GRAD_SRC, _gpool_grad_launch, _gpool_grad_reference)


# ---- col2im ----------------------------------------------------------------------------------

_COL2IM_SRC = _per_dtype(r"""
extern "C" __global__ void col2im_SUF(const T* dcols, T* dx, long long n_in, long long H, long long W,
                                      long long C, long long HO, long long WO, long long KH, long long KW,
                                      long long SH, long long SW, long long DH, long long DW) {
  KS_LOOP(idx, n_in) {
    long long c = idx % C, t = idx / C;
    long long w = t % W; t /= W;
    long long h = t % H, s = t / H;
    long long k = KH * KW * C;
    T acc = (T)0;
    for (long long i = 0; i < KH; ++i) {
      long long hh = h - i * DH;
      if (hh < 0 || hh % SH) continue;
      long long oh = hh / SH;
      if (oh >= HO) continue;
      for (long long j = 0; j < KW; ++j) {
        long long ww = w - j * DW;
        if (ww < 0 || ww % SW) continue;
        long long ow = ww / SW;
        if (ow >= WO) continue;
        acc += dcols[((s * HO + oh) * WO + ow) * k + (i * KW + j) * C + c];
      }
    }
    dx[idx] = acc;
  }
}
""")


def _col2im_check(dcols, x_shape, kernel_hw, out_hw):
    n, _, _, c = x_shape
    rows, k = n * out_hw[0] * out_hw[1], kernel_hw[0] * kernel_hw[1] * c
    if tuple(dcols.shape) != (rows, k):
        raise ValueError(f"kernel col2im: dcols must have shape {(rows, k)} for input {tuple(x_shape)}, "
                         f"got {tuple(dcols.shape)}")
    return _float_dtype("col2im", dcols)


def _col2im_launch(cp, dcols, x_shape, kernel_hw, out_hw, strides=(1, 1), dilation=(1, 1)):
    dtype = _col2im_check(dcols, x_shape, kernel_hw, out_hw)
    n, h, w, c = x_shape
    dx = cp.empty(tuple(x_shape), dtype=dcols.dtype)
    args = [h, w, c, out_hw[0], out_hw[1], kernel_hw[0], kernel_hw[1], strides[0], strides[1],
            dilation[0], dilation[1]]
    _launch("col2im", f"col2im_{_SUFFIX[dtype]}", dx.size,
            (cp.ascontiguousarray(dcols), dx, cp.int64(dx.size)) + tuple(cp.int64(a) for a in args))
    return dx


def _col2im_reference(xp, dcols, x_shape, kernel_hw, out_hw, strides=(1, 1), dilation=(1, 1)):
    _col2im_check(dcols, x_shape, kernel_hw, out_hw)
    n, _, _, c = x_shape
    (kh, kw), (ho, wo), (sh, sw), (dh, dw) = kernel_hw, out_hw, strides, dilation
    dx = xp.zeros(tuple(x_shape), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = (i * kw + j) * c
            rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (wo - 1) * sw + 1, sw)
            dx[:, rows, cols, :] += dcols[:, tap:tap + c].reshape(n, ho, wo, c)
    return dx


Kernel("col2im", _COL2IM_SRC, _col2im_launch, _col2im_reference)


# ---- LSTM step --------------------------------------------------------------------------------
# One thread per (sample, unit): the four gates of a unit sit ``units`` apart in a row of
# ``gates (batch, 4*units)``. ``keep`` is one byte per sample (read only when has_keep).

_LSTM_SRC = _per_dtype(r"""
__device__ inline T ks_sigmoid_SUF(T a) {
  a = a < (T)-80 ? (T)-80 : (a > (T)80 ? (T)80 : a);
  return (T)1 / ((T)1 + exp(-a));
}
extern "C" __global__ void lstm_step_SUF(T* gates, const T* rec, const T* c_prev, const T* h_prev,
                                         const unsigned char* keep, long long has_keep, T* c, T* h,
                                         T* tc, long long batch, long long units) {
  KS_LOOP(k, batch * units) {
    long long b = k / units, u = k % units;
    T* g = gates + b * 4 * units;
    const T* r = rec + b * 4 * units;
    T gi = ks_sigmoid_SUF(g[u] + r[u]);
    T gf = ks_sigmoid_SUF(g[units + u] + r[units + u]);
    T gg = tanh(g[2 * units + u] + r[2 * units + u]);
    T go = ks_sigmoid_SUF(g[3 * units + u] + r[3 * units + u]);
    g[u] = gi; g[units + u] = gf; g[2 * units + u] = gg; g[3 * units + u] = go;
    T cp = c_prev[k];
    T cn = gf * cp + gi * gg;
    T t = tanh(cn);
    T hn = go * t;
    if (has_keep && !keep[b]) { cn = cp; hn = h_prev[k]; }
    c[k] = cn; tc[k] = t; h[k] = hn;
  }
}
extern "C" __global__ void lstm_step_grad_SUF(const T* gates, const T* tc, const T* c_prev,
                                              const T* g_out, const T* carry_h, T* carry_c,
                                              const unsigned char* keep, long long has_keep,
                                              T* d_pre, T* h_skip, long long batch, long long units) {
  KS_LOOP(k, batch * units) {
    long long b = k / units, u = k % units;
    const T* g = gates + b * 4 * units;
    T* d = d_pre + b * 4 * units;
    T gi = g[u], gf = g[units + u], gg = g[2 * units + u], go = g[3 * units + u];
    T t = tc[k];
    T dh = g_out[k] + carry_h[k];
    T dc = carry_c[k] + dh * go * ((T)1 - t * t);
    T di = dc * gg * gi * ((T)1 - gi);
    T df = dc * c_prev[k] * gf * ((T)1 - gf);
    T dg = dc * gi * ((T)1 - gg * gg);
    T dout = dh * t * go * ((T)1 - go);
    if (has_keep && !keep[b]) {
      di = (T)0; df = (T)0; dg = (T)0; dout = (T)0;
      h_skip[k] = dh;                       /* the cell carry passes through unchanged */
    } else {
      carry_c[k] = dc * gf;
      if (has_keep) h_skip[k] = (T)0;
    }
    d[u] = di; d[units + u] = df; d[2 * units + u] = dg; d[3 * units + u] = dout;
  }
}
""")


def _step_check(name, gates, units_arrays, keep, n_gates, gate_shaped=None):
    """dtype, (batch, units) of a recurrent step kernel's arguments, checked the same way on
    both paths: ``gates (batch, n_gates*units)``, states ``(batch, units)``, one keep flag
    per sample, and ``gate_shaped = (name, array)`` (a gradient written per gate) shaped as
    ``gates``."""
    dtype = _float_dtype(name, gates, *units_arrays)
    batch, units = units_arrays[0].shape
    if tuple(gates.shape) != (batch, n_gates * units) or any(tuple(a.shape) != (batch, units)
                                                             for a in units_arrays):
        raise ValueError(f"kernel {name}: expected gates (batch, {n_gates}*units) and (batch, units) states, "
                         f"got {tuple(gates.shape)} and {[tuple(a.shape) for a in units_arrays]}")
    if keep is not None and keep.size != batch:
        raise ValueError(f"kernel {name}: keep must hold one flag per sample ({batch}), got shape "
                         f"{tuple(keep.shape)}")
    if gate_shaped is not None and tuple(gate_shaped[1].shape) != tuple(gates.shape):
        raise ValueError(f"kernel {name}: {gate_shaped[0]} must have the gates' shape {tuple(gates.shape)}")
    return dtype, batch, units


def _keep_bytes(cp, keep, batch):
    if keep is None:
        return cp.zeros(1, dtype=cp.uint8), cp.int64(0)
    return cp.ascontiguousarray(keep.reshape(batch)).astype(cp.uint8, copy=False), cp.int64(1)


def _written(name, *arrays):
    if not all(a.flags.c_contiguous for a in arrays):
        raise ValueError(f"kernel {name}: the arrays written in place must be C-contiguous")


def _lstm_step_launch(cp, gates, rec, c_prev, h_prev, keep, c, h, tc):
    dtype, batch, units = _step_check("lstm_step", gates, (c_prev, h_prev, c, h, tc), keep, 4)
    _written("lstm_step", gates, c, h, tc)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    c_prev, h_prev, rec = (cp.ascontiguousarray(a) for a in (c_prev, h_prev, rec))
    _launch("lstm_step", f"lstm_step_{_SUFFIX[dtype]}", batch * units,
            (gates, rec, c_prev, h_prev, keep, has_keep, c, h, tc, cp.int64(batch), cp.int64(units)))
    return gates, c, h, tc


def _lstm_step_reference(xp, gates, rec, c_prev, h_prev, keep, c, h, tc):
    _step_check("lstm_step", gates, (c_prev, h_prev, c, h, tc), keep, 4)
    units = c.shape[1]
    gates += rec
    gates[:, :2 * units] = 1 / (1 + xp.exp(-xp.clip(gates[:, :2 * units], -80, 80)))
    gates[:, 2 * units:3 * units] = xp.tanh(gates[:, 2 * units:3 * units])
    gates[:, 3 * units:] = 1 / (1 + xp.exp(-xp.clip(gates[:, 3 * units:], -80, 80)))
    i, f, g, o = (gates[:, k * units:(k + 1) * units] for k in range(4))
    c[...] = f * c_prev + i * g
    tc[...] = xp.tanh(c)
    h[...] = o * tc
    if keep is not None:
        keep = keep.reshape(-1, 1)
        c[...] = xp.where(keep, c, c_prev)
        h[...] = xp.where(keep, h, h_prev)
    return gates, c, h, tc


def _lstm_step_grad_launch(cp, gates, tc, c_prev, g_out, carry_h, carry_c, keep, d_pre, h_skip):
    dtype, batch, units = _step_check("lstm_step_grad", gates, (tc, c_prev, g_out, carry_h, carry_c, h_skip),
                                      keep, 4, ("d_pre", d_pre))
    _written("lstm_step_grad", carry_c, d_pre, h_skip)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    gates, tc, c_prev, g_out, carry_h = (cp.ascontiguousarray(a) for a in (gates, tc, c_prev, g_out, carry_h))
    _launch("lstm_step_grad", f"lstm_step_grad_{_SUFFIX[dtype]}", batch * units,
            (gates, tc, c_prev, g_out, carry_h, carry_c, keep, has_keep, d_pre, h_skip, cp.int64(batch),
             cp.int64(units)))
    return d_pre, carry_c, h_skip


def _lstm_step_grad_reference(xp, gates, tc, c_prev, g_out, carry_h, carry_c, keep, d_pre, h_skip):
    _step_check("lstm_step_grad", gates, (tc, c_prev, g_out, carry_h, carry_c, h_skip), keep, 4, ("d_pre", d_pre))
    units = tc.shape[1]
    i, f, g, o = (gates[:, k * units:(k + 1) * units] for k in range(4))
    dh = g_out + carry_h
    dc = carry_c + dh * o * (1 - tc * tc)
    d_pre[:, :units] = dc * g * i * (1 - i)
    d_pre[:, units:2 * units] = dc * c_prev * f * (1 - f)
    d_pre[:, 2 * units:3 * units] = dc * i * (1 - g * g)
    d_pre[:, 3 * units:] = dh * tc * o * (1 - o)
    if keep is None:
        carry_c[...] = dc * f
        return d_pre, carry_c, h_skip
    keep = keep.reshape(-1, 1)
    d_pre *= keep
    carry_c[...] = xp.where(keep, dc * f, carry_c)
    h_skip[...] = xp.where(keep, 0, dh)
    return d_pre, carry_c, h_skip


Kernel("lstm_step", _LSTM_SRC, _lstm_step_launch, _lstm_step_reference)
Kernel("lstm_step_grad", _LSTM_SRC, _lstm_step_grad_launch, _lstm_step_grad_reference)


# ---- GRU step (reset_after) -----------------------------------------------------------------

_GRU_SRC = _per_dtype(r"""
__device__ inline T ks_sigmoid_SUF(T a) {
  a = a < (T)-80 ? (T)-80 : (a > (T)80 ? (T)80 : a);
  return (T)1 / ((T)1 + exp(-a));
}
extern "C" __global__ void gru_step_SUF(T* gates, const T* rec, const T* rbias, long long has_bias,
                                        const T* h_prev, const unsigned char* keep, long long has_keep,
                                        T* rh_out, T* h, long long batch, long long units) {
  KS_LOOP(k, batch * units) {
    long long b = k / units, u = k % units;
    T* g = gates + b * 3 * units;
    const T* r = rec + b * 3 * units;
    T bz = has_bias ? rbias[u] : (T)0, br = has_bias ? rbias[units + u] : (T)0;
    T bh = has_bias ? rbias[2 * units + u] : (T)0;
    T z = ks_sigmoid_SUF(g[u] + r[u] + bz);
    T rr = ks_sigmoid_SUF(g[units + u] + r[units + u] + br);
    T rh = r[2 * units + u] + bh;
    T hh = tanh(g[2 * units + u] + rr * rh);
    g[u] = z; g[units + u] = rr; g[2 * units + u] = hh;
    rh_out[k] = rh;
    T hp = h_prev[k];
    h[k] = (has_keep && !keep[b]) ? hp : z * (hp - hh) + hh;
  }
}
extern "C" __global__ void gru_step_grad_SUF(T* gates, const T* rh, const T* h_prev, const T* g_out,
                                             const T* carry, const unsigned char* keep, long long has_keep,
                                             T* d_rec, T* direct, long long batch, long long units) {
  KS_LOOP(k, batch * units) {
    long long b = k / units, u = k % units;
    T* g = gates + b * 3 * units;
    T* d = d_rec + b * 3 * units;
    T z = g[u], rr = g[units + u], hh = g[2 * units + u];
    T dh = g_out[k] + carry[k];
    T dah = dh * ((T)1 - z) * ((T)1 - hh * hh);
    T dz = dh * (h_prev[k] - hh) * z * ((T)1 - z);
    T dr = dah * rh[k] * rr * ((T)1 - rr);
    T dhr = dah * rr;
    if (has_keep && !keep[b]) {
      dz = (T)0; dr = (T)0; dhr = (T)0; dah = (T)0;
      direct[k] = dh;
    } else {
      direct[k] = dh * z;
    }
    d[u] = dz; d[units + u] = dr; d[2 * units + u] = dhr;
    g[u] = dz; g[units + u] = dr; g[2 * units + u] = dah;
  }
}
""")


def _gru_step_launch(cp, gates, rec, rbias, h_prev, keep, rh, h):
    dtype, batch, units = _step_check("gru_step", gates, (h_prev, rh, h), keep, 3)
    _float_dtype("gru_step", gates, rec, *(() if rbias is None else (rbias,)))
    _written("gru_step", gates, rh, h)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    has_bias = cp.int64(rbias is not None)
    rbias = cp.zeros(1, dtype=dtype) if rbias is None else cp.ascontiguousarray(rbias)
    rec, h_prev = cp.ascontiguousarray(rec), cp.ascontiguousarray(h_prev)
    _launch("gru_step", f"gru_step_{_SUFFIX[dtype]}", batch * units,
            (gates, rec, rbias, has_bias, h_prev, keep, has_keep, rh, h, cp.int64(batch), cp.int64(units)))
    return gates, rh, h


def _gru_step_reference(xp, gates, rec, rbias, h_prev, keep, rh, h):
    _step_check("gru_step", gates, (h_prev, rh, h), keep, 3)
    _float_dtype("gru_step", gates, rec, *(() if rbias is None else (rbias,)))
    units = h.shape[1]
    if rbias is not None:
        rec = rec + rbias
    gates[:, :2 * units] = 1 / (1 + xp.exp(-xp.clip(gates[:, :2 * units] + rec[:, :2 * units], -80, 80)))
    rh[...] = rec[:, 2 * units:]
    gates[:, 2 * units:] = xp.tanh(gates[:, 2 * units:] + gates[:, units:2 * units] * rh)
    z, hh = gates[:, :units], gates[:, 2 * units:]
    h[...] = z * (h_prev - hh) + hh
    if keep is not None:
        h[...] = xp.where(keep.reshape(-1, 1), h, h_prev)
    return gates, rh, h


def _gru_step_grad_launch(cp, gates, rh, h_prev, g_out, carry, keep, d_rec, direct):
    dtype, batch, units = _step_check("gru_step_grad", gates, (rh, h_prev, g_out, carry, direct), keep, 3,
                                      ("d_rec", d_rec))
    _written("gru_step_grad", gates, d_rec, direct)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    rh, h_prev, g_out, carry = (cp.ascontiguousarray(a) for a in (rh, h_prev, g_out, carry))
    _launch("gru_step_grad", f"gru_step_grad_{_SUFFIX[dtype]}", batch * units,
            (gates, rh, h_prev, g_out, carry, keep, has_keep, d_rec, direct, cp.int64(batch), cp.int64(units)))
    return gates, d_rec, direct


def _gru_step_grad_reference(xp, gates, rh, h_prev, g_out, carry, keep, d_rec, direct):
    _step_check("gru_step_grad", gates, (rh, h_prev, g_out, carry, direct), keep, 3, ("d_rec", d_rec))
    units = rh.shape[1]
    z, r, hh = (gates[:, k * units:(k + 1) * units] for k in range(3))
    dh = g_out + carry
    da_h = dh * (1 - z) * (1 - hh * hh)
    d_rec[:, :units] = dh * (h_prev - hh) * z * (1 - z)
    d_rec[:, units:2 * units] = da_h * rh * r * (1 - r)
    d_rec[:, 2 * units:] = da_h * r
    if keep is None:
        direct[...] = dh * z
    else:
        keep = keep.reshape(-1, 1)
        direct[...] = dh * xp.where(keep, z, 1)
        d_rec *= keep
        da_h *= keep
    gates[:, :2 * units] = d_rec[:, :2 * units]
    gates[:, 2 * units:] = da_h
    return gates, d_rec, direct


Kernel("gru_step", _GRU_SRC, _gru_step_launch, _gru_step_reference)
Kernel("gru_step_grad", _GRU_SRC, _gru_step_grad_launch, _gru_step_grad_reference)


# ---- SimpleRNN step ---------------------------------------------------------------------------

# the SimpleRNN step keeps one entry point per activation (the layer's four)
_RNN_EXPR = {"linear": "s", "relu": "s > (T)0 ? s : (T)0", "tanh": "tanh(s)",
             "sigmoid": "(T)1 / ((T)1 + exp(-s))"}
_RNN_ACTIVATIONS = (None, "relu", "tanh", "sigmoid")
_RNN_SRC = "".join(_per_dtype(
    f'extern "C" __global__ void rnn_step_{act}_SUF(T* h, const T* rec, const T* h_prev,\n'
    f'    const unsigned char* keep, long long has_keep, long long batch, long long units) {{\n'
    f'  KS_LOOP(k, batch * units) {{\n'
    f'    T s = h[k] + rec[k];\n'
    f'    s = {expr};\n'
    f'    h[k] = (has_keep && !keep[k / units]) ? h_prev[k] : s;\n'
    f'  }}\n}}\n')
    for act, expr in _RNN_EXPR.items()) + _per_dtype(r"""
extern "C" __global__ void rnn_step_grad_SUF(T* d_pre, const T* g_out, const T* carry,
    const unsigned char* keep, long long has_keep, T* direct, long long batch, long long units) {
  KS_LOOP(k, batch * units) {
    T dh = g_out[k] + carry[k];
    d_pre[k] *= dh;                 /* d_pre held act'(.), zero where masked */
    if (has_keep) direct[k] = keep[k / units] ? (T)0 : dh;
  }
}
""")


def _rnn_step_launch(cp, h, rec, h_prev, keep, activation):
    act = _activation("rnn_step", activation, _RNN_ACTIVATIONS)      # None: linear
    dtype, batch, units = _step_check("rnn_step", h, (rec, h_prev), keep, 1)
    _written("rnn_step", h)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    rec, h_prev = cp.ascontiguousarray(rec), cp.ascontiguousarray(h_prev)
    _launch("rnn_step", f"rnn_step_{act}_{_SUFFIX[dtype]}", batch * units,
            (h, rec, h_prev, keep, has_keep, cp.int64(batch), cp.int64(units)))
    return h


def _rnn_step_reference(xp, h, rec, h_prev, keep, activation):
    act = _activation("rnn_step", activation, _RNN_ACTIVATIONS)
    _step_check("rnn_step", h, (rec, h_prev), keep, 1)
    out = h if keep is None else h.copy()
    out += rec
    if act != "linear":
        out[...] = _ACT_REF[act](xp, out)                      # act(h + rec)
    if keep is not None:
        h[...] = xp.where(keep.reshape(-1, 1), out, h_prev)
    return h


def _rnn_step_grad_launch(cp, d_pre, g_out, carry, keep, direct):
    dtype, batch, units = _step_check("rnn_step_grad", d_pre, (g_out, carry, direct), keep, 1)
    _written("rnn_step_grad", d_pre, direct)
    keep, has_keep = _keep_bytes(cp, keep, batch)
    g_out, carry = cp.ascontiguousarray(g_out), cp.ascontiguousarray(carry)
    _launch("rnn_step_grad", f"rnn_step_grad_{_SUFFIX[dtype]}", batch * units,
            (d_pre, g_out, carry, keep, has_keep, direct, cp.int64(batch), cp.int64(units)))
    return d_pre, direct


def _rnn_step_grad_reference(xp, d_pre, g_out, carry, keep, direct):
    _step_check("rnn_step_grad", d_pre, (g_out, carry, direct), keep, 1)
    dh = g_out + carry
    d_pre *= dh
    if keep is not None:
        direct[...] = xp.where(keep.reshape(-1, 1), 0, dh)
    return d_pre, direct


Kernel("rnn_step", _RNN_SRC, _rnn_step_launch, _rnn_step_reference)
Kernel("rnn_step_grad", _RNN_SRC, _rnn_step_grad_launch, _rnn_step_grad_reference)
