"""keras.random and SeedGenerator; seeded Dropout / RNN dropout (issue 15, item 3)."""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")

import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, random


def _np(t):
    return backend.to_numpy(getattr(t, "value", t))


DRAWS = {
    "normal": lambda seed: random.normal((50,), mean=1.0, stddev=2.0, seed=seed),
    "uniform": lambda seed: random.uniform((50,), minval=-1.0, maxval=3.0, seed=seed),
    "randint": lambda seed: random.randint((50,), 0, 10, seed=seed),
    "truncated_normal": lambda seed: random.truncated_normal((50,), seed=seed),
    "dropout": lambda seed: random.dropout(np.ones((50,), np.float32), 0.5, seed=seed),
    "shuffle": lambda seed: random.shuffle(np.arange(50), seed=seed),
    "categorical": lambda seed: random.categorical(np.zeros((2, 5), np.float32), 10, seed=seed),
    "gamma": lambda seed: random.gamma((50,), 1.5, seed=seed),
    "beta": lambda seed: random.beta((50,), 2.0, 3.0, seed=seed),
    "binomial": lambda seed: random.binomial((50,), 5, 0.5, seed=seed),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_int_seed_repeats_generator_advances_global_restarts(name):
    draw = DRAWS[name]
    np.testing.assert_array_equal(_np(draw(7)), _np(draw(7)))
    assert not np.array_equal(_np(draw(7)), _np(draw(8)))
    gen = random.SeedGenerator(3)
    first, second = _np(draw(gen)), _np(draw(gen))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, _np(draw(random.SeedGenerator(3))))
    keras.utils.set_random_seed(11)
    a, b = _np(draw(None)), _np(draw(None))
    assert not np.array_equal(a, b)
    keras.set_random_seed(11)
    np.testing.assert_array_equal(a, _np(draw(None)))


def test_dtypes_shapes_and_ranges():
    x = random.normal((2, 3))
    assert x.shape == (2, 3) and x.dtype == np.float32
    assert random.normal((4,), dtype="float64").dtype == np.float64
    assert random.uniform((3,), dtype="float16").dtype == np.float16
    u = _np(random.uniform((1000,), minval=2.0, maxval=3.0, seed=1))
    assert u.min() >= 2.0 and u.max() < 3.0
    r = random.randint((1000,), 3, 6, seed=1)
    assert r.dtype == np.int32 and set(_np(r).tolist()) == {3, 4, 5}
    assert random.randint((2,), 0, 4, dtype="int64").dtype == np.int64
    t = _np(random.truncated_normal((5000,), mean=1.0, stddev=0.5, seed=2))
    assert t.min() >= 0.0 and t.max() <= 2.0
    assert random.categorical(np.zeros((3, 4)), 6).shape == (3, 6)
    with pytest.raises(ValueError, match="float"):
        random.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer"):
        random.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed="x")


def test_distributions_have_the_right_moments():
    n = 40000
    g = _np(random.gamma((n,), 2.5, seed=1))
    assert abs(g.mean() - 2.5) < 0.05 and abs(g.var() - 2.5) < 0.15
    small = _np(random.gamma((n,), 0.5, seed=2))
    assert abs(small.mean() - 0.5) < 0.02 and small.min() >= 0
    b = _np(random.beta((n,), 2.0, 3.0, seed=3))
    assert abs(b.mean() - 0.4) < 0.01
    k = _np(random.binomial((n,), 10, 0.3, seed=4))
    assert abs(k.mean() - 3.0) < 0.05 and abs(k.var() - 2.1) < 0.1 and set(np.unique(k)) <= set(range(11))
    z = _np(random.normal((n,), seed=5))
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    c = _np(random.categorical(np.log(np.array([[0.2, 0.8]], np.float32)), n, seed=6))
    assert abs(c.mean() - 0.8) < 0.02
    tn = _np(random.truncated_normal((n,), seed=7))
    assert abs(tn.std() - 0.88) < 0.02                 # std of N(0, 1) cut at +-2


def test_shuffle_permutes_along_an_axis_and_dropout_scales():
    x = np.arange(12).reshape(3, 4)
    s = _np(random.shuffle(x, axis=1, seed=3))
    assert sorted(s[0].tolist()) == [0, 1, 2, 3]
    assert (s[1] - s[0] == 4).all()                     # the same permutation on every row
    d = _np(random.dropout(np.ones((100, 10), np.float32), 0.3, noise_shape=(None, 1), seed=1))
    assert set(np.unique(d)) <= {0.0, np.float32(1 / 0.7)}
    assert all(len(set(row)) == 1 for row in d)         # one draw per row
    with pytest.raises(ValueError, match="noise_shape"):
        random.dropout(np.ones((2, 3)), 0.5, noise_shape=(2,))


def test_dropout_is_differentiable():
    x = keras.Variable(np.ones((4, 5), np.float32))
    y = random.dropout(x, 0.5, seed=2)
    keras.ops.sum(y).backward()
    np.testing.assert_array_equal(_np(x.grad), _np(y))


