/**
 * Candidate generation for the token-similarity rules (`file_path` fuzzy, `heuristic`): the keys an
 * entity is indexed under and the keys it looks up, so that every pair whose word tokens are alike
 * enough meets on a key (no link is lost) while common words (`user`, `service`) do not make two
 * names candidates (the cost of an update does not grow with the iteration).
 *
 * Tokens are multisets; `occurrences` turns one into a set (`user user` → `user`, `user#2`) so that
 * the common count c of two multisets is the size of the intersection of their sets, and the Dice
 * coefficient is d = 2c / (m + n) for sizes m and n.
 *
 * **The bound.** The caller promises that every pair that must meet shares a token (c ≥ 1) and has
 * d ≥ δ (`minDice`, already lowered for rounding; ≤ 0 for no bound). So a pair of sizes m and n
 * shares at least α(m, n) = max(1, ⌈δ(m + n)/2⌉) tokens, and cannot qualify if α(m, n) > min(m, n).
 *
 * Lists of at most 12 tokens: let k(m, n) = min(α(m, n), 3), and K(n) the values of k(n, m) over
 * the sizes m ≤ 12 of qualifying partners. An entity of size n is indexed under each of its
 * k-subsets for k ≥ 2 in K(n) (`K3:a|b|c`), and when 1 ∈ K(n) under each token tagged with its size
 * (`S3:a`); it looks up the same k-subsets, and each token tagged with every size m for which
 * k(n, m) = 1. A qualifying pair shares c ≥ α ≥ k tokens, hence a k-subset, or for k = 1 a token
 * under the partner's size: it meets. With δ = 0.85 two stems meet only if they share two words,
 * or all three of three-word stems (`user_order_service` does not meet `user_cart_service`); with
 * δ = 1/3 a single word is looked up only among names of at most 6 − m words. (For δ ≤ 1/4, tokens
 * are not tagged with sizes; for δ ≤ 0 every token is a key and there are no tiers.)
 *
 * Longer lists (or ones with more than 128 such keys) form a *tier*, matched by prefix filtering:
 * in the sorted order of tokens, two lists sharing at least α tokens have a common token among the
 * first m − α + 1 of one and the first n − α + 1 of the other (the first common token has at least
 * α − 1 common tokens after it on both sides), and any α ≤ c will do on each side. A list of the
 * tier (size n) is indexed and looks up with its first n − α₀ + 1 tokens, α₀ the least α(m, n) of
 * a qualifying partner; a shorter list (size m) with its first m − α(m, N) + 1 tokens, N the least
 * size of the tier (α grows with n), and not at all when no tier list can qualify with it (with
 * δ = 0.85, lists under 10 tokens).
 *
 * **Time.** With `timeWords` = L, the caller also promises that a pair that must meet, whose lists
 * differ and hold at most L tokens each, is seen less than one time bucket apart. The keys above
 * then carry the entity's bucket b (`K2:a|b@b`) and are looked up at b − 1, b and b + 1, and
 * identical lists meet on `E:<sorted tokens>` at any distance. Lists of more than L tokens form a
 * second tier, matched as above without time.
 * @module
 */

/** The keys an entity is indexed under and the keys it looks up on the other side. */
export interface Blocking {
  keys: string[];
  probes: string[];
}

export interface DiceBlockingOptions {
  /** Lower bound δ of the Dice coefficient of every pair that must meet; ≤ 0 for none. */
  minDice: number;
  /** Bucket the keys by time for lists of at most this many tokens (see the module doc). */
  timeWords?: number;
}

/** Lists of more tokens are matched by prefix. */
const MAX_WORDS = 12;
/** Subsets of more tokens are not indexed (a smaller shared subset finds the pair too). */
const MAX_SUBSET = 3;
/** One shared token is looked up by the partner's size only if it suffices up to this size. */
const MAX_SIZE_TAGS = 6;
/** A list needing more keys or probes than this is matched by prefix. */
const MAX_KEYS = 128;
/** Guards ⌈δ(m + n)/2⌉ against float noise; erring low only adds candidates. */
const EPSILON = 1e-9;

/** A multiset of tokens as a set: the k-th occurrence of `x` (k ≥ 2) is `x#k`. */
export function occurrences(tokens: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return tokens.map((t) => {
    const k = (seen.get(t) ?? 0) + 1;
    seen.set(t, k);
    return k === 1 ? t : `${t}#${k}`;
  });
}

/** Blocking keys of a token list (and its time bucket when timed). */
export type DiceBlocker = (tokens: readonly string[], bucket?: number) => Blocking;

/** How a list of one size is keyed: its subset sizes (≥ 2) and the partner sizes of single tokens. */
interface SizePlan {
  subsets: number[];
  /** Index each token tagged with its own size. */
  single: boolean;
  /** Look each token up tagged with these partner sizes. */
  partners: number[];
}

