"""Optimizers: SGD (momentum, Nesterov), Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam,
Adadelta, Ftrl, Lion, Lamb, Adafactor.

Updates follow Keras 3's formulas exactly and run in place on the weight
arrays (no new arrays per weight beyond one scratch buffer), so an epoch's
optimizer cost is a handful of passes over the parameters. State is kept
per weight in ``slots``; ``variables`` lists it in Keras's order for saving.

On a GPU the built-in optimizers keep all weights, and each slot, in one flat
buffer (``flat_params``): a step is one update over every weight at once (the
fused Adam / SGD-momentum kernel launched once, not once per weight).
"""
import math
import numbers

import numpy as np

from . import backend, cpu_kernels, parallel, schedules
from .flat_params import FlatParams
from .ops import kernels

__all__ = ["schedules", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam",
           "Adadelta", "Ftrl", "Lion", "Lamb", "Adafactor", "get", "serialize", "deserialize"]


class Optimizer:
    """Base class.

    Args:
        learning_rate (float | LearningRateSchedule | callable): the step size, or a callable
            ``step -> lr`` such as ``keras.optimizers.schedules.ExponentialDecay`` (default 0.001).
        name (str | None): default the class name in lower case.
        clipnorm (float | None): clip each gradient to this L2 norm.
        clipvalue (float | None): clip each gradient's entries to ``[-clipvalue, clipvalue]``.
        global_clipnorm (float | None): scale all gradients together so that their joint L2
            norm is at most this. At most one of the three may be set (as in Keras).
        weight_decay (float | None): decoupled decay ``w -= lr * weight_decay * w`` before each
            step (default None: off).
        **kwargs: Keras 2's ``lr`` and options kerasette does not implement (EMA, loss scaling)
            are refused with a message.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.SGD(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, 2.0]))
        >>> opt.apply_gradients([(np.array([1.0, 1.0]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9, 1.9]
    """

    slot_names = ()
    # whether ``update`` is elementwise, so that one call on the flat buffers of every weight
    # gives the per-weight results (False for rules with per-weight norms or factored slots)
    elementwise = True
    # how many arrays ``_extra_state`` gives once built (saved after the slots)
    _extra_state_count = 0

    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, weight_decay=None, **kwargs):
        _check_extra_arguments(type(self).__name__, kwargs)
        _check_clipping(type(self).__name__, clipnorm, clipvalue, global_clipnorm)
        self.name = name or type(self).__name__.lower()
        self._learning_rate = learning_rate
        self.clipnorm, self.clipvalue, self.global_clipnorm = (v or None for v in (clipnorm, clipvalue,
                                                                                  global_clipnorm))
        self.weight_decay = weight_decay
        self.iterations = 0
        self.slots = {}            # slot name -> list of arrays, one per weight
        self._vars = None          # the weights the slots belong to (order fixed at build)
        self._scratch = {}         # slot index -> a reusable temporary (not state: never saved)
        self._flat = None          # FlatParams: the weights and slots packed (device only)
        self._repacks = 0          # packs made; past _MAX_PACKS the per-weight path stays

    @property
    def learning_rate(self):
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value

    lr = learning_rate

    def build(self, variables):
        """Create the per-weight state for ``variables`` (zeros like each weight).

        Args:
            variables (list): the ``Variable`` s this optimizer will update, in a fixed order.
        """
        self._vars = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._vars)}
        for name in self.slot_names:
            self.slots[name] = [self._new_slot(name, v.value) for v in self._vars]

    def _new_slot(self, name, value):
        """Slot ``name``'s starting array for a weight whose array is ``value`` (default zeros
        like it; a subclass may give another value or shape)."""
        return backend.get_array_module(value).zeros_like(value)

    def _slot_shape(self, name, shape):
        """The shape of slot ``name`` for a weight of shape ``shape`` (default the same)."""
        return tuple(shape)

    def _keras_slot_groups(self):
        """How Keras 3 builds this optimizer's slots, which is their order in its files: a tuple
        of groups, each group's slots created weight by weight, interleaved (Adam:
        ``(("momentum", "velocity"),)``: m0, v0, m1, v1, ...). Default: each slot its own group."""
        return tuple((n,) for n in self.slot_names)

    def _extra_state(self):
        """State besides the slots that Keras 3 saves after them (a list of arrays; default none)."""
        return []

    def _restore_extra_state(self, arrays):
        """Set the state ``_extra_state`` gave from ``arrays`` (read from a file).

        Args:
            arrays (list): one array per entry of ``_extra_state()``, in its order.
        """
        if arrays:
            raise ValueError(f"{type(self).__name__}: keeps no state besides its slots, got "
                             f"{len(arrays)} more arrays")

    def _begin_step(self):
        """Called once per step, after ``iterations`` was incremented and before the updates
        (state shared by every weight, such as Nadam's momentum-schedule product)."""

    @property
    def built(self):
        return self._vars is not None

    def apply_gradients(self, grads_and_vars):
        """Apply ``[(grad, variable), ...]``; grads may be None (skipped).

        Args:
            grads_and_vars (iterable): pairs ``(gradient, Variable)``.

        Examples:
            >>> import kerasette as keras
            >>> v = keras.Variable(np.array([1.0, 2.0]))
            >>> keras.optimizers.SGD(0.5).apply_gradients([(np.array([1.0, 1.0]), v)])
            >>> v.numpy().tolist()
            [0.5, 1.5]
        """
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, trainable_variables=None):
        """One update step of ``trainable_variables`` with ``grads`` (arrays or Tensors).

        Args:
            grads (list): one gradient per variable (None skips that variable).
            trainable_variables (list | None): the variables (default: those given to ``build``).

        Examples:
            >>> import kerasette as keras
            >>> v = keras.Variable(np.array([1.0, 2.0]))
            >>> keras.optimizers.SGD(0.5).apply([np.array([1.0, 1.0])], [v])
            >>> v.numpy().tolist()
            [0.5, 1.5]
        """
        if trainable_variables is None:
            trainable_variables = self._vars
        grads = [getattr(g, "value", g) for g in grads]
        _check_gradients(type(self).__name__, grads, trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        missing = [v for v in trainable_variables if id(v) not in self._index]
        if missing:
            self._extend(missing)
        grads = self._clip(grads)
        lr = self.learning_rate            # a schedule sees the 0-based step, as in Keras
        self.iterations += 1
        self._begin_step()
        # large host updates split over the intra-op threads (each update's parallel.ranges),
        # also for models whose layers run outside the region (an MLP: 2.0 -> 1.1 ms of Adam per step)
        with parallel.region(_host_elements(grads) >= _SPLIT_MIN_ELEMENTS):
            self._apply_each(grads, trainable_variables, lr)

    def _apply_each(self, grads, trainable_variables, lr):
        if self._packed(grads, trainable_variables):
            self._apply_flat(grads, trainable_variables, lr)
            return
        for g, v in zip(grads, trainable_variables):
            if g is None:
                continue
            g = getattr(g, "value", g)           # a Tensor's array
            xp = backend.get_array_module(v.value)
            if backend.get_array_module(g) is not xp:
                g = backend.to_device(g, xp)     # host gradients for device weights (Keras converts)
            if g.dtype != v.value.dtype:
                g = g.astype(v.value.dtype)
            i = self._index[id(v)]
            if self.weight_decay and not self._fuses_decay(v.value):
                # decoupled weight decay before the step, for every optimizer (as Keras 3)
                v.value -= (lr * self.weight_decay) * v.value
            self.update(v.value, g, i, lr)
            if getattr(v, "constraint", None) is not None:
                v.value[...] = v.constraint(v.value)      # Keras projects after each update

    def _apply_flat(self, grads, trainable_variables, lr):
        """The step over every weight at once: the gradients gathered into one buffer, one
        ``update`` on the flat weights and slots; constraints after, weight by weight."""
        flat = self._flat
        g = flat.gather(grads)
        w = flat.weights
        if self.weight_decay and not self._fuses_decay(w):
            w -= (lr * self.weight_decay) * w
        self.update(w, g, flat, lr)
        for v in trainable_variables:
            if getattr(v, "constraint", None) is not None:
                v.value[...] = v.constraint(v.value)

    def _packed(self, grads, trainable_variables):
        """Whether this step runs flat: a built-in elementwise rule, every weight given a
        gradient, on one device (not the CPU, where gathering the gradients costs more than the
        per-weight calls it saves). Packs (again) when the weights or slots were replaced."""
        if (not self._vars or self._repacks > _MAX_PACKS or not self.elementwise
                or not kernels.on_device(backend.get_array_module(self._vars[0].value))
                or type(self).update.__module__ != __name__):
            return False                       # the CPU: no per-weight walk below, every step
        if any(g is None for g in grads) or trainable_variables is not self._vars and (
                len(trainable_variables) != len(self._vars)
                or any(a is not b for a, b in zip(trainable_variables, self._vars))):
            return False
        flat = self._flat
        if flat is not None and flat.intact(self._vars, self.slots):
            return True
        self._flat = None
        if not FlatParams.fits(self._vars):
            return False
        self._repacks += 1
        self._flat = FlatParams(self._vars, self.slots)
        self._scratch.pop(id(FlatParams), None)
        return True

    def _slot(self, name, i):
        """Slot ``name`` of weight ``i``, or the whole flat slot when ``i`` is the ``FlatParams``."""
        return i.slots[name] if type(i) is FlatParams else self.slots[name][i]

    def update(self, w, g, i, lr):
        """Update weight array ``w`` in place given gradient ``g`` (slot index ``i``).

        Subclasses implement their rule here; ``apply`` calls it once per weight (a built-in
        rule, elementwise, is also called once on the flat buffers: ``i`` is then the
        ``FlatParams``; read slots through ``self._slot(name, i)``).

        Args:
            w (array): the weight's values, updated in place.
            g (array): its gradient, clipped already.
            i (int): the weight's index in the slots (``self.slots[name][i]``).
            lr (float): this step's learning rate.
        """
        raise NotImplementedError

    def _fuses_decay(self, w):
        """Whether ``update`` applies the decoupled weight decay itself (in its fused kernel)."""
        return False

    def _scratch_like(self, i, w):
        """A temporary of ``w``'s shape, dtype and device, reused step after step (a fresh
        1-2 MB array per weight per step costs page faults)."""
        key = id(FlatParams) if type(i) is FlatParams else i
        buf = self._scratch.get(key)
        if buf is None or buf.shape != w.shape or buf.dtype != w.dtype or type(buf) is not type(w):
            buf = self._scratch[key] = backend.get_array_module(w).empty_like(w)
        return buf

    def _extend(self, new_vars):
        start = len(self._vars)
        self._vars.extend(new_vars)
        for k, v in enumerate(new_vars):
            self._index[id(v)] = start + k
        for name in self.slot_names:
            self.slots[name].extend(self._new_slot(name, v.value) for v in new_vars)

    def _clip(self, grads):
        if self.clipvalue is not None:
            grads = [None if g is None else backend.get_array_module(g).clip(g, -self.clipvalue, self.clipvalue)
                     for g in grads]
        if self.clipnorm is not None:
            grads = [None if g is None else _scale_to_norm([g], self.clipnorm)[0] for g in grads]
        if self.global_clipnorm is not None:
            grads = _scale_to_norm(grads, self.global_clipnorm)
        return grads

    @property
    def variables(self):
        """The per-weight slot arrays, weight by weight (e.g. Adam: m0, v0, m1, v1, ...), then
        any state shared by all weights (Nadam's momentum-schedule product).

        ``kerasette.saving`` writes them (with the iteration count and learning rate)
        in Keras 3's own file order."""
        out = []
        if self._vars is None:
            return out
        for i in range(len(self._vars)):
            for name in self.slot_names:
                out.append(self.slots[name][i])
        return out + list(self._extra_state())

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            from . import registry
            lr = registry.serialize_keras_object(lr, f"{self.name}.learning_rate")
        return {"name": self.name, "learning_rate": lr,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm, "weight_decay": self.weight_decay}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)           # every key reaches __init__: unknown ones are refused there
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr, custom_objects)
        return cls(**config)


