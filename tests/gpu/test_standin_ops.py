"""Every op of ``kerasette.ops``, forward and backward, on the CuPy stand-in.

The stand-in (``kerasette.testing.standin``) is NumPy behind CuPy's rules:
no implicit conversion to NumPy, no NumPy arrays mixed into device math, no
NumPy functions on device arrays, no ``put_along_axis`` (CuPy 13). An op that
breaks a rule raises here; an op that keeps them must give the same values
and gradients as on NumPy, and keep every result on the device.
"""
import subprocess
import sys

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, ops
from kerasette.autograd import Function, Tensor, backward
from kerasette.testing import standin
from kerasette.testing.standin import StandinArray

TOL = dict(rtol=1e-6, atol=1e-6)


def _rand(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed + 17 * len(shape)).uniform(lo, hi, shape).astype("float32")


A, B = _rand(3, 4, seed=1), _rand(3, 4, seed=2)
POS = _rand(3, 4, seed=3, lo=0.5, hi=2.0)
V4 = _rand(4, seed=4)
M45 = _rand(4, 5, seed=5)
X234 = _rand(2, 3, 4, seed=6)
SQ = _rand(4, 4, seed=7)
LABELS = np.array([0, 3, 1], dtype=np.int64)
SOFT = np.abs(_rand(3, 4, seed=8)) / np.abs(_rand(3, 4, seed=8)).sum(-1, keepdims=True)
BITS = (_rand(3, 4, seed=9) > 0).astype("float32")
COND = A > 0
IDX = np.array([0, 2, 2, 1])


def _act_dense(act, bias=True):
    if bias:
        return (f"dense_{act}", lambda x, w, b: ops.dense(x, w, b, act), [X234, M45, _rand(5, seed=10)])
    return (f"dense_{act}_nobias", lambda x, w: ops.dense(x, w, None, act), [A, M45])


