import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyPluginOptions } from 'fastify';
import type { Static, TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { ServiceEntry } from '@onboarding/contracts';
import { ConfigError, baseConfigProblems, readConfig, schemaVariable, type ConfigContext } from './config';
import { openDatabase } from './database';
import type { ReadinessCheck } from './health';
import { createHttpServer } from './http';
import type { BackgroundWorker, HttpSetup, ObservedBreaker, ServiceComponent } from './lifecycle';
import { createLogger } from './logger';
import { ServiceMetrics } from './metrics';
import { ServiceHost, runUntilSignalled } from './service-host';

/** What the chassis itself reads from every service's config. */
export interface ListenConfig {
  HOST: string;
  PORT: number;
  LOG_LEVEL: string;
}

/** What it reads in addition from a service with a database. */
export interface DatabaseConfig extends ListenConfig {
  DATABASE_URL: string;
}

/**
 * Tables a runtime component brings to every service that uses it (messaging: the outbox and the inbox): its
 * entities join the service's, its migrations run before the service's own.
 */
export interface DatabaseModule {
  readonly name: string;
  readonly entities: readonly EntitySchema[];
  readonly migrations: readonly MigrationObject[];
}

export interface DatabaseDeclaration<C> {
  /** The schema the service owns; by default its `<NAME>_DB_SCHEMA` setting (see serviceEnv). */
  schema?(config: C): string;
  entities: EntitySchema[];
  /** The service's committed migrations, in order. */
  migrations: MigrationObject[];
  modules?: DatabaseModule[];
}

/** A fastify plugin and the options it needs, registered (in the order listed) before the server listens. */
export function route<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O> | FastifyPluginCallback<O>, options: O): HttpSetup {
  return async (http) => {
    await http.register(plugin, options);
  };
}

export interface ServiceContext<C> {
  readonly entry: ServiceEntry;
  readonly config: C;
  readonly logger: Logger;
  /** The service's registry, served at /metrics; components and the service add their own metrics to it. */
  readonly metrics: ServiceMetrics;
}

export interface DatabaseServiceContext<C> extends ServiceContext<C> {
  /** The service's ORM; fork its EntityManager per request or message, never use it globally. */
  readonly orm: MikroORM<PostgreSqlDriver>;
  readonly schema: string;
}

/** What a service is made of once its context exists: the parts that differ from one service to the next. */
export interface Composition<E> {
  routes?: HttpSetup[];
  /** Runtime parts with their own connections (the messaging runtime). */
  components?: ServiceComponent[];
  workers?: BackgroundWorker[];
  breakers?: ObservedBreaker[];
  /** Readiness checks beyond the database and the components' own: what the service needs to serve HTTP at all. */
  checks?: Record<string, ReadinessCheck>;
  /** Dependencies shown in readiness's details without deciding it (the gateway's upstreams). */
  observed?: Record<string, ReadinessCheck>;
  /** Closes what the service opened itself (an SMTP pool), after everything else stopped. */
  onStop?: () => Promise<void>;
  /** Parts a component test may look into (identity's directory); nothing else reads them. */
  expose?: E;
}

interface CommonDeclaration<C> {
  /** The service's entry in the service list (`service('driver')`): name, default port, queue, schema. */
  entry: ServiceEntry;
  /**
   * Cross-field rules the schema cannot state; each returned problem fails start-up with ConfigError, together
   * with any development default left in production. The context says whether this is production and which
   * settings the environment gave, for rules that depend on it (the gateway's token settings).
   */
  checkConfig?: (config: C, context: ConfigContext) => string[];
  /** HTTP server settings beyond the shared conventions. */
  http?: (config: C) => { bodyLimit?: number };
}

export interface DatabaseServiceDeclaration<C, E> extends CommonDeclaration<C> {
  database: DatabaseDeclaration<C>;
  compose(context: DatabaseServiceContext<C>): Composition<E> | Promise<Composition<E>>;
}

export interface StatelessServiceDeclaration<C, E> extends CommonDeclaration<C> {
  database?: undefined;
  compose(context: ServiceContext<C>): Composition<E> | Promise<Composition<E>>;
}