class SGD(Optimizer):
    """``m = momentum*m - lr*g; w += m`` (Nesterov: ``w += momentum*m - lr*g``).

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.01).
        momentum (float): in ``[0, 1)``; 0 (default) is plain gradient descent.
        nesterov (bool): Nesterov momentum (default False).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> keras.optimizers.SGD(0.1, momentum=0.9).learning_rate
        0.1
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov
        self.slot_names = ("momentum",) if momentum else ()

    def update(self, w, g, i, lr):
        if not self.momentum:
            w -= lr * g
            return
        m = self._slot("momentum", i)
        if kernels.on_device(backend.get_array_module(w)):    # the whole step in one kernel
            kernels.run("sgd_momentum_update", backend.get_array_module(w), w, g, m, lr, self.momentum,
                        self.nesterov)
            return
        m *= self.momentum
        m -= lr * g
        if self.nesterov:
            w += self.momentum * m - lr * g
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam as Keras 3 writes it::

        alpha = lr * sqrt(1 - b2**t) / (1 - b1**t)
        m += (g - m) * (1 - b1);  v += (g*g - v) * (1 - b2)
        w -= alpha * m / (sqrt(v) + epsilon)

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        beta_1 (float): decay of the first-moment average (default 0.9).
        beta_2 (float): decay of the second-moment average (default 0.999).
        epsilon (float): added to the denominator (default 1e-7).
        amsgrad (bool): keep the maximum of the second moments (AMSGrad; default False).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Adam(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9, -0.9]
    """

    slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        if amsgrad:
            self.slot_names = ("momentum", "velocity", "velocity_hat")

    def update(self, w, g, i, lr):
        t = self.iterations
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = self._slot("momentum", i), self._slot("velocity", i)
        xp = backend.get_array_module(w)
        if self._fuses_decay(w):                           # the whole step (and decay) in one kernel
            kernels.run("adam_update", xp, w, g, m, v, alpha, self.beta_1, self.beta_2, self.epsilon,
                        lr * self.weight_decay if self.weight_decay else 0.0)
            return
        arrays = [w, g, m, v]
        if not self.amsgrad and cpu_kernels.usable(*arrays):
            # one compiled pass per slice instead of twelve NumPy passes (kerasette[fast])
            step = lambda *s: cpu_kernels.adam_step(*s, alpha, self.beta_1, self.beta_2, self.epsilon)  # noqa: E731
        else:
            arrays.append(self._scratch_like(i, w))
            if self.amsgrad:
                arrays.append(self._slot("velocity_hat", i))
            step = lambda *s: self._step(xp, alpha, *s)  # noqa: E731
        parts = [(0, w.size)]
        if xp is np and all(a.flags.c_contiguous for a in arrays):
            # large weights: each intra-op thread updates its own slice (kerasette.parallel)
            arrays = [a.reshape(-1) for a in arrays]
            parts = parallel.ranges(w.size, min_rows=1 << 15, xp=xp)
        parallel.run(lambda a, z: step(*[x[a:z] for x in arrays]), parts)

    def _fuses_decay(self, w):
        return not self.amsgrad and kernels.on_device(backend.get_array_module(w))

    def _keras_slot_groups(self):
        return (("momentum", "velocity"),) + ((("velocity_hat",),) if self.amsgrad else ())

    def _step(self, xp, alpha, w, g, m, v, tmp, vhat=None):
        """The Adam step on (slices of) one weight, in place; ``tmp`` is scratch."""
        xp.subtract(g, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        if vhat is not None:
            xp.maximum(vhat, v, out=vhat)
            v = vhat
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w -= lr * weight_decay * w`` before each step
    (the base class applies it; AdamW only turns it on by default).

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        weight_decay (float): the decay rate (default 0.004, as Keras 3).
        **kwargs: ``beta_1``, ``beta_2``, ``epsilon``, ``amsgrad`` as for ``Adam``; the
            ``Optimizer`` arguments.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.85, -0.85]
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """``v = rho*v + (1-rho)*g^2; w -= lr * g / sqrt(v + epsilon)`` (+ momentum, centered).

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        rho (float): decay of the squared-gradient average (default 0.9).
        momentum (float): momentum of the update (default 0).
        epsilon (float): added under the square root (default 1e-7).
        centered (bool): divide by the gradient's estimated variance instead of its second
            moment (default False).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.RMSprop(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.6838, -0.6838]
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        names = ["velocity"]
        if momentum:
            names.append("momentum")
        if centered:
            names.append("average_gradient")
        self.slot_names = tuple(names)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        v = self._slot("velocity", i)
        v *= self.rho
        v += (1 - self.rho) * g * g
        denom = v + self.epsilon
        if self.centered:
            a = self._slot("average_gradient", i)
            a *= self.rho
            a += (1 - self.rho) * g
            denom -= a * a
        inc = lr * g / xp.sqrt(denom)
        if self.momentum:
            m = self._slot("momentum", i)
            m *= self.momentum
            m += inc
            inc = m
        w -= inc

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: ``acc += g**2; w -= lr * g / sqrt(acc + epsilon)``, Keras 3's formula.

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        initial_accumulator_value (float): starting value of ``acc`` (default 0.1).
        epsilon (float): added under the square root (default 1e-7).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Adagrad(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9155, -0.9155]
    """
    slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _new_slot(self, name, value):
        return backend.get_array_module(value).full_like(value, self.initial_accumulator_value)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        acc = self._slot("accumulator", i)
        acc += g * g
        w -= lr * g / xp.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm, as Keras 3 writes it::

        m += (g - m) * (1 - beta_1);  u = max(beta_2 * u, |g|)
        w -= lr * m / ((1 - beta_1**t) * (u + epsilon))

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        beta_1 (float): decay of the first-moment average, in ``[0, 1)`` (default 0.9).
        beta_2 (float): decay of the infinity norm, in ``[0, 1]`` (default 0.999).
        epsilon (float): added to the norm, ``>= 0`` (default 1e-7).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Adamax(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9, -0.9]
    """
    slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        _check_range("Adamax", "beta_1", beta_1, 0, 1, high_open=True)
        _check_range("Adamax", "beta_2", beta_2, 0, 1)
        _check_range("Adamax", "epsilon", epsilon, 0, None)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        m, u = self._slot("momentum", i), self._slot("norm", i)
        m += (g - m) * (1 - self.beta_1)
        u *= self.beta_2
        xp.maximum(u, xp.abs(g), out=u)
        w -= (lr / (1 - self.beta_1 ** self.iterations)) * m / (u + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam, Adam with Nesterov momentum (Dozat's momentum schedule), as Keras 3 writes it::

        mu_t = beta_1 * (1 - 0.5 * 0.96**t);  prod_t = mu_1 * ... * mu_t
        m += (g - m) * (1 - beta_1);  v += (g*g - v) * (1 - beta_2)
        m_hat = mu_{t+1} * m / (1 - prod_t * mu_{t+1}) + (1 - mu_t) * g / (1 - prod_t)
        w -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)

    The product ``prod_t`` is state shared by every weight, saved after the slots (as Keras 3
    saves it).

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        beta_1 (float): decay of the first-moment average, in ``[0, 1)`` (default 0.9).
        beta_2 (float): decay of the second-moment average, in ``[0, 1)`` (default 0.999).
        epsilon (float): added to the denominator, ``>= 0`` (default 1e-7).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Nadam(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.8937, -0.8937]
    """
    slot_names = ("momentum", "velocity")
    _extra_state_count = 1

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        _check_range("Nadam", "beta_1", beta_1, 0, 1, high_open=True)
        _check_range("Nadam", "beta_2", beta_2, 0, 1, high_open=True)
        _check_range("Nadam", "epsilon", epsilon, 0, None)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = np.float32(1.0)     # float32, the variable Keras keeps and saves

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _begin_step(self):
        self._u_product = np.float32(self._u_product * np.float32(self._mu(self.iterations)))

    def _extra_state(self):
        return [np.array(self._u_product, dtype=np.float32)] if self.built else []

    def _restore_extra_state(self, arrays):
        if len(arrays) != 1 or np.shape(arrays[0]) != ():
            raise ValueError(f"Nadam: expects one scalar (the momentum-schedule product) after the "
                             f"slots, got {len(arrays)} arrays")
        self._u_product = np.float32(arrays[0])

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        t = self.iterations
        mu, mu_next = self._mu(t), self._mu(t + 1)
        prod = float(self._u_product)
        m, v = self._slot("momentum", i), self._slot("velocity", i)
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        m_hat = (mu_next / (1 - prod * mu_next)) * m + ((1 - mu) / (1 - prod)) * g
        denom = xp.sqrt(v * (1 / (1 - self.beta_2 ** t)))
        denom += self.epsilon
        m_hat *= lr
        m_hat /= denom
        w -= m_hat

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta as Keras 3 writes it (``rms(x) = sqrt(x + epsilon)``)::

        acc_g = rho * acc_g + (1 - rho) * g*g
        delta = -rms(acc_d) * g / rms(acc_g)
        acc_d = rho * acc_d + (1 - rho) * delta*delta
        w += lr * delta

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001;
            1.0 is the original paper's form).
        rho (float): the decay rate of both averages, in ``[0, 1]`` (default 0.95).
        epsilon (float): added under the square roots, ``>= 0`` (default 1e-7).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Adadelta(learning_rate=1.0)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9986, -0.9986]
    """
    slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        _check_range("Adadelta", "rho", rho, 0, 1)
        _check_range("Adadelta", "epsilon", epsilon, 0, None)
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        acc_g, acc_d = self._slot("accumulated_grad", i), self._slot("accumulated_delta_var", i)
        acc_g *= self.rho
        acc_g += (1 - self.rho) * (g * g)
        delta = xp.sqrt(acc_d + self.epsilon)
        delta *= g
        delta /= xp.sqrt(acc_g + self.epsilon)          # -delta, the step's direction
        acc_d *= self.rho
        acc_d += (1 - self.rho) * (delta * delta)
        delta *= lr
        w -= delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """FTRL-Proximal ("Follow The Regularized Leader"), as Keras 3 writes it::

        g2 = g + 2 * l2_shrinkage * w;  n_new = n + g*g
        z += g2 - (n_new**-p - n**-p) / lr * w;  n = n_new      (p = learning_rate_power)
        w = (clip(z, -l1, l1) - z) / (n**-p / lr + 2 * (l2 + beta / (2 * lr)))

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        learning_rate_power (float): how the per-entry rate falls with the accumulated squared
            gradients, ``<= 0`` (default -0.5; 0 keeps the rate fixed).
        initial_accumulator_value (float): starting value of the accumulators, ``>= 0``
            (default 0.1).
        l1_regularization_strength (float): ``>= 0`` (default 0).
        l2_regularization_strength (float): the stabilizing L2 penalty, ``>= 0`` (default 0).
        l2_shrinkage_regularization_strength (float): the magnitude L2 penalty added to the
            gradient, ``>= 0`` (default 0).
        beta (float): the paper's beta, added to the L2 strength as ``beta / (2 * lr)``
            (default 0).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Ftrl(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.381, -0.381]
    """
    slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        _check_range("Ftrl", "learning_rate_power", learning_rate_power, None, 0)
        _check_range("Ftrl", "initial_accumulator_value", initial_accumulator_value, 0, None)
        _check_range("Ftrl", "l1_regularization_strength", l1_regularization_strength, 0, None)
        _check_range("Ftrl", "l2_regularization_strength", l2_regularization_strength, 0, None)
        _check_range("Ftrl", "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                     0, None)
        _check_range("Ftrl", "beta", beta, 0, None)
        super().__init__(learning_rate, **kwargs)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def _new_slot(self, name, value):
        fill = self.initial_accumulator_value if name == "accumulator" else 0.0
        return backend.get_array_module(value).full_like(value, fill)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        n, z = self._slot("accumulator", i), self._slot("linear", i)
        p = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        n_new = n + g * g
        n_pow = xp.power(n_new, p)
        z += g
        if self.l2_shrinkage_regularization_strength:
            z += (2 * self.l2_shrinkage_regularization_strength) * w
        z -= (n_pow - xp.power(n, p)) * (1 / lr) * w
        n[...] = n_new
        n_pow *= 1 / lr
        n_pow += 2 * l2                                  # the quadratic term
        w[...] = (xp.clip(z, -l1, l1) - z) / n_pow

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum) as Keras 3 writes it::

        w -= lr * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001;
            typically 3-10x smaller than AdamW's).
        beta_1 (float): weight of the momentum in the step's sign, in ``(0, 1]`` (default 0.9).
        beta_2 (float): decay of the momentum, in ``[0, 1]`` (default 0.99).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Lion(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9, -0.9]
    """
    slot_names = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        _check_range("Lion", "beta_1", beta_1, 0, 1, low_open=True)
        _check_range("Lion", "beta_2", beta_2, 0, 1)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        m = self._slot("momentum", i)
        step = xp.sign(self.beta_1 * m + (1.0 - self.beta_1) * g)
        step *= lr
        w -= step
        m *= self.beta_2
        m += (1.0 - self.beta_2) * g

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Optimizer):
    """LAMB: Adam's bias-corrected step scaled per weight by ``||w|| / ||step||``, as Keras 3
    writes it::

        m += (g - m) * (1 - beta_1);  v += (g*g - v) * (1 - beta_2)
        step = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        w -= lr * r * step,  r = ||w|| / ||step|| (1 when either norm is 0)

    The norms are each weight's own, so the step runs weight by weight (never on the packed
    buffers).

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001).
        beta_1 (float): decay of the first-moment average, in ``[0, 1)`` (default 0.9).
        beta_2 (float): decay of the second-moment average, in ``[0, 1)`` (default 0.999).
        epsilon (float): added to the denominator, ``>= 0`` (default 1e-7).
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Lamb(learning_rate=0.1)
        >>> v = keras.Variable(np.array([3.0, -4.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [2.6464, -3.6464]
    """
    slot_names = ("momentum", "velocity")
    elementwise = False

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        _check_range("Lamb", "beta_1", beta_1, 0, 1, high_open=True)
        _check_range("Lamb", "beta_2", beta_2, 0, 1, high_open=True)
        _check_range("Lamb", "epsilon", epsilon, 0, None)
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        t = self.iterations
        m, v = self._slot("momentum", i), self._slot("velocity", i)
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        denom = xp.sqrt(v * (1 / (1 - self.beta_2 ** t)))
        denom += self.epsilon
        step = m * (1 / (1 - self.beta_1 ** t))
        step /= denom
        w_norm = xp.sqrt(xp.sum(w * w))
        s_norm = xp.sqrt(xp.sum(step * step))
        # computed where the arrays are: no device-to-host copy of the norms
        ratio = xp.where((w_norm > 0) & (s_norm > 0), w_norm / xp.where(s_norm > 0, s_norm, 1), 1)
        step *= (lr * ratio).astype(w.dtype)
        w -= step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adafactor(Optimizer):
    """Adafactor as Keras 3 writes it: the second moment of a weight of rank >= 2 kept factored
    over its last two axes (a row and a column average), and steps clipped by their RMS::

        rho = min(lr, 1/sqrt(t));  alpha = max(epsilon_2, rms(w)) * rho
        b = 1 - t**beta_2_decay;   s = g*g + epsilon_1
        rank >= 2: r = b*r + (1-b)*mean(s, -1);  c = b*c + (1-b)*mean(s, -2)
                   v = (r / mean(r, -1))[..., None] * c[..., None, :]
        otherwise: v = b*v + (1-b)*s
        u = g / sqrt(v);  w -= alpha * u / max(1, rms(u) / clip_threshold)

    Slots per weight, in Keras's order: ``r`` (shape ``w.shape[:-1]``), ``c``
    (``w.shape[:-2] + w.shape[-1:]``), ``velocity`` (``w``'s shape); ``r`` and ``c`` are scalar
    placeholders for weights of rank < 2. The step runs weight by weight.

    Args:
        learning_rate (float | LearningRateSchedule | callable): step size (default 0.001),
            capped at ``1/sqrt(t)`` at step ``t``.
        beta_2_decay (float): the second-moment decay exponent, ``<= 0`` (default -0.8).
        epsilon_1 (float): added to the squared gradient, ``>= 0`` (default 1e-30).
        epsilon_2 (float): the smallest weight RMS the step scales with, ``>= 0`` (default 1e-3).
        clip_threshold (float): the RMS above which a step is scaled down, ``> 0`` (default 1.0).
        relative_step (bool): cap a constant learning rate at ``1/sqrt(t)`` (default True).
            Keras 3 caps the rate in the step size either way, so False changes nothing; kept
            for the config.
        **kwargs: ``name``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``weight_decay``
            as for ``Optimizer``; Keras 2's ``lr`` and options kerasette does not implement
            (EMA, loss scaling) are refused.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.Adafactor(learning_rate=0.1)
        >>> v = keras.Variable(np.array([1.0, -1.0]))
        >>> opt.apply_gradients([(np.array([0.5, -0.5]), v)])
        >>> v.numpy().round(4).tolist()
        [0.9, -0.9]
    """
    slot_names = ("r", "c", "velocity")
    elementwise = False

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs):
        _check_range("Adafactor", "beta_2_decay", beta_2_decay, None, 0)
        _check_range("Adafactor", "epsilon_1", epsilon_1, 0, None)
        _check_range("Adafactor", "epsilon_2", epsilon_2, 0, None)
        _check_range("Adafactor", "clip_threshold", clip_threshold, 0, None, low_open=True)
        if not isinstance(relative_step, (bool, np.bool_)):
            raise ValueError(f"Adafactor: relative_step must be True or False, got {relative_step!r}")
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, bool(relative_step)

    def _keras_slot_groups(self):
        return (self.slot_names,)

    def _new_slot(self, name, value):
        return backend.get_array_module(value).zeros(self._slot_shape(name, value.shape), dtype=value.dtype)

    def _slot_shape(self, name, shape):
        shape = tuple(shape)
        if name == "velocity":
            return shape
        if len(shape) < 2:
            return ()
        return shape[:-1] if name == "r" else shape[:-2] + shape[-1:]

    def update(self, w, g, i, lr):
        xp = backend.get_array_module(w)
        t = self.iterations
        cap = 1.0 / math.sqrt(t)
        if self.relative_step and not callable(self._learning_rate):
            lr = min(lr, cap)
        rho = min(lr, cap)
        alpha = xp.maximum(self.epsilon_2, xp.sqrt(xp.mean(w * w))) * rho
        s = g * g
        s += self.epsilon_1
        b = 1.0 - t ** self.beta_2_decay
        v = self._slot("velocity", i)
        if w.ndim >= 2:
            r, c = self._slot("r", i), self._slot("c", i)
            r *= b
            r += (1 - b) * xp.mean(s, axis=-1)
            c *= b
            c += (1 - b) * xp.mean(s, axis=-2)
            xp.multiply((r / xp.mean(r, axis=-1, keepdims=True))[..., None], c[..., None, :], out=v)
        else:
            v *= b
            v += (1 - b) * s
        u = g / xp.sqrt(v)
        scale = alpha / xp.maximum(1.0, xp.sqrt(xp.mean(u * u)) / self.clip_threshold)
        u *= scale.astype(w.dtype)
        w -= u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}


