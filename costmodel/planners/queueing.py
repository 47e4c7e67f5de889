"""Queueing arithmetic for the serving load model (serving_load.py), on numpy arrays
of configurations: Erlang C, the normal CDF, and the TTFT / TPOT quantiles by bisection
on their approximate distributions."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

BISECTION_STEPS = 48


def erlang_c_wait(c: np.ndarray, a: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probability of waiting, mean wait) for a free KV slot: M/M/c with c = cap
    slots and offered load a = λ x holding time. Exact (Erlang B recursion) for c < 64;
    beyond, Halfin & Whitt's (1981) limit 1 / (1 + β Φ(β) / φ(β)), β = (c - a) / √a."""
    c = np.asarray(c, dtype=float)
    a = np.asarray(a, dtype=float)
    ok = (a < c) & (a > 0) & (c >= 1)
    pw = np.zeros_like(a)
    small = ok & (c < 64)
    if small.any():
        erl_b = np.ones_like(a)
        for k in range(1, int(c[small].max()) + 1):
            nxt = a * erl_b / (k + a * erl_b)
            erl_b = np.where(k <= c, nxt, erl_b)
        pw_small = c * erl_b / (c - a * (1 - erl_b))
        pw = np.where(small, pw_small, pw)
    big = ok & (c >= 64)
    if big.any():
        beta = (c - a) / np.sqrt(np.maximum(a, 1e-12))
        with np.errstate(over="ignore", divide="ignore"):
            ratio = beta * _phi_cdf(beta) / np.exp(-0.5 * beta**2) * math.sqrt(2 * math.pi)
        pw = np.where(big, 1 / (1 + ratio), pw)
    hold = np.where(lam > 0, a / np.maximum(lam, 1e-300), 0.0)
    wait = np.where(ok, pw * hold / np.maximum(c - a, 1e-12), 0.0)
    return np.clip(pw, 0, 1), wait


def _phi_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2)
    t = 1 / (1 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly * np.exp(-z * z)
    cdf: np.ndarray = 0.5 * (1 + np.sign(x) * erf)
    return cdf


def ttft_quantile(
    q: float,
    p_wait: np.ndarray,
    m_wait: np.ndarray,
    residual: tuple[tuple[np.ndarray, np.ndarray], ...],
    own: np.ndarray,
    weights: tuple[float, ...],
) -> np.ndarray:
    """TTFT = residual + wait + own chunks: the residual uniform over one of the step
    lengths `residual` gives with its probability; the wait an atom at 0 (1 - p_wait)
    and an exponential tail of mean m_wait / p_wait. Bisection on the mixture's CDF
    (uniform + exponential in closed form)."""
    theta = np.where(m_wait > 0, p_wait / np.maximum(m_wait, 1e-300), np.inf)
    w = np.asarray(weights)[:, None]

    def cdf(t: np.ndarray) -> np.ndarray:
        y = t[None, :] - own
        h = np.zeros_like(y)
        for share, length in residual:
            dd = np.maximum(length, 1e-12)
            m = np.clip(y, 0, dd)
            u = m / dd
            with np.errstate(over="ignore", invalid="ignore"):
                tail = (m - (np.exp(-theta * (y - m)) - np.exp(-theta * np.maximum(y, 0))) / theta) / dd
            tail = np.where(np.isfinite(theta), np.clip(np.nan_to_num(tail), 0, 1), u)
            h += share * np.where(y > 0, (1 - p_wait) * u + p_wait * tail, 0.0)
        p: np.ndarray = (w * h).sum(axis=0)
        return p

    longest = np.max(np.stack([np.nan_to_num(length) for _, length in residual]), axis=0)
    tail_mean = np.where(p_wait > 0, m_wait / np.maximum(p_wait, 1e-12), 0)
    hi = own.max(axis=0) + longest + tail_mean * (math.log(1 / (1 - q)) + 1)
    return _bisect(cdf, q, np.zeros_like(hi), hi)


def tpot_quantile(
    q: float,
    mean: np.ndarray,
    c: np.ndarray,
    lam: np.ndarray,
    p_moments: tuple[float, float, float],
    out: Any,
    slope: np.ndarray,
    batch: np.ndarray,
) -> np.ndarray:
    """Quantile over requests of TPOT = decode(batch seen) + c x (prompt tokens arriving
    over the request's N - 1 steps) / (N - 1). The prompt tokens are compound Poisson
    (cumulants λW E[P^k], W = (N - 1) x mean step); the others in the batch Poisson
    around the mean, averaged over the request's window (variance 2/3 of the count's:
    the overlap of equal-length stays), scaled by the decode step's slope in the batch.
    Each N's spread by Cornish-Fisher from the summed cumulants."""
    _, ep2, ep3 = p_moments
    comps = [(n, w) for n, w in zip(out.values, out.weights) if n > 1]
    if not comps:
        return np.zeros_like(mean)
    tot = sum(w for _, w in comps)
    sds: list[np.ndarray] = []
    gammas: list[np.ndarray] = []
    ws: list[float] = []
    bvar = 2 / 3 * np.nan_to_num(batch)
    for n, w in comps:
        arrivals = lam * (n - 1) * np.nan_to_num(mean)
        k2 = (c / (n - 1)) ** 2 * arrivals * ep2 + slope**2 * bvar
        k3 = (c / (n - 1)) ** 3 * arrivals * ep3 + slope**3 * bvar
        sds.append(np.sqrt(k2))
        with np.errstate(over="ignore", invalid="ignore"):
            gammas.append(np.where(k2 > 0, k3 / np.maximum(k2, 1e-300) ** 1.5, 0.0))
        ws.append(w / tot)
    if len(comps) == 1:
        z = NormalDist().inv_cdf(q)
        return mean + sds[0] * (z + (z * z - 1) * gammas[0] / 6)

    def cdf(t: np.ndarray) -> np.ndarray:
        total = np.zeros_like(t)
        for sd, g, w in zip(sds, gammas, ws):
            x = (t - mean) / np.maximum(sd, 1e-300)
            a = g / 6
            disc = np.maximum(1 + 4 * a * (a + x), 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(a > 1e-9, (np.sqrt(disc) - 1) / (2 * np.maximum(a, 1e-9)), x)
            total += w * np.where(sd > 0, _phi_cdf(z), (t >= mean).astype(float))
        return total

    z = NormalDist().inv_cdf(q)
    hi = mean + max(1.0, 4 * z) * np.max(np.stack(sds), axis=0) * (1 + np.max(np.stack(gammas), axis=0))
    return _bisect(cdf, q, mean - 10 * np.max(np.stack(sds), axis=0), hi)


def _bisect(cdf: Any, q: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    lo = np.nan_to_num(lo, nan=0.0)
    hi = np.where(np.isfinite(hi), hi, np.nan)
    bad = np.isnan(hi)
    hi = np.nan_to_num(hi, nan=1.0)
    for _ in range(64):  # widen until the upper bound holds q
        short = cdf(hi) < q
        if not short.any():
            break
        hi = np.where(short, hi * 2 + 1e-9, hi)
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        below = cdf(mid) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.where(bad, np.nan, hi)
