import { createLogger } from '@onboarding/service-kit';
import { UpstreamBreaker } from '../src/routing/upstream-breaker';

const settleTicks = () => new Promise((resolve) => setImmediate(resolve));

describe('UpstreamBreaker', () => {
  it('admits one trial call while half-open and refuses the others, whose outcome the breaker would never read', async () => {
    const breaker = new UpstreamBreaker('driver', createLogger('gateway', 'silent'), 1_000);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let call = 0; call < 6; call += 1) {
        const settle = breaker.admit();
        if (settle) settle(true);
        await settleTicks();
      }
      expect(breaker.state).toBe('open');
      expect(breaker.admit()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(breaker.state).toBe('half-open');

      const trial = breaker.admit();
      expect(trial).not.toBe(false);
      // Before: admitted, its failure then an unhandled rejection that ended the gateway process.
      expect(breaker.admit()).toBe(false);
      if (trial) trial(false);
      await settleTicks();
      expect(breaker.state).toBe('closed');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      breaker.shutdown();
    }
  });
});
