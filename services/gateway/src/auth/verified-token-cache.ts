/** How a cache is bounded; both from the config (TOKEN_CACHE_MAX_ENTRIES, TOKEN_CACHE_TTL_SECONDS). */
export interface VerifiedTokenCacheBounds {
  /** Entries kept at most; past it the least recently used goes. 0 turns the cache off. */
  maxEntries: number;
  /** The longest an entry is kept, however far off the token's own expiry is. */
  ttlMs: number;
}

interface Entry<T> {
  value: T;
  /** Epoch ms after which the entry is never used: the token's `exp` or the TTL, whichever is sooner. */
  usableUntil: number;
}

/**
 * What verifying a token (a bearer JWT, a console session cookie) proved, keyed by the token itself, so a client that
 * sends the same token with every request has its signature checked once per TTL instead of every time. Only verified
 * tokens are ever put in (a refused one is verified again each time it comes), an entry is never used once its
 * token's `exp` has passed (the verifier's own test: `exp` is valid while now < exp), and the value is frozen so every
 * hit gives exactly what verification gave. A Map keeps insertion order, which makes it an LRU: a hit moves its entry
 * to the end, and the first entry is the one to evict. It holds tokens in memory only: it never logs, counts or
 * exports a token.
 */
export class VerifiedTokenCache<T extends object> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly bounds: VerifiedTokenCacheBounds,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value a still-valid token verified to, or undefined (never seen, evicted, past its TTL or its expiry). */
  get(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (this.now() >= entry.usableUntil) return undefined;
    this.entries.set(token, entry);
    return entry.value;
  }

  /**
   * Remembers what `token` verified to. `expiresAtSeconds` is its `exp` claim (seconds since the epoch); a token
   * without one is kept for the TTL only.
   */
  set(token: string, value: T, expiresAtSeconds: number | undefined): void {
    if (this.bounds.maxEntries <= 0) return;
    const now = this.now();
    const usableUntil = Math.min(now + this.bounds.ttlMs, expiresAtSeconds === undefined ? Infinity : expiresAtSeconds * 1000);
    if (usableUntil <= now) return;
    this.entries.delete(token);
    while (this.entries.size >= this.bounds.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(token, { value: Object.freeze(value), usableUntil });
  }
}
