import { resolve } from 'node:path';
import { signDevToken, loadGatewayConfig } from '@onboarding/gateway';
import { BACKEND_SERVICES, CONSUMING_SERVICES, SERVICES, type ServiceName } from '@onboarding/contracts';
import { MailCatcher, freePort, isolatedEnvironment, proxyFor, type CaughtMail, type TcpProxy } from '@onboarding/test-infra';
import { SystemProcesses } from '../launcher/system-processes';

export interface DriverResource {
  id: string;
  email: string;
  status: string;
  b2cObjectId?: string;
  failureReason?: string;
}

export interface PlatformOptions {
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Route the services' broker connections through a TCP proxy the caller can cut (a broker outage). */
  brokerProxy?: boolean;
  /**
   * Route the services' database connections through a TCP proxy the caller can cut (a database outage). The
   * platform's own `databaseUrl`, which tests read the database through, goes around it.
   */
  databaseProxy?: boolean;
  /** Rewrites each backend service's database URL (the bench routes each through a round-trip counter). */
  databaseUrlFor?: (service: ServiceName, url: string) => Promise<string>;
  restartOnCrash?: boolean;
  cpuProfileDirectory?: string;
  onMail?: (mail: CaughtMail) => void;
  /** The mail catcher answers RCPT TO for these addresses with this reply instead of accepting them (see MailCatcher). */
  refuseRecipient?: (address: string) => { code: number; message: string } | undefined;
  /** Told of each process event: a service ready, or one that exited without being killed (a crash). */
  onEvent?: (message: string) => void;
}

/**
 * Service environment for the benchmarks: quiet logs, and no gateway rate limit — it is per client, and one
 * benchmark client sends everything, so it would measure itself.
 */
export const BENCHMARK_SERVICE_ENV: Readonly<Record<string, string>> = { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000000' };

/** Free loopback ports for every service, so a test's platform runs beside any other (and beside `npm start`). */
export async function freePorts(): Promise<Record<ServiceName, number>> {
  const ports: Partial<Record<ServiceName, number>> = {};
  for (const { name } of SERVICES) ports[name] = await freePort();
  return ports as Record<ServiceName, number>;
}

/**
 * The whole platform as separate OS processes, on a fresh database and vhost of its own, with a real SMTP
 * catcher: what the end-to-end tests, the chaos run and the benchmark drive through the gateway.
 */
export class LocalPlatform {
  system!: SystemProcesses;
  mail!: MailCatcher;
  brokerProxy?: TcpProxy;
  databaseProxy?: TcpProxy;
  databaseUrl!: string;
  amqpUrl!: string;
  private environment!: Awaited<ReturnType<typeof isolatedEnvironment>>;
  private adminToken!: string;

  async start(name: string, options: PlatformOptions = {}): Promise<void> {
    this.environment = await isolatedEnvironment(name);
    this.databaseUrl = this.environment.databaseUrl;
    this.amqpUrl = this.environment.amqpUrl;
    this.mail = new MailCatcher({ onMail: options.onMail, refuseRecipient: options.refuseRecipient });
    await this.mail.start();
    // Each service connects as its own least-privilege broker user, as deployed (see createTestVhost).
    const { broker } = this.environment;
    if (options.brokerProxy) this.brokerProxy = await proxyFor(this.environment.amqpUrl);
    const viaProxy = (url: string) => this.brokerProxy?.rewrite(url) ?? url;
    if (options.databaseProxy) this.databaseProxy = await proxyFor(this.environment.databaseUrl);
    const databaseUrl = this.databaseProxy?.rewrite(this.environment.databaseUrl) ?? this.environment.databaseUrl;
    const serviceDatabaseUrls: Partial<Record<ServiceName, string>> = {};
    if (options.databaseUrlFor) {
      for (const { name } of BACKEND_SERVICES) serviceDatabaseUrls[name] = await options.databaseUrlFor(name, databaseUrl);
    }
    this.system = new SystemProcesses({
      databaseUrl,
      serviceDatabaseUrls,
      amqpUrl: viaProxy(this.environment.amqpUrl),
      serviceAmqpUrls: Object.fromEntries(CONSUMING_SERVICES.map(({ name }) => [name, viaProxy(broker.urlFor(name))])),
      smtpUrl: this.mail.url,
      ports: await freePorts(),
      logDirectory: resolve(__dirname, '..', '..', '.test-logs', `${name}-${Date.now()}`),
      env: { LOG_LEVEL: 'info', MAIL_CLAIM_TTL_MS: '3000', ...options.env },
      restartOnCrash: options.restartOnCrash,
      onEvent: options.onEvent,
      cpuProfileDirectory: options.cpuProfileDirectory,
    });
    await this.system.start();
    const config = loadGatewayConfig({});
    this.adminToken = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'admin',
    });
  }

  async stop(): Promise<void> {
    await this.system?.stop();
    await this.brokerProxy?.stop();
    await this.databaseProxy?.stop();
    await this.mail?.stop();
    await this.environment?.drop();
  }

  /** The admin's Authorization header, for requests made without `api()`. */
  async authorization(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${this.adminToken}` };
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const response = await fetch(`${this.system.gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
  }

  /** Registers one driver; `tag` and `index` make the address unique. */
  async register(index: number, tag: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    return this.api('POST', '/v1/drivers', {
      firstName: 'Driver',
      lastName: `Number ${index}`,
      email: `driver.${tag}.${index}@example.com`,
      phone: '+44 20 7946 0000',
    });
  }

  /** Every driver the system knows, walking all pages. */
  async allDrivers(): Promise<DriverResource[]> {
    return this.everyPage<DriverResource>('/v1/drivers');
  }

  /** Every admin notification the system recorded, walking all pages. */
  async allNotifications(): Promise<Record<string, unknown>[]> {
    return this.everyPage<Record<string, unknown>>('/v1/notifications');
  }

  async notificationsFor(driverId: string): Promise<Record<string, unknown>[]> {
    return (await this.allNotifications()).filter((item) => item.driverId === driverId);
  }

  /** The items of every page of a cursor-paged list; an answer other than 200 throws with its status and body. */
  private async everyPage<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page += 1) {
      const response = await this.api('GET', `${path}?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
      items.push(...(response.body.items as T[]));
      cursor = response.body.nextCursor as string | null;
      if (!cursor) break;
    }
    return items;
  }
}
