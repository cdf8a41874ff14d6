"""The loops ``kerasette.cpu_kernels`` runs, compiled by numba (imported only through it).

Each loop makes one pass over its arrays and is written so that numba's compiler (LLVM)
turns it into vector instructions: the innermost loop runs over one contiguous row, the
per-sample mask is tested once per row, never per element, and ``error_model="numpy"``
removes the division-by-zero branch numba otherwise puts in every division. ``nogil``: the
intra-op threads (``kerasette.parallel``) run their slices at the same time.

The recurrent steps need ``tanh`` and ``sigmoid``. numba calls the C library's scalar
``tanhf`` / ``expf`` for them (3.6 - 24 ns an element here, not vectorised), so they are
computed here as a rational function of ``x^2`` that vectorises (0.4 ns an element):
``tanh(x) = x P(x^2) / Q(x^2)`` for ``|x| < 7.905`` and +-1 beyond (where float32 ``tanh`` is
+-1 to within 3e-7), ``P`` of degree 6 and ``Q`` of degree 3, fitted for the least maximum relative
error over ``[0, 7.905]`` (``benchmarks/fit_tanh.py`` makes the coefficients; the fit's
error is 1.6e-9, float32 evaluation adds rounding: at most 3.3e-7 absolute, ~5 ulp, against
NumPy's ~1 ulp). ``sigmoid(x) = (1 + tanh(x / 2)) / 2`` (absolute error under 2e-7). They
serve float32 only; float64 steps run NumPy's exact functions.
"""
import numba
import numpy as np

# tanh(x) ~ x P(x^2) / Q(x^2) on |x| <= _TANH_CLAMP (benchmarks/fit_tanh.py)
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = (np.float32(v) for v in (
    0.9999999984594833, 0.13127925546581806, 0.0031534142214823565, 1.1686951236680043e-05,
    -2.2513926282460066e-08, 6.476367939504329e-11, -1.1904484148338776e-13))
_Q0, _Q1, _Q2, _Q3 = (np.float32(v) for v in (
    1.0, 0.46461257274670575, 0.024690966336517232, 0.00026189847977024387))
_TANH_CLAMP = np.float32(7.90531110763549805)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)

_loop = numba.njit(nogil=True, fastmath={"contract"}, error_model="numpy", cache=True)
_inline = numba.njit(nogil=True, fastmath={"contract"}, error_model="numpy", inline="always", cache=True)


@_inline
def tanh32(x):
    """float32 ``tanh(x)`` as the rational function above (vectorisable): exactly +-1 beyond
    the clamp, NaN for NaN (the comparisons are written so that NaN falls through)."""
    xc = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = xc * xc
    p = ((((((_P6 * x2 + _P5) * x2 + _P4) * x2 + _P3) * x2 + _P2) * x2 + _P1) * x2 + _P0) * xc
    q = ((_Q3 * x2 + _Q2) * x2 + _Q1) * x2 + _Q0
    if abs(x) >= _TANH_CLAMP:
        return _ONE if x > 0 else -_ONE
    return p / q


@_inline
def sigmoid32(x):
    return _HALF + _HALF * tanh32(_HALF * x)


@_loop
def tanh_into(x, out):
    """``out = tanh(x)`` over 1-D float32 arrays (the same function the steps use)."""
    for i in range(x.shape[0]):
        out[i] = tanh32(x[i])


@_loop
def adam_step(w, g, m, v, alpha, c1, c2, eps):
    """Adam on 1-D arrays, in place: ``c1 = 1 - beta_1``, ``c2 = 1 - beta_2``."""
    for i in range(w.shape[0]):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] + (gi * gi - v[i]) * c2
        m[i] = mi
        v[i] = vi
        w[i] -= alpha * mi / (np.sqrt(vi) + eps)


@_loop
def rnn_step_tanh(h, rec, h_prev, keep, has_keep):
    """One SimpleRNN step (``ops.kernels``' ``rnn_step``, activation tanh): ``h = tanh(h + rec)``
    in place (``h`` holds the input projection), ``h_prev`` kept for a masked sample."""
    n, units = h.shape
    for b in range(n):
        hb, rb = h[b], rec[b]
        if has_keep and not keep[b]:
            hb[:] = h_prev[b]
            continue
        for u in range(units):
            hb[u] = tanh32(hb[u] + rb[u])


@_loop
def rnn_step_grad(d_pre, g_out, carry, keep, has_keep, direct):
    """The SimpleRNN step backwards (``ops.kernels``' ``rnn_step_grad``): ``d_pre *= g_out +
    carry``; ``direct`` the gradient that skips a masked sample (0 for the others)."""
    n, units = d_pre.shape
    for b in range(n):
        db, gb, cb, hs = d_pre[b], g_out[b], carry[b], direct[b]
        for u in range(units):
            db[u] *= gb[u] + cb[u]
        if has_keep:
            if keep[b]:
                hs[:] = 0
            else:
                for u in range(units):
                    hs[u] = gb[u] + cb[u]


