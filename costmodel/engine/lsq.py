"""Robust, bounded, sparse-Jacobian Levenberg-Marquardt in numpy.

Fits parameters in log space (every parameter of the device model is a positive scale or
fraction) to minimise sum_i w_i * huber(r_i(x)) + |prior residuals|^2, where r_i is a
log prediction error. Jacobians are forward differences; a column is recomputed only for
the residuals its parameter can change (`depends`), found once by perturbation, so a
parameter that only touches attention cases costs only attention predictions.
Written by hand rather than taken from scipy because `costmodel calibrate --from` refits
at run time and scipy is not a runtime dependency; it is ~100 lines and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["FitResult", "levenberg_marquardt"]

# residuals(x, subset) -> log errors for the residual indices in `subset` (all when None)
Residuals = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


@dataclass(frozen=True)
class FitResult:
    x: np.ndarray  # log parameters
    cost: float
    iterations: int
    converged: bool


def _huber_weights(r: np.ndarray, delta: float) -> np.ndarray:
    """IRLS weights of the Huber loss: 1 inside delta, delta/|r| outside (so a few wild
    cases, e.g. timings with a noisy host, cannot drag the fit)."""
    a = np.abs(r)
    return np.where(a <= delta, 1.0, delta / np.maximum(a, 1e-300))


def levenberg_marquardt(
    residuals: Residuals,
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    prior_sigma: np.ndarray,
    *,
    delta: float = 0.15,
    step: float = 0.03,
    max_iter: int = 30,
    tol: float = 1e-5,
    depends: Sequence[np.ndarray] | None = None,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Minimise over log-parameters x in [lo, hi]. `prior`/`prior_sigma` add the residuals
    (x - prior) / sigma (a weak pull toward the priors that keeps parameters no data
    constrains where they were). `depends[k]` are the residual indices parameter k can move."""
    x = np.clip(np.asarray(x0, float), lo, hi)
    n_par = len(x)
    sw = np.sqrt(np.asarray(weights, float))

    def total(x: np.ndarray, r: np.ndarray) -> float:
        a = np.abs(r)
        hub = np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta))
        return float(np.sum(weights * hub) + 0.5 * np.sum(((x - prior) / prior_sigma) ** 2))

    r = residuals(x, None)
    cost = total(x, r)
    if depends is None:
        depends = [np.arange(len(r))] * n_par
    mu = 1e-2
    it = 0
    converged = False
    for it in range(1, max_iter + 1):
        rel = 0.0
        iw = _huber_weights(r, delta)
        J = np.zeros((len(r), n_par))
        for k in range(n_par):
            idx = depends[k]
            if len(idx) == 0:
                continue
            h = step if x[k] + step <= hi[k] else -step
            xk = x.copy()
            xk[k] += h
            J[idx, k] = (residuals(xk, idx) - r[idx]) / h
        a = sw * np.sqrt(iw)
        Jw = J * a[:, None]
        rw = r * a
        JtJ = Jw.T @ Jw + np.diag(1.0 / prior_sigma**2)
        g = Jw.T @ rw + (x - prior) / prior_sigma**2
        improved = False
        for _ in range(12):
            A = JtJ + mu * np.diag(np.maximum(np.diag(JtJ), 1e-9))
            try:
                dx = -np.linalg.solve(A, g)
            except np.linalg.LinAlgError:
                mu *= 10
                continue
            xn = np.clip(x + dx, lo, hi)
            rn = residuals(xn, None)
            cn = total(xn, rn)
            if np.isfinite(cn) and cn < cost:
                rel = (cost - cn) / max(cost, 1e-12)
                x, r, cost = xn, rn, cn
                mu = max(mu / 3, 1e-7)
                improved = True
                break
            mu *= 8
        if log:
            log(f"  iter {it}: cost {cost:.5f} (mu {mu:.1e})")
        if not improved or rel < tol:
            converged = True
            break
    return FitResult(x, cost, it, converged)


def find_depends(residuals: Residuals, x: np.ndarray, n_res: int, step: float = 0.1) -> list[np.ndarray]:
    """For each parameter, the residuals that move when it moves (structural sparsity)."""
    r0 = residuals(x, None)
    out = []
    for k in range(len(x)):
        xk = x.copy()
        xk[k] += step
        rk = residuals(xk, None)
        out.append(np.nonzero(np.abs(rk - r0) > 1e-12)[0])
    return out
