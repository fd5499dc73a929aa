import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, forwardedCaller } from '@onboarding/service-kit';
import { STREAM_BATCH, type NotificationStream, type StreamedNotification, type Subscriber } from './live-stream';

export interface StreamLimits {
  /** Open streams per instance (503 past it). */
  maxOpen: number;
  /** Open streams per caller on one instance (429 past it). */
  maxPerSubject: number;
  /** Bytes waiting for a reader before it is dropped. */
  bufferBytes: number;
}

/** Comment lines keep the stream (and every proxy on the way) from timing out between notifications. */
const KEEP_ALIVE_MS = 5_000;
/** How long a client waits before reconnecting after the stream ends (the SSE `retry` field). */
const RECONNECT_MS = 2_000;
/** Live notifications held for a client while it catches up; past that it is dropped and resumes later. */
const MAX_HELD_DURING_CATCH_UP = 10 * STREAM_BATCH;
/** A catching-up reader that has not taken what was written within this time is dropped. */
const CATCH_UP_STALL_MS = 30_000;
/** Positions are bigint sequence values: at most 18 digits keeps them inside PostgreSQL's bigint. */
const LAST_EVENT_ID = /^[0-9]{1,18}$/;

/** The position a reconnecting client last received, from its `Last-Event-ID`; undefined for a first connection. */
function resumePosition(request: FastifyRequest): bigint | undefined {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return undefined;
  if (typeof header !== 'string' || !LAST_EVENT_ID.test(header)) {
    throw new AppError({
      status: 400,
      code: 'invalid-last-event-id',
      title: 'Invalid Last-Event-ID',
      detail: 'Last-Event-ID must be the id of an event this stream sent',
    });
  }
  return BigInt(header);
}

function eventOf({ position, view }: StreamedNotification): string {
  return `id: ${position}\nevent: notification\ndata: ${JSON.stringify(view)}\n\n`;
}

/**
 * One client's stream. It writes each notification once, in position order, after the position it last wrote
 * (the fan-out and a catch-up may both hand it the same rows). Backpressure: what the socket has not taken
 * waits in the response's buffer; past `bufferBytes` the client is not reading, and it is dropped rather than
 * buffered for without bound (it resumes from its last id when it reconnects).
 */
class SseConnection implements Subscriber {
  /** Live notifications that arrived while catching up; undefined once live. */
  private held: StreamedNotification[] | undefined;

  constructor(
    private readonly raw: ServerResponse,
    private position: bigint | undefined,
    private readonly bufferBytes: number,
  ) {
    this.held = position === undefined ? undefined : [];
  }

  get written(): bigint | undefined {
    return this.position;
  }

  get gone(): boolean {
    return this.raw.destroyed || this.raw.writableEnded;
  }

  deliver(batch: readonly StreamedNotification[]): void {
    if (this.held) {
      this.held.push(...batch);
      if (this.held.length > MAX_HELD_DURING_CATCH_UP) this.drop();
      return;
    }
    this.write(batch);
  }

  /** Writes what the client has not had yet; false when it was dropped for not reading. */
  write(batch: readonly StreamedNotification[]): boolean {
    if (this.gone) return false;
    for (const notification of batch) {
      if (this.position !== undefined && notification.position <= this.position) continue;
      this.raw.write(eventOf(notification));
      this.position = notification.position;
    }
    if (this.raw.writableLength > this.bufferBytes) {
      this.drop();
      return false;
    }
    return true;
  }

  /** Catch-up is over: the live notifications held meanwhile follow (those already written are skipped). */
  goLive(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.write(held);
  }

  /** Waits until the socket took what was written, or the client went away, within a bound. */
  async drained(): Promise<boolean> {
    if (!this.raw.writableNeedDrain) return !this.gone;
    const timeout = AbortSignal.timeout(CATCH_UP_STALL_MS);
    try {
      await Promise.race([once(this.raw, 'drain', { signal: timeout }), once(this.raw, 'close', { signal: timeout })]);
    } catch {
      this.drop();
    }
    return !this.gone && !this.raw.writableNeedDrain;
  }

  close(): void {
    if (!this.gone) this.raw.end();
  }

  /** Destroyed, not ended: an ended response would still wait behind the buffer the client is not reading. */
  drop(): void {
    this.raw.destroy();
  }
}

/**
 * `GET /v1/notifications/stream`: Server-Sent Events, `id:` being the notification's position. A client that
 * reconnects with `Last-Event-ID` first gets every notification stored after that position (read from the table
 * in batches, waiting for the socket between them), then the live ones. Open streams are capped per instance and
 * per caller. Written by hand rather than with @fastify/sse: that plugin's backpressure makes the writer wait for
 * `drain`, which for one fan-out to many readers means holding notifications per reader without bound (or one
 * slow reader holding up all), and resuming, bounds and dropping would all still be ours.
 */
export async function streamRoute(app: FastifyInstance, { stream, limits }: { stream: NotificationStream; limits: StreamLimits }): Promise<void> {
  const open = new Set<ServerResponse>();
  const perSubject = new Map<string, number>();
  // Streams never end on their own: end them when the service stops, so shutdown is not held up by them.
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });

  app.get('/v1/notifications/stream', async (request, reply) => {
    const resumeFrom = resumePosition(request);
    // Calls that did not come through the gateway (no subject) share one allowance.
    const subject = forwardedCaller(request.headers).subject ?? '';
    if (open.size >= limits.maxOpen) {
      reply.header('retry-after', String(RECONNECT_MS / 1000));
      throw new AppError({
        status: 503,
        code: 'streams-exhausted',
        title: 'Too many open streams',
        detail: `This instance serves at most ${limits.maxOpen} live streams; retry later`,
      });
    }
    if ((perSubject.get(subject) ?? 0) >= limits.maxPerSubject) {
      reply.header('retry-after', String(RECONNECT_MS / 1000));
      throw new AppError({
        status: 429,
        code: 'too-many-streams',
        title: 'Too many open streams',
        detail: `At most ${limits.maxPerSubject} live streams per caller; close one first`,
      });
    }

    reply.hijack();
    const raw = reply.raw;
    open.add(raw);
    perSubject.set(subject, (perSubject.get(subject) ?? 0) + 1);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: ${RECONNECT_MS}\n: connected\n\n`);
    const connection = new SseConnection(raw, resumeFrom, limits.bufferBytes);
    // Subscribed before the catch-up reads anything: a row committed after that read is fanned out to it.
    const unsubscribe = stream.subscribe(connection);
    const keepAlive = setInterval(() => connection.write([]) && raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    raw.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(raw);
      const left = (perSubject.get(subject) ?? 1) - 1;
      if (left > 0) perSubject.set(subject, left);
      else perSubject.delete(subject);
    });

    if (resumeFrom === undefined) return;
    try {
      for (;;) {
        const batch = await stream.after(connection.written ?? resumeFrom);
        if (!connection.write(batch) || batch.length < STREAM_BATCH || !(await connection.drained())) break;
      }
      connection.goLive();
    } catch (err) {
      // The database failed mid catch-up: end the stream; the client reconnects from the last id it got.
      request.log.warn({ err }, 'live stream catch-up failed; closing the stream');
      connection.close();
    }
  });
}