export function diceBlocking(options: DiceBlockingOptions): DiceBlocker {
  const delta = options.minDice > 0 ? options.minDice : 0;
  const timed = options.timeWords !== undefined;
  const timeWords = options.timeWords ?? Infinity;
  const alpha = (m: number, n: number) => Math.max(1, Math.ceil((delta * (m + n)) / 2 - EPSILON));
  /** The least α(m, n) over the sizes m of partners that can qualify with a list of size n. */
  const leastAlpha = (n: number) => {
    for (let m = 1; m < n; m++) if (alpha(m, n) <= m) return alpha(m, n);
    return alpha(n, n);
  };
  // One shared token suffices for sizes m + n ≤ 2/δ: tag tokens with sizes while that is selective.
  const tagSingles = alpha(1, MAX_SIZE_TAGS + 1) > 1;
  const single = (k: number) => tagSingles ? `S${k}:` : "S:";
  // plans[n]: the plan of a list of n tokens, or undefined when it is matched by prefix.
  const plans: (SizePlan | undefined)[] = [undefined];
  for (let n = 1; n <= MAX_WORDS; n++) {
    const ks = new Set<number>(), partners: number[] = [];
    for (let m = 1; m <= MAX_WORDS; m++) {
      const a = alpha(m, n);
      if (a > Math.min(m, n)) continue;
      ks.add(Math.min(a, MAX_SUBSET));
      if (a === 1) partners.push(m);
    }
    const subsets = [...ks].filter((k) => k >= 2).sort();
    const combos = subsets.reduce((s, k) => s + choose(n, k), 0);
    const singles = n * (tagSingles ? Math.max(ks.has(1) ? 1 : 0, partners.length) : 1);
    const plan = { subsets, single: ks.has(1), partners: tagSingles ? partners : [] };
    plans.push(combos + singles <= MAX_KEYS ? plan : undefined);
  }
  const firstTier = delta === 0 ? Infinity : plans.findIndex((p, n) => n > 0 && !p);
  const tier = firstTier < 0 ? MAX_WORDS + 1 : firstTier;

  /** Prefix keys of a list for a tier starting at size `from` (namespace `ns`). */
  function prefix(set: string[], from: number, ns: string): Blocking {
    const m = set.length;
    if (m >= from) { // in the tier
      const first = set.slice(0, m - leastAlpha(m) + 1);
      const own = first.map((x) => `${ns}l:${x}`);
      return { keys: own, probes: [...first.map((x) => `${ns}s:${x}`), ...own] };
    }
    const a = alpha(m, from);
    if (a > m) return { keys: [], probes: [] }; // no list of the tier can qualify with it
    const first = set.slice(0, m - a + 1);
    return { keys: first.map((x) => `${ns}s:${x}`), probes: first.map((x) => `${ns}l:${x}`) };
  }

  return (tokens, bucket = 0) => {
    const set = [...new Set(occurrences(tokens))].sort();
    const m = set.length;
    if (m === 0) return { keys: [], probes: [] };
    if (m > timeWords) return prefix(set, timeWords + 1, "H");
    const plan = m < tier ? plans[m] : undefined;
    let keys: string[], probes: string[];
    if (delta === 0) {
      keys = probes = set.map((x) => `S:${x}`);
    } else {
      const tiered = prefix(set, tier, "L");
      const subsets = (plan?.subsets ?? []).flatMap((k) =>
        subsetsOf(set, k).map((s) => `K${k}:${s}`)
      );
      const lookups = !plan ? [] : tagSingles ? plan.partners : plan.single ? [0] : [];
      keys = [...subsets, ...(plan?.single ? tag(set, single(m)) : []), ...tiered.keys];
      probes = [...subsets, ...lookups.flatMap((n) => tag(set, single(n))), ...tiered.probes];
    }
    if (!timed) return { keys, probes };
    const huge = prefix(set, timeWords + 1, "H");
    const exact = `E:${set.join(" ")}`;
    return {
      keys: [...keys.map((k) => `${k}@${bucket}`), exact, ...huge.keys],
      probes: [
        ...probes.flatMap((k) => [`${k}@${bucket - 1}`, `${k}@${bucket}`, `${k}@${bucket + 1}`]),
        exact,
        ...huge.probes,
      ],
    };
  };
}

const tag = (set: string[], prefix: string) => set.map((x) => `${prefix}${x}`);

function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return Math.round(c);
}

/** The k-subsets of a sorted list, each joined by `|`. */
function subsetsOf(items: readonly string[], k: number): string[] {
  const out: string[] = [];
  const pick = (from: number, chosen: string[]) => {
    if (chosen.length === k) return void out.push(chosen.join("|"));
    for (let i = from; i <= items.length - (k - chosen.length); i++) {
      pick(i + 1, [...chosen, items[i]]);
    }
  };
  pick(0, []);
  return out;
}