# (case id, function of Tensors, input arrays); integer/bool inputs are constants
CASES = [
    ("add", ops.add, [A, V4]), ("subtract", ops.subtract, [A, V4]),
    ("multiply", ops.multiply, [A, B]), ("divide", ops.divide, [A, POS]),
    ("true_divide", ops.true_divide, [V4, POS]),
    ("power", ops.power, [POS, B]), ("power_scalar", lambda x: ops.power(x, 3.0), [A]),
    ("negative", ops.negative, [A]), ("abs", ops.abs, [A]), ("square", ops.square, [A]),
    ("exp", ops.exp, [A]), ("log", ops.log, [POS]), ("sqrt", ops.sqrt, [POS]),
    ("maximum", ops.maximum, [A, B]), ("minimum", ops.minimum, [A, V4]),
    ("clip", lambda x: ops.clip(x, -0.3, 0.4), [A]),
    ("where", lambda c, x, y: ops.where(c, x, y), [COND, A, B]),
    ("matmul", ops.matmul, [A, M45]), ("matmul_batched", ops.matmul, [X234, M45]),
    ("dot", ops.dot, [A, M45]),
    ("sum", lambda x: ops.sum(x, axis=1), [X234]), ("mean", lambda x: ops.mean(x, axis=(0, 2)), [X234]),
    ("max", lambda x: ops.max(x, axis=1, keepdims=True), [X234]), ("max_all", ops.max, [A]),
    ("min", lambda x: ops.min(x, axis=0), [A]),
    ("var", lambda x: ops.var(x, axis=-1), [A]), ("std", lambda x: ops.std(x, axis=-1), [POS]),
    ("cast", lambda x: ops.cast(x, "float64"), [A]),
    ("reshape", lambda x: ops.reshape(x, (4, -1)), [X234]),
    ("transpose", lambda x: ops.transpose(x, (2, 0, 1)), [X234]),
    ("concatenate", lambda x, y: ops.concatenate([x, y], axis=1), [A, B]),
    ("stack", lambda x, y: ops.stack([x, y], axis=1), [A, B]),
    ("get_item_basic", lambda x: ops.get_item(x, (slice(1, None), None, 2)), [A]),
    ("get_item_advanced", lambda x: ops.get_item(x, IDX), [SQ]),
    ("get_item_tensor_key", lambda x: x[Tensor(IDX)], [SQ]),
    ("expand_dims", lambda x: ops.expand_dims(x, 1), [A]),
    ("squeeze", lambda x: ops.squeeze(ops.expand_dims(x, 0), 0), [A]),
    ("flatten", ops.flatten, [X234]),
    ("split", lambda x: ops.concatenate(ops.split(x, 2, axis=1)[::-1], axis=1), [A]),
    ("unstack", lambda x: ops.stack(ops.unstack(x, axis=1)[::-1]), [A]),
    ("repeat", lambda x: ops.repeat(x, 2, axis=0), [A]),
    ("tile", lambda x: ops.tile(x, (2, 1)), [A]), ("flip", lambda x: ops.flip(x, 1), [A]),
    ("swapaxes", lambda x: ops.swapaxes(x, 0, 2), [X234]),
    ("moveaxis", lambda x: ops.moveaxis(x, 0, -1), [X234]),
    ("broadcast_to", lambda x: ops.broadcast_to(x, (3, 4)), [V4]),
    ("relu", ops.relu, [A]), ("sigmoid", ops.sigmoid, [A]), ("tanh", ops.tanh, [A]),
    ("softmax", ops.softmax, [A]), ("softmax_axis0", lambda x: ops.softmax(x, axis=0), [A]),
    ("log_softmax", ops.log_softmax, [A]), ("elu", ops.elu, [A]), ("selu", ops.selu, [A]),
    ("softplus", ops.softplus, [A]), ("softsign", ops.softsign, [A]),
    ("leaky_relu", ops.leaky_relu, [A]), ("silu", ops.silu, [A]), ("swish", ops.swish, [A]),
    ("gelu", ops.gelu, [A]), ("hard_sigmoid", lambda x: ops.hard_sigmoid(4 * x), [A]),
    ("relu6", lambda x: ops.relu6(8 * x), [A]),
    ("softmax_cross_entropy_sparse", ops.softmax_cross_entropy, [A, LABELS]),
    ("softmax_cross_entropy_dense", ops.softmax_cross_entropy, [A, SOFT]),
    ("sigmoid_cross_entropy", ops.sigmoid_cross_entropy, [A, BITS]),
    _act_dense(None), _act_dense("relu"), _act_dense("tanh"), _act_dense("sigmoid"),
    _act_dense("relu", bias=False),
    *(_act_dense(a) for a in ("elu", "selu", "softplus", "softsign", "relu6", "leaky_relu", "hard_sigmoid",
                              "exponential", "silu", "gelu", "mish")),
    _act_dense("gelu", bias=False), _act_dense("elu", bias=False),
    ("einsum_matmul", lambda x, w: ops.einsum("btf,fu->btu", x, w), [X234, M45]),
    ("einsum_three", lambda x, y, z: ops.einsum("ij,jk,k->i", x, y, z), [A, M45, _rand(5, seed=11)]),
    ("einsum_trace_diag", lambda s: ops.einsum("ii->i", s), [SQ]),
    ("einsum_ellipsis", lambda x, v: ops.einsum("...f,f->...", x, v), [X234, V4]),
    ("einsum_implicit", lambda x, y: ops.einsum("ij,ij", x, y), [A, B]),
    ("tensor_operators", lambda x, y: (x * 2 - y) / 3 + x ** 2 - (abs(y) @ ops.transpose(x)) @ x, [A, B]),
]
CASES += [   # embedding lookup: integer ids (repeated) are constants, the table gets a scatter-add
    ("embedding_lookup", ops.embedding_lookup, [M45, np.array([[0, 3, 3], [1, 0, 3]])]),
    ("take", lambda t, i: ops.take(t, i, axis=0), [SQ, IDX]),
]
CASES += [   # normalization: batch statistics computed in the node, or given (moving) statistics
    ("batch_norm_train", lambda x, g, b: ops.batch_norm(x, gamma=g, beta=b), [X234, V4, _rand(4, seed=21)]),
    ("batch_norm_train_4d", lambda x, g: ops.batch_norm(x, gamma=g), [_rand(2, 3, 2, 4, seed=22), V4]),
    ("batch_norm_given", lambda x, m, v, g, b: ops.batch_norm(x, m, v, g, b),
     [X234, V4, _rand(4, seed=23, lo=0.5, hi=2.0), _rand(4, seed=24), _rand(4, seed=25)]),
    ("batch_normalization", lambda x, m, v: ops.batch_normalization(x, m, v, axis=1),
     [X234, _rand(3, seed=26), _rand(3, seed=27, lo=0.5, hi=2.0)]),
    ("layer_norm", lambda x, g, b: ops.layer_norm(x, g, b), [X234, V4, _rand(4, seed=28)]),
    ("layer_normalization", ops.layer_normalization, [A]),
]
FORWARD_ONLY = [
    ("argmax", lambda x: ops.argmax(x, axis=1), [A]), ("argmin", ops.argmin, [A]),
    ("one_hot", lambda y: ops.one_hot(y, 5), [LABELS]),
    ("zeros_like", ops.zeros_like, [A]), ("ones_like", lambda x: ops.ones_like(x, dtype="int32"), [A]),
    ("stop_gradient", ops.stop_gradient, [A]),
    ("comparisons", lambda x, y: ops.where(x < y, x, y), [A, B]),
]