@_loop
def lstm_step(gates, rec, c_prev, h_prev, keep, has_keep, c, h, tc):
    """One LSTM step after the recurrent GEMM (the semantics of ``ops.kernels``' ``lstm_step``):
    ``gates (n, 4U)`` += ``rec`` and activated in place, ``c``, ``h``, ``tc = tanh(c)``
    written; a sample with ``has_keep and not keep[b]`` carries ``c_prev``, ``h_prev``."""
    n, units = c.shape
    for b in range(n):
        gi_, gf_, gg_, go_ = (gates[b, :units], gates[b, units:2 * units], gates[b, 2 * units:3 * units],
                              gates[b, 3 * units:])
        ri, rf, rg, ro = rec[b, :units], rec[b, units:2 * units], rec[b, 2 * units:3 * units], rec[b, 3 * units:]
        cp, cb, hb, tb = c_prev[b], c[b], h[b], tc[b]
        for u in range(units):
            gi = sigmoid32(gi_[u] + ri[u])
            gf = sigmoid32(gf_[u] + rf[u])
            gg = tanh32(gg_[u] + rg[u])
            go = sigmoid32(go_[u] + ro[u])
            gi_[u] = gi
            gf_[u] = gf
            gg_[u] = gg
            go_[u] = go
            cn = gf * cp[u] + gi * gg
            t = tanh32(cn)
            cb[u] = cn
            tb[u] = t
            hb[u] = go * t
        if has_keep and not keep[b]:
            cb[:] = cp
            hb[:] = h_prev[b]


@_loop
def lstm_step_grad(gates, tc, c_prev, g_out, carry_h, carry_c, keep, has_keep, d_pre, h_skip):
    """The LSTM step backwards (``ops.kernels``' ``lstm_step_grad``): every gate's
    pre-activation gradient into ``d_pre (n, 4U)``, the cell carry in place, and the ``h``
    gradient that skips a masked sample into ``h_skip``."""
    n, units = tc.shape
    for b in range(n):
        gi_, gf_, gg_, go_ = (gates[b, :units], gates[b, units:2 * units], gates[b, 2 * units:3 * units],
                              gates[b, 3 * units:])
        di_, df_, dg_, do_ = (d_pre[b, :units], d_pre[b, units:2 * units], d_pre[b, 2 * units:3 * units],
                              d_pre[b, 3 * units:])
        tb, cp, go_b, ch, cc, hs = tc[b], c_prev[b], g_out[b], carry_h[b], carry_c[b], h_skip[b]
        if has_keep and not keep[b]:                  # masked: h's gradient skips the step
            for u in range(units):
                hs[u] = go_b[u] + ch[u]
            d_pre[b, :] = 0
            continue
        for u in range(units):
            gi, gf, gg, go, t = gi_[u], gf_[u], gg_[u], go_[u], tb[u]
            dh = go_b[u] + ch[u]
            dc = cc[u] + dh * go * (_ONE - t * t)
            di_[u] = dc * gg * gi * (_ONE - gi)
            df_[u] = dc * cp[u] * gf * (_ONE - gf)
            dg_[u] = dc * gi * (_ONE - gg * gg)
            do_[u] = dh * t * go * (_ONE - go)
            cc[u] = dc * gf
        if has_keep:
            hs[:] = 0


@_loop
def gru_step(gates, rec, rbias, h_prev, keep, has_keep, rh_out, h):
    """One GRU (``reset_after``) step (``ops.kernels``' ``gru_step``): ``gates (n, 3U)``
    become z, r and the candidate; ``rh_out`` keeps the recurrent candidate term; ``rbias``
    is the recurrent bias ``(3U,)`` (zeros for none)."""
    n, units = h.shape
    bz, br, bh = rbias[:units], rbias[units:2 * units], rbias[2 * units:]
    for b in range(n):
        gz, gr, gh = gates[b, :units], gates[b, units:2 * units], gates[b, 2 * units:]
        rz, rr_, rhb = rec[b, :units], rec[b, units:2 * units], rec[b, 2 * units:]
        hp, hb, ro = h_prev[b], h[b], rh_out[b]
        for u in range(units):
            z = sigmoid32(gz[u] + rz[u] + bz[u])
            r = sigmoid32(gr[u] + rr_[u] + br[u])
            rh = rhb[u] + bh[u]
            hh = tanh32(gh[u] + r * rh)
            gz[u] = z
            gr[u] = r
            gh[u] = hh
            ro[u] = rh
            hb[u] = z * (hp[u] - hh) + hh
        if has_keep and not keep[b]:
            hb[:] = hp


