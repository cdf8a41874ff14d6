"""Fit the rational tanh of ``kerasette/numba_loops.py`` and print its coefficients and errors.

``tanh(x) ~ x P(x^2) / Q(x^2)`` on ``[0, clamp]``, ``P`` of degree 6, ``Q`` of degree 3 with
``Q(0) = 1``, for the least maximum relative error: linearised least squares (``P - tanh Q``,
divided by the last ``Q``, as in the Sanathanan-Koerner iteration) with Lawson's reweighting
toward the worst points, in the variable ``(x / clamp)^2`` for conditioning. Needs only NumPy.

    python benchmarks/fit_tanh.py            # the coefficients numba_loops.py holds
"""
import argparse

import numpy as np

P_TERMS, Q_TERMS = 7, 4


def fit(clamp, points=40000, rounds=60):
    """``(P, Q, max relative error)``: coefficients of ``x^(2k)`` (float64)."""
    x = np.linspace(1e-4, clamp, points)
    t = np.tanh(x)
    y = (x / clamp) ** 2
    weights = np.ones_like(x)
    q_last = np.ones_like(x)
    best = None
    for _ in range(rounds):
        design = np.concatenate([x[:, None] * y[:, None] ** np.arange(P_TERMS),
                                 -(t[:, None] * y[:, None] ** np.arange(1, Q_TERMS))], axis=1)
        scale = np.sqrt(weights) / (np.abs(t) * np.abs(q_last))
        sol, *_ = np.linalg.lstsq(design * scale[:, None], t * scale, rcond=None)
        a, b = sol[:P_TERMS], np.concatenate([[1.0], sol[P_TERMS:]])
        q = sum(b[k] * y ** k for k in range(Q_TERMS))
        err = np.abs(x * sum(a[k] * y ** k for k in range(P_TERMS)) / q / t - 1)
        if best is None or err.max() < best[2]:
            best = (a.copy(), b.copy(), err.max())
        q_last = q
        weights = weights * (err / err.max() + 1e-3)
        weights /= weights.sum()
    a, b, worst = best
    # back to powers of x^2: y^k = x^(2k) / clamp^(2k)
    return ([a[k] / clamp ** (2 * k) for k in range(P_TERMS)],
            [b[k] / clamp ** (2 * k) for k in range(Q_TERMS)], worst)


def tanh32(x, p, q, clamp):
    """The float32 evaluation numba_loops.tanh32 makes (Horner in x^2)."""
    x = np.asarray(x, dtype=np.float32)
    xc = np.clip(x, np.float32(-clamp), np.float32(clamp))
    x2 = xc * xc
    num = np.float32(p[-1])
    for c in p[-2::-1]:
        num = num * x2 + np.float32(c)
    den = np.float32(q[-1])
    for c in q[-2::-1]:
        den = den * x2 + np.float32(c)
    return np.where(np.abs(x) >= np.float32(clamp), np.sign(x), xc * num / den).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clamp", type=float, default=7.90531110763549805,
                        help="fit on [0, clamp]; +-1 beyond")
    args = parser.parse_args()
    p, q, worst = fit(args.clamp)
    print("P =", ", ".join(repr(float(v)) for v in p))
    print("Q =", ", ".join(repr(float(v)) for v in q))
    print(f"max relative error of the fit (float64): {worst:.2e}")
    z = np.linspace(-12, 12, 2_000_001).astype(np.float32)
    exact = np.tanh(z.astype(np.float64))
    err = np.abs(tanh32(z, p, q, args.clamp).astype(np.float64) - exact)
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    print(f"float32 evaluation: max absolute error {err.max():.2e}, {np.max(err / np.maximum(ulp, 1e-45)):.1f} ulp "
          f"(NumPy's float32 tanh: {np.abs(np.tanh(z).astype(np.float64) - exact).max():.2e})")


if __name__ == "__main__":
    main()