def _run(fn, arrays, on_standin, grads=True):
    """Forward (and backward with a fixed probe) of ``fn`` on one device; results as NumPy."""
    to_dev = standin.asarray if on_standin else np.array
    tensors = [Tensor(to_dev(a), requires_grad=grads and a.dtype.kind == "f") for a in arrays]
    keras.set_random_seed(99)                       # dropout: the same draws on both devices
    out = fn(*tensors)
    if on_standin:
        assert type(out.value) is StandinArray, f"output left the device: {type(out.value).__name__}"
    if not grads:
        return out.numpy(), []
    probe = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
    backward(out, to_dev(probe))
    result = []
    for t in tensors:
        if t.requires_grad and t.grad is None:
            result.append(None)                     # a constant operand (labels)
        elif t.requires_grad:
            if on_standin:
                assert type(t.grad) is StandinArray, f"gradient left the device: {type(t.grad).__name__}"
            assert t.grad.shape == t.shape
            result.append(backend.to_numpy(t.grad))
    return out.numpy(), result


def _compare(fn, arrays, grads=True):
    ref_out, ref_grads = _run(fn, arrays, False, grads)
    out, got_grads = _run(fn, arrays, True, grads)
    assert out.shape == ref_out.shape and out.dtype == ref_out.dtype
    np.testing.assert_allclose(out, ref_out, **TOL)
    assert len(got_grads) == len(ref_grads)
    for g, r in zip(got_grads, ref_grads):
        assert (g is None) == (r is None)
        if r is None:
            continue
        assert np.isfinite(r).all()
        np.testing.assert_allclose(g, r, **TOL)
    return out, got_grads


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_op_forward_backward_match_numpy(name, fn, arrays):
    out, grads = _compare(fn, arrays)
    assert any(g is not None for g in grads), f"{name}: no gradient reached any input"


@pytest.mark.parametrize("name,fn,arrays", FORWARD_ONLY, ids=[c[0] for c in FORWARD_ONLY])
def test_op_forward_match_numpy(name, fn, arrays):
    _compare(fn, arrays, grads=False)


def test_dropout_same_mask_on_both_devices():
    out, (g,) = _compare(lambda x: ops.dropout(x, 0.5), [_rand(20, 30, seed=12)])
    dropped = out == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_array_equal(g == 0, dropped)