@_loop
def gru_step_grad(gates, rh, h_prev, g_out, carry, keep, has_keep, d_rec, direct):
    """The GRU step backwards (``ops.kernels``' ``gru_step_grad``): ``d_rec (n, 3U)`` the
    recurrent GEMM's gradient, ``gates`` overwritten with the input projection's, ``direct``
    the gradient straight to ``h_{t-1}``."""
    n, units = rh.shape
    for b in range(n):
        gz, gr, gh = gates[b, :units], gates[b, units:2 * units], gates[b, 2 * units:]
        dz_, dr_, dh_ = d_rec[b, :units], d_rec[b, units:2 * units], d_rec[b, 2 * units:]
        rhb, hp, go_b, cb, di = rh[b], h_prev[b], g_out[b], carry[b], direct[b]
        if has_keep and not keep[b]:                  # masked: h's gradient skips the step
            for u in range(units):
                di[u] = go_b[u] + cb[u]
            d_rec[b, :] = 0
            gates[b, :] = 0
            continue
        for u in range(units):
            z, r, hh = gz[u], gr[u], gh[u]
            dh = go_b[u] + cb[u]
            dah = dh * (_ONE - z) * (_ONE - hh * hh)
            dz = dh * (hp[u] - hh) * z * (_ONE - z)
            dr = dah * rhb[u] * r * (_ONE - r)
            di[u] = dh * z
            dz_[u] = dz
            dr_[u] = dr
            dh_[u] = dah * r
            gz[u] = dz
            gr[u] = dr
            gh[u] = dah


@_loop
def max_pool_2x2(x, y, arg):
    """2x2 / stride-2 max pooling of ``x (n, H, W, C)`` into ``y (n, H//2, W//2, C)`` and the
    winning tap ``arg`` (uint8 0..3, row-major; the first maximum wins a tie, a NaN wins over
    numbers as NumPy's ``maximum`` lets it) (``ops.kernels``' ``max_pool_2x2``)."""
    n, ho, wo, c = y.shape
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                x0, x1 = x[s, 2 * i, 2 * j], x[s, 2 * i, 2 * j + 1]
                x2, x3 = x[s, 2 * i + 1, 2 * j], x[s, 2 * i + 1, 2 * j + 1]
                yb, ab = y[s, i, j], arg[s, i, j]
                for k in range(c):
                    best = x0[k]
                    tap = 0
                    v = x1[k]
                    if v > best or (v != v and best == best):
                        best = v
                        tap = 1
                    v = x2[k]
                    if v > best or (v != v and best == best):
                        best = v
                        tap = 2
                    v = x3[k]
                    if v > best or (v != v and best == best):
                        best = v
                        tap = 3
                    yb[k] = best
                    ab[k] = tap


@_loop
def max_pool_2x2_grad(g, arg, dx):
    """The gradient of ``max_pool_2x2``: each window's ``g`` to its winning tap, zeros elsewhere,
    over the whole ``dx (n, H, W, C)`` (rows and columns no window covers included)."""
    n, ho, wo, c = g.shape
    dx[:, 2 * ho:] = 0
    dx[:, :, 2 * wo:] = 0
    zero = g.dtype.type(0)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                gb, ab = g[s, i, j], arg[s, i, j]
                for tap in range(4):            # one output row per inner loop: it vectorises
                    d = dx[s, 2 * i + tap // 2, 2 * j + tap % 2]
                    for k in range(c):
                        d[k] = gb[k] if ab[k] == tap else zero


@_loop
def col2im(dcols, dx, out_h, out_w, kh, kw, sh, sw, dh, dw):
    """The convolution's input gradient from its column gradient (``ops.kernels``' ``col2im``):
    ``dx (n, H, W, C)`` is zeroed, then row ``(s, oh, ow)`` of ``dcols (n*Ho*Wo, kh*kw*C)`` is added
    tap by tap into the ``C`` channels of the pixel that tap read. The inner loop runs over the
    channels of one pixel, contiguous in both arrays: it vectorises."""
    n, _, _, c = dx.shape
    dx[:] = 0
    for s in range(n):
        for oh in range(out_h):
            for ow in range(out_w):
                row = dcols[(s * out_h + oh) * out_w + ow]
                for i in range(kh):
                    for j in range(kw):
                        d = dx[s, oh * sh + i * dh, ow * sw + j * dw]
                        base = (i * kw + j) * c
                        for k in range(c):
                            d[k] += row[base + k]


@_loop
def dropout_mask(out, key, rate, scale, wide):
    """Dropout's mask in one pass: ``out[i] = scale`` where the ``i``-th uniform draw of the
    counter-based stream keyed by ``key`` is ``>= rate``, else 0 (``kerasette.random``'s
    ``_HashGenerator``: SplitMix64 of ``key + (i + 1) * golden``; the draw takes the top 24 bits
    as a float32, or with ``wide`` the top 53 as a float64, exactly as that generator does).
    ``out`` is 1-D; ``rate`` and ``scale`` have its dtype."""
    k = np.uint64(key)
    golden, m1, m2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
    zero = out.dtype.type(0)
    for i in range(out.size):
        z = np.uint64(i + 1) * golden + k
        z ^= z >> np.uint64(30)
        z *= m1
        z ^= z >> np.uint64(27)
        z *= m2
        z ^= z >> np.uint64(31)
        if wide:
            u = np.float64(z >> np.uint64(11)) * 1.1102230246251565e-16            # 2 ** -53
            out[i] = scale if u >= rate else zero
        else:
            v = np.float32(z >> np.uint64(40)) * np.float32(5.960464477539063e-08)   # 2 ** -24
            out[i] = scale if v >= rate else zero
