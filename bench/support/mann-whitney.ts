/** Kayenta's test, as the judge benchmark's comparator (checked against SciPy in test/core/judge.test.ts). */
/** One-sided Mann-Whitney U test (is x stochastically greater than y?), normal approximation with tie correction. */
export function mannWhitneyP(x: readonly number[], y: readonly number[]): number {
  const all = [...x.map((v) => ({ v, g: 0 })), ...y.map((v) => ({ v, g: 1 }))].sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(all.length);
  let tie = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    tie += t * t * t - t;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const n1 = x.length;
  const n2 = y.length;
  const r1 = all.reduce((s, e, i) => (e.g === 0 ? s + ranks[i]! : s), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tie / (n * (n - 1)));
  if (variance <= 0) return 1;
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance); // continuity correction
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfc, fractional error below 1.2e-7.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
