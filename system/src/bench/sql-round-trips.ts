import { CountingProxy } from '@onboarding/test-infra';

/** One counting proxy per named client (a service, a bare process), so the bench can tell them apart. */
export class SqlRoundTrips {
  private readonly proxies = new Map<string, CountingProxy>();

  /** `url` rewritten to go through the counting proxy of `name`. */
  async route(name: string, url: string): Promise<string> {
    const parsed = new URL(url);
    const proxy = new CountingProxy(new URL(url));
    await proxy.start();
    this.proxies.set(name, proxy);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(proxy.port);
    return parsed.toString();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.proxies].map(([name, proxy]) => [name, proxy.roundTrips()]));
  }

  /** Local ports of each client's open server connections. */
  upstreamPorts(): Record<string, number[]> {
    return Object.fromEntries([...this.proxies].map(([name, proxy]) => [name, [...proxy.upstreamPorts]]));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.stop()));
  }
}