def _check_range(owner, key, value, low, high, low_open=False, high_open=False):
    """Refuse ``value`` unless it is a real number within ``[low, high]`` (either end open or
    None for unbounded), with a one-line message naming the optimizer and the argument."""
    inside = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
              and (low is None or (value > low if low_open else value >= low))
              and (high is None or (value < high if high_open else value <= high)))
    if not inside:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        where = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"{owner}: {key} must be a number in {where}, got {value!r}")


def _check_gradients(owner, grads, variables):
    """One gradient per variable, each of its variable's shape: checked before any state changes."""
    if variables is None:
        raise ValueError(f"{owner} optimizer: no trainable_variables given and the optimizer is not built")
    variables = variables if isinstance(variables, list) else list(variables)
    if len(grads) != len(variables):
        raise ValueError(f"{owner} optimizer: got {len(grads)} gradients (grads) for {len(variables)} "
                         f"variables (trainable_variables)")
    for k, (g, v) in enumerate(zip(grads, variables)):
        if g is not None and hasattr(g, "shape") and tuple(g.shape) != tuple(v.value.shape):
            raise ValueError(f"{owner} optimizer: the gradient of variable "
                             f"'{getattr(v, 'path', None) or v.name}' has shape {tuple(g.shape)}, "
                             f"expected the variable's {tuple(v.value.shape)} (grads[{k}])")


