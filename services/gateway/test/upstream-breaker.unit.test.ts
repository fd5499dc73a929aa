import { createLogger } from '@onboarding/service-kit';
import { UpstreamBreaker } from '../src/routing/upstream-breaker';

const settleTicks = () => new Promise((resolve) => setImmediate(resolve));
const silent = createLogger('gateway', 'silent');

describe('UpstreamBreaker', () => {
  it('admits one trial call while half-open and refuses the others, whose outcome the breaker would never read', async () => {
    const breaker = new UpstreamBreaker('driver', silent, 1_000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let call = 0; call < 6; call += 1) {
        if (breaker.admit()) breaker.settle(true);
        await settleTicks();
      }
      expect(breaker.state).toBe('open');
      expect(breaker.admit()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(breaker.state).toBe('half-open');

      expect(breaker.admit()).toBe(true);
      // Before: admitted, its failure then an unhandled rejection that ended the gateway process.
      expect(breaker.admit()).toBe(false);
      breaker.settle(false);
      await settleTicks();
      expect(breaker.state).toBe('closed');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      breaker.shutdown();
    }
  });

  it('opens like opossum did: only from 5 calls in the window and above 50 % failures, and a failed trial reopens it', () => {
    let now = 1_000_000;
    const breaker = new UpstreamBreaker('driver', silent, 60_000, () => now);
    try {
      // 4 failures: under the volume threshold, still closed.
      for (let call = 0; call < 4; call += 1) {
        expect(breaker.admit()).toBe(true);
        breaker.settle(true);
      }
      expect(breaker.state).toBe('closed');
      // 4 successes: 4 of 8 failed is 50 %, not above it.
      for (let call = 0; call < 4; call += 1) {
        expect(breaker.admit()).toBe(true);
        breaker.settle(false);
      }
      expect(breaker.state).toBe('closed');
      // The window is ten seconds: eleven seconds on, the old calls no longer count, so 4 new failures are again
      // under the volume threshold, and the fifth opens it.
      now += 11_000;
      for (let call = 0; call < 4; call += 1) {
        expect(breaker.admit()).toBe(true);
        breaker.settle(true);
      }
      expect(breaker.state).toBe('closed');
      expect(breaker.admit()).toBe(true);
      breaker.settle(true);
      expect(breaker.state).toBe('open');
      expect(breaker.admit()).toBe(false);

      // Ready again (UpstreamWatch): closed at once, the window kept, so the next failure reopens it.
      breaker.upstreamReady();
      expect(breaker.state).toBe('closed');
      expect(breaker.admit()).toBe(true);
      breaker.settle(true);
      expect(breaker.state).toBe('open');
    } finally {
      breaker.shutdown();
    }
  });

  it('closes on a success settled while half-open and reopens on a failure, whichever admitted call it belongs to', async () => {
    const breaker = new UpstreamBreaker('driver', silent, 100);
    try {
      // Two calls under way while it opens: their outcomes still count when they arrive.
      expect(breaker.admit()).toBe(true);
      expect(breaker.admit()).toBe(true);
      // Seven admitted, three failed: above 50 % of at least 5, so it opens on the third.
      for (let call = 0; call < 3; call += 1) {
        expect(breaker.admit()).toBe(true);
        breaker.settle(true);
      }
      expect(breaker.state).toBe('open');
      breaker.settle(false); // a success while open changes nothing
      expect(breaker.state).toBe('open');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(breaker.state).toBe('half-open');
      expect(breaker.admit()).toBe(true); // the trial
      breaker.settle(true); // the older call fails: opens again, as opossum did
      expect(breaker.state).toBe('open');
      expect(breaker.admit()).toBe(false);
    } finally {
      breaker.shutdown();
    }
  });
});