def test_seed_generator_state_is_a_saveable_variable():
    gen = random.SeedGenerator(5)
    assert isinstance(gen.state, keras.Variable) and gen.state.dtype == np.int32
    assert gen.state.path == f"{gen.name}/seed_generator_state" and not gen.state.trainable
    np.testing.assert_array_equal(gen.next(), [5, 0])
    np.testing.assert_array_equal(_np(gen.state), [5, 1])
    saved = _np(gen.state).copy()
    a = _np(random.normal((3,), seed=gen))
    gen.state.assign(saved)                             # restore: the sequence resumes
    np.testing.assert_array_equal(a, _np(random.normal((3,), seed=gen)))
    clone = random.SeedGenerator.from_config(gen.get_config())
    assert clone.get_config() == gen.get_config()
    with pytest.raises(ValueError, match="integer"):
        random.SeedGenerator(1.5)
    with pytest.raises(TypeError, match="unexpected"):
        random.SeedGenerator(1, bogus=2)


def test_seed_generator_counter_is_thread_safe():
    gen = random.SeedGenerator(1)
    seen, lock = [], threading.Lock()

    def work():
        mine = [int(gen.next()[1]) for _ in range(200)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(800))


def test_global_generator_is_per_thread():
    keras.set_random_seed(3)
    here = random._global_generator()
    other = []
    t = threading.Thread(target=lambda: other.append(random._global_generator()))
    t.start()
    t.join()
    assert other[0] is not here


def test_dropout_layers_with_the_same_seed_give_the_same_masks():
    x = np.ones((8, 16), np.float32)
    a, b, c = keras.layers.Dropout(0.5, seed=1), keras.layers.Dropout(0.5, seed=1), keras.layers.Dropout(0.5, seed=2)
    ma, mb = _np(a(x, training=True)), _np(b(x, training=True))
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(ma, _np(c(x, training=True)))
    assert not np.array_equal(ma, _np(a(x, training=True)))   # the generator advances
    assert a.weights == []                                     # the seed state is not a weight
    np.testing.assert_array_equal(_np(a(x)), x)                 # inference: identity


def test_unseeded_dropout_is_reproducible_after_set_random_seed():
    x = np.ones((8, 16), np.float32)
    keras.set_random_seed(5)
    first = _np(keras.layers.Dropout(0.5)(x, training=True))
    keras.set_random_seed(5)
    np.testing.assert_array_equal(first, _np(keras.layers.Dropout(0.5)(x, training=True)))


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_rnn_dropout_is_reproducible_per_layer(cls):
    x = np.random.default_rng(0).standard_normal((4, 5, 3)).astype(np.float32)

    def run(seed):
        layer = getattr(keras.layers, cls)(6, dropout=0.3, recurrent_dropout=0.3, seed=seed,
                                           kernel_initializer="ones", recurrent_initializer="ones")
        return _np(layer(x, training=True)), layer

    a, layer = run(1)
    b, _ = run(1)
    c, _ = run(2)
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, _np(layer(x, training=True)))


def test_keras_reference_seeding_semantics_when_installed():
    k3 = pytest.importorskip("keras", reason="Keras 3 cross-check")
    if not hasattr(k3, "random"):
        pytest.skip("not Keras 3")
    gen = k3.random.SeedGenerator(42)
    first = np.asarray(gen.next())
    assert first.tolist() == [42, 0] and np.asarray(gen.state.numpy()).tolist() == [42, 1]
    mine = random.SeedGenerator(42)
    assert mine.next().tolist() == first.tolist() and _np(mine.state).tolist() == [42, 1]
    assert mine.get_config()["seed"] == gen.get_config()["seed"]
    same = [np.asarray(k3.random.normal((3,), seed=1)) for _ in range(2)]
    np.testing.assert_array_equal(*same)                 # Keras: an int seed repeats too


def test_the_cupy_counter_hash_generator_keeps_the_device_rules():
    """CuPy's path (a counter-based SplitMix64 in array code), run on the stand-in's arrays."""
    from kerasette.testing import standin
    from kerasette.testing.standin import StandinArray
    gen = random._HashGenerator(standin.xp, 12345)
    u, z, i = gen.random((20000,)), gen.standard_normal((20000,), "float64"), gen.integers(3, 7, (20000,), "int32")
    assert all(type(a) is StandinArray for a in (u, z, i))
    u, z, i = backend.to_numpy(u), backend.to_numpy(z), backend.to_numpy(i)
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(u.var() - 1 / 12) < 0.003 and abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert i.dtype == np.int32 and set(np.unique(i)) == {3, 4, 5, 6}
    again = random._HashGenerator(standin.xp, 12345)
    np.testing.assert_array_equal(backend.to_numpy(again.random((20000,))), u)   # keyed, repeatable
    assert not np.array_equal(backend.to_numpy(again.random((20000,))), u)      # and it advances


def test_device_draws_stay_on_the_device():
    from kerasette.testing import standin
    from kerasette.testing.standin import StandinArray
    with standin.on_device():
        a = random.normal((20000,), seed=3)
        assert type(a.value) is StandinArray
        np.testing.assert_array_equal(_np(a), _np(random.normal((20000,), seed=3)))
        z = _np(a)
        assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
        u = _np(random.uniform((20000,), seed=4, dtype="float64"))
        assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
        r = _np(random.randint((20000,), 2, 5, seed=5))
        assert set(np.unique(r)) == {2, 3, 4}
        gen = random.SeedGenerator(9)
        first, second = _np(random.dropout(np.ones((64,), np.float32), 0.5, seed=gen)), \
            _np(random.dropout(np.ones((64,), np.float32), 0.5, seed=gen))
        assert not np.array_equal(first, second)
        gen.state.assign(np.array([9, 0], np.int32))               # resumes the sequence exactly
        np.testing.assert_array_equal(first, _np(random.dropout(np.ones((64,), np.float32), 0.5, seed=gen)))
