import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, so a test can cut a service off from its broker or
 * database (and restore it) without stopping the server other tests share.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private open = true;
  /** Silent: connections are held but nothing passes either way (see `blackhole()`). */
  private silent = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.silent) {
        this.sockets.add(client);
        client.on('close', () => this.sockets.delete(client));
        client.on('error', () => client.destroy());
        client.resume(); // read and drop whatever the client sends; answer nothing
        return;
      }
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * A network partition rather than a refusal: open connections stay open but nothing passes either way, and new
   * ones are accepted and then never answered, as when packets to the server are dropped (no reset reaches anyone).
   * `restore()` ends it (the held connections are dropped then).
   */
  blackhole(): void {
    this.silent = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.removeAllListeners('data');
      socket.resume();
    }
  }

  restore(): void {
    if (this.silent) for (const socket of this.sockets) socket.destroy();
    this.silent = false;
    this.open = true;
  }

  /** `url` with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async stop(): Promise<void> {
    this.silent = false;
    this.cut();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Starts a proxy to the host and port of `url`. */
export async function proxyFor(url: string): Promise<TcpProxy> {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol.startsWith('amqp') ? 5672 : 5432;
  const proxy = new TcpProxy(parsed.hostname, Number(parsed.port || defaultPort));
  await proxy.start();
  return proxy;
}
