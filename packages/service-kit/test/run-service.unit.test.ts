import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

interface LogLine {
  level: number;
  msg: string;
  address?: string;
  err?: { message?: string };
}

/**
 * Runs test/fixtures/crashing-service.ts as its own process (runService, the body of every main.ts), starts a slow
 * request, makes the process fail outside any request, and returns what the process logged and how it ended.
 */
async function crash(kind: 'exception' | 'rejection') {
  const child = spawn(process.execPath, ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', join(__dirname, 'fixtures', 'crashing-service.ts')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', CRASH: kind },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logs: LogLine[] = [];
  let ready: (address: string) => void = () => undefined;
  const address = new Promise<string>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const entry = JSON.parse(line) as LogLine;
    logs.push(entry);
    if (entry.address && entry.msg.endsWith('ready')) ready(entry.address);
  });
  const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    const base = await address;
    const slow = fetch(`${base}/slow`).then(async (response) => ({ status: response.status, body: await response.json() }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the slow request is in flight
    expect((await fetch(`${base}/crash`, { method: 'POST' })).status).toBe(200);
    const [code] = await exited;
    return { code, slow: await slow, logs };
  } finally {
    clearTimeout(deadline);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('runService on an uncaught error', () => {
  it.each([
    ['exception', 'uncaught exception: stopping', 'fixture exception'],
    ['rejection', 'unhandled rejection: stopping', 'fixture rejection'],
  ] as const)('logs an uncaught %s, drains through the graceful stop and exits 1', async (kind, message, error) => {
    const { code, slow, logs } = await crash(kind);
    expect(code).toBe(1);
    const fatal = logs.find((line) => line.level === 60);
    expect(fatal).toMatchObject({ msg: message, err: { message: error } });
    // The request in flight when it failed still got its answer: HTTP closed gracefully, then the rest stopped.
    expect(slow).toEqual({ status: 200, body: { finished: true } });
    const stopping = logs.map((line) => line.msg);
    expect(stopping).toEqual(expect.arrayContaining(['shutting down: draining requests and messages', 'fixture onStop ran', 'stopped']));
  });
});
