"""How the judge's alpha could be split, simulated: the sequential test's share (checked every second)
against one look at the bake's end, over grids of alternatives, on the same set-up as
`npm run bench:judge` (40 requests/s, 10% on the new version, 0.5% errors, a 10-minute bake, alpha
0.05). Prints, per grid and split, the share of 2x regressions caught and the median time to catch 4x.
The final look here uses the normal approximation; the judge computes the exact tail.

    python3 bench/support/judge-frontier.py      (numpy and SciPy)
"""
import numpy as np
from scipy.stats import norm

rng = np.random.default_rng(11)
T, RPS, SHARE, BASE, R = 600, 40, 0.1, 0.005, 1500


def simulate(ratio):
    runs = []
    for _ in range(R):
        total = rng.poisson(RPS, T)
        n1 = rng.binomial(total, SHARE)
        n0 = total - n1
        runs.append((n1, n0, rng.binomial(n1, BASE * ratio), rng.binomial(n0, BASE)))
    return runs


DATA = {r: simulate(r) for r in (2, 4)}


def evaluate(alternatives, a_seq, a_final, ratio):
    caught, times = 0, []
    for n1, n0, x1, x0 in DATA[ratio]:
        ok = (n1 > 0) & (n0 > 0) & ((x1 + x0) > 0)
        rho0 = np.where(ok, n1 / np.maximum(n1 + n0, 1), 0.5)
        logs = []
        for m in alternatives:
            q = np.where(ok, m * n1 / np.maximum(m * n1 + n0, 1), 0.5)
            logs.append(np.cumsum(np.where(ok, x1 * np.log(q / rho0) + x0 * np.log((1 - q) / (1 - rho0)), 0)))
        e = np.exp(np.array(logs)).mean(axis=0)
        hit = np.nonzero(e >= 1 / a_seq)[0]
        if len(hit):
            caught += 1
            times.append(hit[0] + 1)
            continue
        if a_final > 0:
            k = (x1 + x0)[ok]
            mean, var = (k * rho0[ok]).sum(), (k * rho0[ok] * (1 - rho0[ok])).sum()
            if 1 - norm.cdf((x1[ok].sum() - 0.5 - mean) / np.sqrt(max(var, 1e-9))) <= a_final:
                caught += 1
                times.append(T)
    return caught / R, (float(np.median(times)) if times else None)


for alternatives in ([1.5, 2, 3, 5], [4, 8], [5], [3, 5]):
    for a_seq, a_final in ((0.05, 0), (0.03, 0.02), (0.02, 0.03), (0.016, 0.034), (0.01, 0.04)):
        p2, _ = evaluate(alternatives, a_seq, a_final, 2)
        p4, t4 = evaluate(alternatives, a_seq, a_final, 4)
        print(f"{alternatives!s:16} sequential {a_seq:<5} final {a_final:<5}  2x caught {p2:.3f}  4x median {t4} s")
