import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Counts a client's SQL round trips by reading the PostgreSQL frontend protocol on its way to the server:
 * one per simple `Query` ('Q') and one per `Sync` ('S', which ends an extended-protocol exchange — what
 * node-postgres sends for a parameterised query). The server has no pg_stat_statements loaded, and its
 * configuration is shared, so the bench and the messaging tests count on the wire instead. Messages are framed as a type byte and
 * an int32 length; the first (startup, SSL or GSS request) has no type byte.
 */
export class FrontendMessageCounter {
  roundTrips = 0;
  private started = false;
  private skip = 0;
  private header: Buffer = Buffer.alloc(0);

  feed(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const skipped = Math.min(this.skip, chunk.length - offset);
        this.skip -= skipped;
        offset += skipped;
        continue;
      }
      const headerSize = this.started ? 5 : 8;
      const taken = chunk.subarray(offset, offset + headerSize - this.header.length);
      offset += taken.length;
      this.header = this.header.length ? Buffer.concat([this.header, taken]) : taken;
      if (this.header.length < headerSize) return;
      if (this.started) {
        const type = this.header[0];
        this.skip = this.header.readInt32BE(1) - 4;
        if (type === 0x51 || type === 0x53) this.roundTrips += 1;
      } else {
        this.skip = this.header.readInt32BE(0) - 8;
        const code = this.header.readInt32BE(4);
        // SSLRequest and GSSENCRequest are followed by the real startup message.
        this.started = code !== 80877103 && code !== 80877104;
      }
      this.header = Buffer.alloc(0);
    }
  }
}

/** A loopback proxy in front of PostgreSQL that adds up the round trips of every connection through it. */
export class CountingProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly counters = new Set<FrontendMessageCounter>();
  private finished = 0;
  /** Local ports of its connections to the server: pg_stat_activity's `client_port` of their backends. */
  readonly upstreamPorts = new Set<number>();
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const counter = new FrontendMessageCounter();
      this.counters.add(counter);
      const upstream = connect({ port: Number(this.target.port || 5432), host: this.target.hostname, noDelay: true });
      client.setNoDelay(true);
      let upstreamPort = 0;
      upstream.on('connect', () => {
        upstreamPort = upstream.localPort ?? 0;
        this.upstreamPorts.add(upstreamPort);
      });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('data', (chunk: Buffer) => counter.feed(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => {
        upstream.destroy();
        this.finished += counter.roundTrips;
        this.counters.delete(counter);
        this.upstreamPorts.delete(upstreamPort);
      });
      upstream.on('close', () => client.destroy());
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Round trips so far, over open and closed connections. */
  roundTrips(): number {
    let total = this.finished;
    for (const counter of this.counters) total += counter.roundTrips;
    return total;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
