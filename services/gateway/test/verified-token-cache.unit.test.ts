import { VerifiedTokenCache } from '../src/auth/verified-token-cache';

describe('VerifiedTokenCache', () => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const nowSeconds = () => Math.floor(now / 1000);

  it("uses an entry until the token's exp, never at or past it (as the verifier: valid while now < exp)", () => {
    const cache = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 10, ttlMs: 60_000 }, clock);
    const exp = nowSeconds() + 5;
    cache.set('token', { subject: 'a' }, exp);
    now = exp * 1000 - 1;
    expect(cache.get('token')).toEqual({ subject: 'a' });
    now = exp * 1000;
    expect(cache.get('token')).toBeUndefined();
    // Gone for good, not only hidden.
    expect(cache.size).toBe(0);
  });

  it('uses an entry for the TTL at most, however far off the exp, and a token without exp for the TTL', () => {
    const cache = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 10, ttlMs: 60_000 }, clock);
    const start = now;
    cache.set('long-lived', { subject: 'a' }, nowSeconds() + 3600);
    cache.set('no-exp', { subject: 'b' }, undefined);
    now = start + 59_999;
    expect(cache.get('long-lived')).toBeDefined();
    expect(cache.get('no-exp')).toBeDefined();
    now = start + 60_000;
    expect(cache.get('long-lived')).toBeUndefined();
    expect(cache.get('no-exp')).toBeUndefined();
  });

  it('does not keep a token already expired when it is set', () => {
    const cache = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 10, ttlMs: 60_000 }, clock);
    cache.set('expired', { subject: 'a' }, nowSeconds() - 1);
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, evicting the least recently used', () => {
    const cache = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 3, ttlMs: 60_000 }, clock);
    const exp = nowSeconds() + 600;
    for (const token of ['a', 'b', 'c']) cache.set(token, { subject: token }, exp);
    expect(cache.get('a')).toBeDefined(); // a is now the most recently used
    cache.set('d', { subject: 'd' }, exp);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    for (const token of ['a', 'c', 'd']) expect(cache.get(token)).toEqual({ subject: token });
    for (let index = 0; index < 100; index += 1) cache.set(`t${index}`, { subject: 'x' }, exp);
    expect(cache.size).toBe(3);
  });

  it('keeps nothing with maxEntries 0, and hands out a frozen value', () => {
    const off = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 0, ttlMs: 60_000 }, clock);
    off.set('a', { subject: 'a' }, nowSeconds() + 60);
    expect(off.get('a')).toBeUndefined();
    const cache = new VerifiedTokenCache<{ subject: string }>({ maxEntries: 1, ttlMs: 60_000 }, clock);
    cache.set('a', { subject: 'a' }, nowSeconds() + 60);
    expect(Object.isFrozen(cache.get('a'))).toBe(true);
  });
});
