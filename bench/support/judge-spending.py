"""How the judge spends alpha over a bake, simulated: the share of 2x error regressions caught in a
10-minute bake and the median time to catch 4x, for spending shapes f(u) = a * min(1, u / u0) +
(1 - a) * u**p (u the part of the bake that has passed), one look at the end, and spending in
proportion to time. Same set-up as `npm run bench:judge` (40 requests/s, 10% on the new version, 0.5%
errors, alpha 0.05, a look every 10 s), its own seeds, the exact group-sequential test computed with
scipy.stats.binom and numpy convolutions (as test/fixtures/judge/reference.py does).

    python3 bench/support/judge-spending.py [releases per case, default 600]      (numpy and SciPy; a few minutes)
"""
import itertools
import sys

import numpy as np
from scipy.stats import binom

T, RPS, SHARE, BASE, ALPHA, LOOK = 600, 40, 0.1, 0.005, 0.05, 10
R = int(sys.argv[1]) if len(sys.argv) > 1 else 600
rng = np.random.default_rng(11)


def simulate(ratio):
    runs = []
    for _ in range(R):
        total = rng.poisson(RPS, T)
        n1 = rng.binomial(total, SHARE)
        n0 = total - n1
        runs.append((n1, n0, rng.binomial(n1, BASE * ratio), rng.binomial(n0, BASE)))
    return runs


DATA = {r: simulate(r) for r in (1, 2, 4)}


def caught_at(run, f):
    """Seconds until the group-sequential test with spending f rejects, or None."""
    n1, n0, x1, x0 = run
    dist, spent, count = np.array([1.0]), 0.0, 0
    for t in range(T):
        k = x1[t] + x0[t]
        if k > 0 and n1[t] > 0 and n0[t] > 0:
            dist = np.convolve(dist, binom.pmf(np.arange(k + 1), k, n1[t] / (n1[t] + n0[t])))
            count += x1[t]
        if (t + 1) % LOOK:
            continue
        tails = np.cumsum(dist[::-1])[::-1]
        fits = np.nonzero(spent + tails <= ALPHA * f((t + 1) / T))[0]
        limit = fits[0] if len(fits) else len(dist)
        if count >= limit:
            return t + 1
        if limit < len(dist):
            spent += tails[limit]
            dist = dist.copy()
            dist[limit:] = 0
    return None


def evaluate(name, f):
    rates = {}
    for ratio in (1, 2, 4):
        times = [caught_at(run, f) for run in DATA[ratio]]
        rates[ratio] = (sum(t is not None for t in times) / R, sorted(t if t is not None else 10**9 for t in times)[(R - 1) // 2])
    print(f"{name:34} false {rates[1][0]:.3f}  2x caught {rates[2][0]:.3f}  4x median {rates[4][1]} s", flush=True)


evaluate("one look at the end", lambda u: 1.0 if u >= 1 else 0.0)
evaluate("in proportion to time", lambda u: min(1.0, u))
for a, u0, p in itertools.product((0.15, 0.25, 0.35), (0.1, 2 / 15, 1 / 6), (1, 2, 4)):
    evaluate(f"a {a} u0 {u0:.3f} p {p}", lambda u, a=a, u0=u0, p=p: a * min(1.0, u / u0) + (1 - a) * min(1.0, u) ** p)