def test_default_device_creators_make_device_arrays():
    before = backend.device()                 # "cpu", or the stand-in under KERASETTE_TEST_DEVICE
    with standin.on_device():
        assert backend.device() is standin.xp and backend.xp() is standin.xp
        for t in (ops.zeros((2, 3)), ops.ones((2,)), ops.convert_to_tensor([[1.0, 2.0]]),
                  ops.convert_to_tensor(np.arange(3.0))):
            assert type(t.value) is StandinArray
            assert t.dtype in (np.float32, np.float64)
        t = ops.convert_to_tensor(A)
        assert ops.shape(t) == (3, 4)
        back = ops.convert_to_numpy(t)
        assert type(back) is np.ndarray
        np.testing.assert_array_equal(back, A)
    assert backend.device() == before
    with backend.device_scope("cpu"):
        assert type(ops.zeros((2,)).value) is np.ndarray


def test_every_public_op_has_a_standin_case():
    covered = {c[0] for c in CASES + FORWARD_ONLY} | {"dropout", "zeros", "ones", "convert_to_tensor",
                                                     "convert_to_numpy", "shape", "as_tensor"}
    covered |= {"conv", "max_pool", "average_pool", "pad", "simple_rnn", "lstm", "gru"}   # tests below
    from kerasette.ops import nn_api, numpy_api      # each run on the stand-in in tests/ops/test_ops_names.py
    covered |= set(numpy_api.__all__) | set(nn_api.__all__)
    public = {n for n in dir(ops) if not n.startswith("_") and callable(getattr(ops, n))
              and not isinstance(getattr(ops, n), type)}
    missing = sorted(n for n in public if n not in covered and not any(c.startswith(n + "_") for c in covered))
    assert not missing, f"ops without a stand-in test: {missing}"


# ---- conv / pooling / rnn (written concurrently; skipped while absent) --------------------

def _conv_mod():
    return pytest.importorskip("kerasette.ops.conv")


IMG = _rand(2, 7, 6, 3, seed=13)
KER = _rand(3, 3, 3, 4, seed=14)


@pytest.mark.parametrize("kwargs", [dict(padding="valid"), dict(padding="same"),
                                    dict(padding="same", strides=2), dict(dilation_rate=2)],
                         ids=["valid", "same", "strided", "dilated"])
def test_conv_matches_numpy(kwargs):
    _conv_mod()
    _compare(lambda x, k: ops.conv(x, k, **kwargs), [IMG, KER])


@pytest.mark.parametrize("act", [None, "relu", "tanh", "sigmoid"])
def test_conv2d_fused_bias_activation_matches_numpy(act):
    conv = _conv_mod()
    _compare(lambda x, k, b: conv.conv2d(x, k, padding="same", bias=b, activation=act),
             [IMG, KER, _rand(4, seed=15)])


def test_pad_matches_numpy():
    _conv_mod()
    _compare(lambda x: ops.pad(x, ((0, 0), (1, 2), (2, 1), (0, 0))), [IMG])


@pytest.mark.parametrize("kwargs", [dict(pool_size=2), dict(pool_size=3, strides=2, padding="same"),
                                    dict(pool_size=(2, 3), strides=1)], ids=["2x2", "same", "overlap"])
@pytest.mark.parametrize("kind", ["max_pool", "average_pool"])
def test_pooling_matches_numpy(kind, kwargs):
    pytest.importorskip("kerasette.ops.pool")
    _compare(lambda x: getattr(ops, kind)(x, **kwargs), [IMG])


@pytest.mark.parametrize("options", [dict(), dict(go_backwards=True), dict(activation="relu"),
                                     dict(mask=True, initial_state=True)],
                         ids=["tanh", "backwards", "relu", "mask_state"])
