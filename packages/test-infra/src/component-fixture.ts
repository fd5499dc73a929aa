import { CONSUMING_SERVICES, eventFlow } from '@onboarding/contracts';
import { EventProbe } from './event-probe';
import { isolatedEnvironment } from './infrastructure';

/** What a component test needs of a service: the same two calls its main.ts makes (see service-kit's runService). */
export interface StartableService<C, R extends RunningInstance> {
  readonly name: string;
  loadConfig(env: NodeJS.ProcessEnv): C;
  start(config: C): Promise<R>;
}

export interface RunningInstance {
  readonly url: string;
  stop(): Promise<void>;
}

export interface ComponentOptions {
  /**
   * Extra environment for the service (on top of the isolated database and vhost); async when it has to start a
   * fake first, or to put something between the service and its isolated servers (a TCP proxy to cut).
   */
  env?: Record<string, string> | ((isolated?: Awaited<ReturnType<typeof isolatedEnvironment>>) => Promise<Record<string, string>>);
  /** A service with a database and a broker gets its own of each; a stateless one (the gateway) gets none. */
  isolated?: boolean;
  /** The exchange the event probe records and publishes on; no probe without it. */
  probeExchange?: string;
}

/**
 * One service started for a component test through its real entry point (config read from an environment,
 * the chassis' start) on a free port, in a database and vhost of its own, with an event probe on the broker.
 * `stop()` stops every instance it started, the probe, and drops the database and vhost.
 */
export class ComponentUnderTest<C, R extends RunningInstance> {
  private environment?: Awaited<ReturnType<typeof isolatedEnvironment>>;
  private probeOrUndefined?: EventProbe;
  private readonly instances: R[] = [];
  private baseEnv: Record<string, string> = {};

  constructor(
    private readonly service: StartableService<C, R>,
    private readonly options: ComponentOptions = {},
  ) {}

  async start(): Promise<void> {
    try {
      const isolated = this.options.isolated ?? true;
      if (isolated) this.environment = await isolatedEnvironment(this.service.name);
      const extra = typeof this.options.env === 'function' ? await this.options.env(this.environment) : (this.options.env ?? {});
      this.baseEnv = {
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        ...(this.environment ? { DATABASE_URL: this.environment.databaseUrl, AMQP_URL: this.brokerUrl(this.environment) } : {}),
        ...extra,
      };
      await this.startInstance();
      if (this.options.probeExchange && this.environment) {
        const { broker } = this.environment;
        // The probe speaks for the service that owns each event, as that service's broker user would.
        const owner = (routingKey: string) => {
          const producer = eventFlow[routingKey]?.producer;
          return producer === undefined ? undefined : `${broker.userPrefix}${producer}`;
        };
        this.probeOrUndefined = await EventProbe.attach(broker.probeUrl, this.options.probeExchange, owner);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The service's own least-privilege broker user where it has one, as deployed. */
  private brokerUrl(environment: Awaited<ReturnType<typeof isolatedEnvironment>>): string {
    const usesBroker = CONSUMING_SERVICES.some((entry) => entry.name === this.service.name);
    return usesBroker ? environment.broker.urlFor(this.service.name) : environment.amqpUrl;
  }

  /** Starts one more instance of the service in the same environment (competing consumers); stopped with the rest. */
  async startInstance(env: Record<string, string> = {}): Promise<R> {
    // Port 0: the operating system picks a free port as the server binds, so parallel test files never collide.
    const config = this.service.loadConfig({ ...this.baseEnv, PORT: '0', ...env });
    const instance = await this.service.start(config);
    this.instances.push(instance);
    return instance;
  }

  /** The first instance started. */
  get app(): R {
    const first = this.instances[0];
    if (!first) throw new Error(`${this.service.name} is not running`);
    return first;
  }

  get baseUrl(): string {
    return this.app.url;
  }

  get probe(): EventProbe {
    if (!this.probeOrUndefined) throw new Error('no event probe: pass probeExchange');
    return this.probeOrUndefined;
  }

  get databaseUrl(): string {
    if (!this.environment) throw new Error('no isolated environment');
    return this.environment.databaseUrl;
  }

  get amqpUrl(): string {
    if (!this.environment) throw new Error('no isolated environment');
    return this.environment.amqpUrl;
  }

  async stop(): Promise<void> {
    await this.probeOrUndefined?.close();
    for (const instance of this.instances.splice(0).reverse()) await instance.stop();
    await this.environment?.drop();
  }
}

/**
 * The shape of every component test file: the service starts before the file's tests (or the enclosing
 * describe's) and everything is stopped and dropped after them. Read `baseUrl`, `probe`, `app` inside tests.
 */
export function componentUnderTest<C, R extends RunningInstance>(
  service: StartableService<C, R>,
  options: ComponentOptions = {},
): ComponentUnderTest<C, R> {
  const component = new ComponentUnderTest(service, options);
  beforeAll(() => component.start(), 60_000);
  afterAll(() => component.stop(), 60_000);
  return component;
}