# Keras 3 arguments accepted when they hold their "off" value
_OFF_VALUES = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
               "loss_scale_factor": None, "gradient_accumulation_steps": None}


def _check_extra_arguments(cls_name, kwargs):
    """Refuse arguments kerasette would otherwise ignore (Keras 2's ``lr``, EMA, ...)."""
    if "lr" in kwargs:
        raise ValueError(f"{cls_name}: `lr` is Keras 2's name; use `learning_rate`")
    unknown = sorted(k for k in kwargs if k not in _OFF_VALUES)
    if unknown:
        raise ValueError(f"{cls_name}: argument(s) not recognized: {unknown}")
    used = sorted(k for k, v in kwargs.items() if v != _OFF_VALUES[k])
    if used:
        raise NotImplementedError(f"{cls_name}: {used} not supported by kerasette yet")


def _check_clipping(cls_name, clipnorm, clipvalue, global_clipnorm):
    """Keras's rules: each a number >= 0 or None (0 clips nothing), at most one of them given."""
    given = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    for key, value in given.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                  or not value >= 0):
            raise ValueError(f"{cls_name}: {key} must be a positive number or None, got {value!r}")
    used = [k for k, v in given.items() if v is not None]
    if len(used) > 1:
        raise ValueError(f"{cls_name}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                         f"got {', '.join(f'{k}={given[k]!r}' for k in used)}")


def _scale_to_norm(grads, max_norm):
    """``grads`` times ``max_norm / max(norm, max_norm)``, the norm taken over all of them
    (Keras's clip_by_norm). Computed where the arrays are: no device-to-host sync per step."""
    present = [g for g in grads if g is not None]
    if not present:
        return grads
    xp = backend.get_array_module(present[0])
    norm = xp.sqrt(sum((g * g).sum() for g in present))
    factor = max_norm / xp.maximum(norm, max_norm)
    return [None if g is None else g * factor.astype(g.dtype) for g in grads]


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adamax": Adamax, "nadam": Nadam, "adadelta": Adadelta, "ftrl": Ftrl, "lion": Lion,
            "lamb": Lamb, "adafactor": Adafactor}