def test_simple_rnn_matches_numpy(options):
    rnn = pytest.importorskip("kerasette.ops.rnn")
    x, k, rk, b = _rand(3, 5, 4, seed=16), _rand(4, 6, seed=17), _rand(6, 6, seed=18) * 0.5, _rand(6, seed=19)
    options = dict(options)
    arrays = [x, k, rk, b]
    if options.pop("initial_state", False):
        arrays.append(_rand(3, 6, seed=20))
    use_mask = options.pop("mask", False)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], dtype=bool)

    def fn(x, k, rk, b, h0=None):
        m = None
        if use_mask:
            m = backend.get_array_module(x).asarray(mask)
        return rnn.simple_rnn(x, k, rk, b, initial_state=h0, mask=m, **options)
    _compare(fn, arrays)


@pytest.mark.parametrize("options", [dict(), dict(go_backwards=True), dict(mask=True, initial_state=True)],
                         ids=["plain", "backwards", "mask_state"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_lstm_gru_match_numpy(kind, options):
    gates = 4 if kind == "lstm" else 3
    x, k, rk = _rand(3, 5, 4, seed=21), _rand(4, gates * 6, seed=22), _rand(6, gates * 6, seed=23) * 0.5
    b = _rand(gates * 6, seed=24) if kind == "lstm" else _rand(2, 18, seed=24)
    options = dict(options)
    arrays = [x, k, rk, b]
    if options.pop("initial_state", False):
        arrays += [_rand(3, 6, seed=25)] * (2 if kind == "lstm" else 1)
    use_mask = options.pop("mask", False)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], dtype=bool)

    def fn(x, k, rk, b, *states):
        m = backend.get_array_module(x).asarray(mask) if use_mask else None
        if kind == "gru":
            return ops.gru(x, k, rk, b, initial_state=list(states) or None, mask=m, **options)
        seq, c = ops.lstm(x, k, rk, b, initial_state=list(states) or None, mask=m, **options)
        return ops.concatenate([seq[:, -1] + ops.sum(seq, axis=1), c], axis=-1)
    _compare(fn, arrays)


# ---- the stand-in catches what CuPy would refuse ---------------------------------------

class _NumpyExp(Function):
    """A careless op: NumPy called directly on the data."""

    def forward(self, x):
        self.save(x)
        return np.exp(x)

    def backward(self, g):
        return g * np.exp(self.saved[0])


def test_an_op_calling_numpy_on_device_data_fails():
    np.testing.assert_allclose(_NumpyExp()(Tensor(A)).numpy(), np.exp(A))
    with pytest.raises(TypeError):
        _NumpyExp()(Tensor(standin.asarray(A)))


def test_mixing_host_and_device_arrays_fails():
    # refused at the op boundary, naming the op and both devices, before any arithmetic
    dev = Tensor(standin.asarray(A))
    with pytest.raises(ValueError, match=r"op Add: inputs live on two devices \(StandinArray .* and cpu"):
        ops.add(dev, B)
    with pytest.raises(ValueError, match="op Concatenate: inputs live on two devices"):
        ops.concatenate([dev, Tensor(B)], axis=0)
    with pytest.raises(TypeError):
        np.asarray(dev.value)
    with pytest.raises(TypeError):
        np.sum(dev.value)
    with pytest.raises(AttributeError, match="put_along_axis"):
        standin.xp.put_along_axis


def test_standin_array_rules():
    host = A.copy()
    dev = standin.xp.asarray(host)
    host[0, 0] = 42.0                                 # a transfer copies: no aliasing with the host
    assert float(dev[0, 0]) == pytest.approx(A[0, 0])
    total = dev.sum()
    assert type(total) is StandinArray and total.ndim == 0    # reductions stay on the device
    assert float(total) == pytest.approx(float(A.sum()), rel=1e-6)
    assert type(dev.get()) is np.ndarray and type(backend.to_numpy(dev)) is np.ndarray
    y = standin.xp.zeros((3, 4), dtype="float32")
    assert standin.xp.maximum(dev, 0, out=y) is y           # out= writes in place
    np.testing.assert_array_equal(y.get(), np.maximum(A, 0))
    y += 1
    np.testing.assert_array_equal(y.get(), np.maximum(A, 0) + 1)
    assert backend.get_array_module(dev) is standin.xp and backend.is_array(dev)
    assert backend.get_array_module(Tensor(dev)) is standin.xp
    assert type(backend.to_device(dev, "cpu")) is np.ndarray
    assert type(backend.to_device(A, standin.xp)) is StandinArray
    assert standin.xp.float32 is np.float32 and standin.xp.__name__ != "cupy"