export interface RunningService<E> {
  readonly name: string;
  /** The address it listens on, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  readonly http: FastifyInstance;
  readonly logger: Logger;
  readonly parts: E;
  stop(): Promise<void>;
}

/** A service as declared: its main.ts runs it, its component tests start it with their own config. */
export interface DefinedService<C, E> {
  readonly name: string;
  readonly entry: ServiceEntry;
  loadConfig(env?: NodeJS.ProcessEnv): C;
  start(config: C, options?: { logger?: Logger }): Promise<RunningService<E>>;
}

/**
 * The chassis: from what a service is (its entry in the service list, its config schema, its tables and the
 * parts it composes) to a wired process with the same database set-up, metrics, readiness, start order and
 * graceful stop as every other service.
 */
export function defineService<S extends TObject, E = Record<string, never>>(
  declaration: DatabaseServiceDeclaration<Static<S>, E> & { env: S },
): DefinedService<Static<S>, E>;
export function defineService<S extends TObject, E = Record<string, never>>(
  declaration: StatelessServiceDeclaration<Static<S>, E> & { env: S },
): DefinedService<Static<S>, E>;
export function defineService<E>(
  declaration: (DatabaseServiceDeclaration<DatabaseConfig, E> | StatelessServiceDeclaration<ListenConfig, E>) & { env: TObject },
): DefinedService<ListenConfig, E> {
  const name = declaration.entry.name;
  // The public overloads tie each declaration to its own config type; inside, the config is seen as what the
  // chassis reads of it. That every schema has HOST, PORT and LOG_LEVEL (and DATABASE_URL with a database) is
  // checked when the config is loaded: `serviceEnv()` and `listenEnv()` provide them.
  const common = declaration as CommonDeclaration<ListenConfig> & { env: TObject };
  return {
    name,
    entry: declaration.entry,
    loadConfig(env = process.env) {
      const read = readConfig(common.env, env);
      const config = read.config as unknown as ListenConfig;
      for (const key of ['HOST', 'PORT', 'LOG_LEVEL'] as const) {
        if (config[key] === undefined) throw new ConfigError([`${key}: the service's schema must declare it (serviceEnv or listenEnv)`]);
      }
      // Every problem at once: the production defaults left unset and the service's own rules.
      const problems = [...read.problems, ...baseConfigProblems(config), ...(common.checkConfig?.(config, read.context) ?? [])];
      if (problems.length) throw new ConfigError(problems);
      return config;
    },
    async start(config, options = {}) {
      const logger = options.logger ?? createLogger(name, config.LOG_LEVEL);
      const metrics = new ServiceMetrics(name);
      const base = { entry: declaration.entry, config, logger, metrics };
      let orm: MikroORM<PostgreSqlDriver> | undefined;
      let host: ServiceHost | undefined;
      let composition: Composition<E> | undefined;
      try {
        if (declaration.database) {
          // The overloads only admit a database with a config that has DATABASE_URL.
          const withDatabase = declaration as DatabaseServiceDeclaration<DatabaseConfig, E>;
          const databaseConfig = config as DatabaseConfig;
          if (!databaseConfig.DATABASE_URL) throw new ConfigError(['DATABASE_URL: a service with a database must declare it (serviceEnv)']);
          const database = withDatabase.database;
          const schema = database.schema?.(databaseConfig) ?? (databaseConfig as unknown as Record<string, string>)[schemaVariable(name)];
          if (!schema) throw new ConfigError([`${schemaVariable(name)}: a service with a database must declare it (serviceEnv)`]);
          const modules = database.modules ?? [];
          orm = await openDatabase({
            databaseUrl: databaseConfig.DATABASE_URL,
            schema,
            entities: [...database.entities, ...modules.flatMap((module) => module.entities)],
            // A module's tables come first: the service's own migrations may rely on them, never the reverse.
            migrations: [...modules.flatMap((module) => module.migrations), ...database.migrations],
            logger,
          });
          composition = await withDatabase.compose({ ...base, config: databaseConfig, orm, schema });
        } else {
          composition = await (declaration as StatelessServiceDeclaration<ListenConfig, E>).compose(base);
        }
        const parts = composition;
        const http = createHttpServer({ logger, ...common.http?.(config) });
        // Before the routes: a hook added to the root after a plugin was registered would not reach that plugin's routes.
        metrics.observeRequests(http);
        for (const setup of parts.routes ?? []) await setup(http);
        for (const component of parts.components ?? []) for (const setup of component.routes ?? []) await setup(http);
        host = new ServiceHost({
          name,
          logger,
          http,
          orm,
          components: parts.components,
          workers: parts.workers,
          breakers: parts.breakers,
          metrics,
          checks: parts.checks,
          observed: parts.observed,
          onStop: parts.onStop,
        });
        const running = host;
        const url = await running.start({ host: config.HOST, port: config.PORT });
        return { name, url, http, logger, parts: parts.expose ?? ({} as E), stop: () => running.stop() };
      } catch (err) {
        // A half-started service must not keep connections (or the port) open behind the failure: the host
        // stops everything it was given; before it exists, the composed parts (a broker connection is opened
        // when the messaging component is made) and the database are closed here.
        if (host) await host.stop().catch(() => undefined);
        else {
          for (const component of composition?.components ?? []) await component.stop().catch(() => undefined);
          await composition?.onStop?.().catch(() => undefined);
          await orm?.close().catch(() => undefined);
        }
        throw err;
      }
    },
  };
}

export interface RunOptions {
  /** Flushed after the service stopped, so the spans of the shutdown itself are exported too. */
  telemetry?: { shutdown(): Promise<void> };
}

/** The whole of a service's main.ts: read the environment, start, stop gracefully on SIGTERM/SIGINT. */
export function runService<C, E>(service: DefinedService<C, E>, options: RunOptions = {}): void {
  let config: C;
  try {
    config = service.loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // One log line like every other (at the default level: LOG_LEVEL itself may be what is wrong) naming every
    // setting to fix, rather than a stack trace. Exit now: telemetry may keep the event loop alive.
    createLogger(service.name, 'info').fatal({ problems: err.problems }, `not starting: ${err.message}`);
    process.exit(1);
  }
  const logger = createLogger(service.name, (config as ListenConfig).LOG_LEVEL);
  void runUntilSignalled(logger, async () => {
    const running = await service.start(config, { logger });
    return {
      stop: async () => {
        await running.stop();
        await options.telemetry?.shutdown();
      },
    };
  });
}