def get(identifier):
    """An optimizer from a name (``"adam"``), an Optimizer or a config dict (built-in,
    registered with ``register_keras_serializable`` or in an active ``custom_object_scope``).

    Args:
        identifier (str | dict | object | None): a name, a config dict, an instance or a callable; None gives None.

    Examples:
        >>> import kerasette as keras
        >>> type(keras.optimizers.get("adam")).__name__
        'Adam'
    """
    from . import registry
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        found = registry.lookup(identifier)
        if isinstance(found, type) and issubclass(found, Optimizer):
            return found()
        raise ValueError(f"Unknown optimizer: {identifier!r}. Known: {sorted(_BY_NAME)}")
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_NAME.get(name.lower()) if isinstance(name, str) else None
        if cls is None:
            found = registry.lookup(identifier.get("registered_name") or name) or registry.lookup(name)
            cls = found if isinstance(found, type) and issubclass(found, Optimizer) else None
        if cls is None:
            raise ValueError(f"Unknown optimizer class: {name!r}")
        config = identifier.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"Optimizer {name!r}: config must be a dict, got {type(config).__name__}")
        return cls.from_config(config)
    raise TypeError(f"Could not interpret optimizer: {identifier!r}")


def serialize(opt):
    """``{"module", "class_name", "config", "registered_name"}`` of an optimizer, as Keras writes it
    (a learning-rate schedule as its own config).

    Args:
        opt: the optimizer to describe.

    Examples:
        >>> import kerasette as keras
        >>> cfg = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.01))
        >>> cfg["class_name"], cfg["config"]["learning_rate"]
        ('Adam', 0.01)
    """
    from . import registry
    return registry.serialize_keras_object(opt)


def deserialize(config, custom_objects=None):
    """An optimizer from ``serialize``'s dict (built-in, registered, in ``custom_objects`` or in an
    active ``custom_object_scope``), its learning-rate schedule included.

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> import kerasette as keras
        >>> opt = keras.optimizers.deserialize({"class_name": "SGD", "config": {"learning_rate": 0.5}})
        >>> type(opt).__name__, float(opt.learning_rate)
        ('SGD', 0.5)
    """
    from . import registry
    with registry.CustomObjectScope(custom_objects or {}):
        return get(config)


# packing more often than this (something keeps replacing the weight arrays): stay per weight
_MAX_PACKS = 3

# an optimizer step over at least this many host elements enters parallel.region (~20 us)
_SPLIT_MIN_ELEMENTS = 1 << 16


def _host_elements(grads):
    """How many elements of ``grads`` are NumPy arrays (the ones the intra-op threads split)."""
    return sum(g.size for g in grads if g is not None and type(g) is np.ndarray)