def test_import_kerasette_never_imports_cupy():
    code = ("import sys, kerasette, kerasette.ops, kerasette.optimizers; "
            "import kerasette.ops.kernels; "
            "assert 'cupy' not in sys.modules, 'cupy was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cupy_installed_without_a_usable_gpu_is_one_clear_line(monkeypatch):
    """A CPU box with kerasette[gpu] (or a driver too old): asking for the GPU says what is
    missing in one line; seeding and the CPU path are unaffected."""
    cupy = pytest.importorskip("cupy")
    if backend.gpu_available():
        pytest.skip("a usable GPU is present")
    before = backend.device()
    with pytest.raises(RuntimeError, match=r"^kerasette: device 'gpu': CuPy \S+ is installed but") as e:
        backend.set_device("gpu")
    assert "\n" not in str(e.value) and backend.device() == before
    keras.set_random_seed(3)                                  # cupy imported: still no error
    assert cupy is not None


# ---- the stand-in offers only what CuPy has ----------------------------------------------------

def test_standin_refuses_numpy_names_cupy_lacks():
    for name in ("errstate", "geomspace", "nanpercentile", "insert"):
        with pytest.raises(AttributeError, match=f"cupy.{name} does not exist; NumPy has it, CuPy does not"):
            getattr(standin.xp, name)
    with pytest.raises(AttributeError, match="cupy.linalg.multi_dot does not exist"):
        standin.xp.linalg.multi_dot
    with pytest.raises(AttributeError, match="cupy.ndarray has no attribute 'resize'"):
        standin.asarray(np.ones(3)).resize
    assert float(standin.xp.linalg.norm(standin.asarray(np.array([3.0, 4.0])))) == 5.0


def test_an_op_calling_a_numpy_only_function_fails_on_the_standin():
    class Spaced(Function):
        def forward(self, x):
            xp = backend.get_array_module(x)
            with xp.errstate(over="ignore"):          # NumPy has it, CuPy does not
                return xp.exp(x)

    assert Spaced()(Tensor(np.zeros(2))).numpy().tolist() == [1.0, 1.0]          # fine on NumPy
    with pytest.raises(AttributeError, match="errstate does not exist"):
        Spaced()(Tensor(standin.asarray(np.zeros(2))))


def test_integer_gathers_wrap_out_of_range_indices_as_cupy():
    a = standin.asarray(np.arange(10).reshape(5, 2))
    got = a[np.array([5, -6, 7])]
    np.testing.assert_array_equal(standin.to_host(got), np.arange(10).reshape(5, 2)[[0, 4, 2]])
    got = a[:, np.array([2, 3])]
    np.testing.assert_array_equal(standin.to_host(got), np.arange(10).reshape(5, 2)[:, [0, 1]])
    got = a[..., np.array([-3])]
    np.testing.assert_array_equal(standin.to_host(got), np.arange(10).reshape(5, 2)[..., [1]])


def test_the_cupy_name_snapshot_matches_installed_cupy():
    cupy = pytest.importorskip("cupy")
    from kerasette.testing import cupy_names
    live = cupy_names.take_snapshot(cupy)
    snap = cupy_names.load()
    for key in ("module", "ndarray", "linalg", "fft"):
        extra = snap[key] - set(live[key])
        assert not extra, f"the snapshot offers {key} names CuPy {cupy.__version__} lacks: {sorted(extra)}"
