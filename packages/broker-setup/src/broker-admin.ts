import { spawn } from 'node:child_process';

/**
 * What the set-up, the launcher and the tests do to a RabbitMQ broker as its administrator. Two ways in: the
 * management HTTP API (a broker with the management plugin: containers, a cluster) or `rabbitmqctl` on the
 * broker's own machine (the local broker here has no management plugin).
 */
export interface BrokerAdmin {
  /** Creates or updates everything in the definitions (users, vhosts, permissions, exchanges, queues, bindings). */
  importDefinitions(definitions: object): Promise<void>;
  deleteVhost(name: string): Promise<void>;
  /** Deletes these users (those that exist) in one call. */
  deleteUsers(names: readonly string[]): Promise<void>;
  listVhosts(): Promise<string[]>;
  listUsers(): Promise<string[]>;
}

export function brokerAdmin(managementUrl?: string): BrokerAdmin {
  return managementUrl ? managementApi(managementUrl) : rabbitmqctl();
}

function ctl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('rabbitmqctl', ['-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`rabbitmqctl ${args[0]} failed (${code}): ${stderr.trim().split('\n')[0] ?? ''}`)),
    );
    // Definitions carry passwords: through standard input, never a file or the command line (ps shows that).
    child.stdin.end(input ?? '');
  });
}

function firstColumn(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.split('\t')[0]?.trim() ?? '')
    .filter((name) => name.length > 0);
}

function rabbitmqctl(): BrokerAdmin {
  return {
    importDefinitions: async (definitions) => {
      await ctl(['import_definitions'], JSON.stringify(definitions));
    },
    deleteVhost: async (name) => {
      await ctl(['delete_vhost', name]).catch(() => undefined);
    },
    deleteUsers: async (names) => {
      if (names.length === 0) return;
      // rabbitmqctl deletes one user per call, and each call starts an Erlang VM (about a second): one `eval`
      // of the same internal function delete_user calls does them all. Names are quoted as Erlang binaries.
      const binaries = names.map((name) => `<<"${name.replace(/[\\"]/g, '')}">>`).join(',');
      await ctl(['eval', `[catch rabbit_auth_backend_internal:delete_user(U, <<"broker-setup">>) || U <- [${binaries}]], ok.`]).catch(
        () => undefined,
      );
    },
    listVhosts: async () => firstColumn(await ctl(['list_vhosts', 'name', '--no-table-headers'])),
    listUsers: async () => firstColumn(await ctl(['list_users', '--no-table-headers'])),
  };
}

function managementApi(base: string): BrokerAdmin {
  const parsed = new URL(base);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  const origin = `${parsed.protocol}//${parsed.host}`;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const response = await fetch(`${origin}/api${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    // 404 on a delete is what was wanted; any other failure names the call, never the body (it has passwords).
    if (!response.ok && !(method === 'DELETE' && response.status === 404)) throw new Error(`${method} ${path}: ${response.status}`);
    return response;
  };
  const names = async (path: string) => ((await (await call('GET', path)).json()) as { name: string }[]).map((entry) => entry.name);
  return {
    importDefinitions: async (definitions) => {
      await call('POST', '/definitions', definitions);
    },
    deleteVhost: async (name) => {
      await call('DELETE', `/vhosts/${encodeURIComponent(name)}`);
    },
    deleteUsers: async (names) => {
      if (names.length > 0) await call('POST', '/users/bulk-delete', { users: names });
    },
    listVhosts: () => names('/vhosts'),
    listUsers: () => names('/users'),
  };
}
