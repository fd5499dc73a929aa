import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  BACKEND_SERVICES,
  CONSUMING_SERVICES,
  EVENT_AUDITORS,
  DOMAIN_EXCHANGE,
  SERVICES,
  UNROUTABLE_EXCHANGE,
  UNROUTABLE_QUEUE,
  eventFlow,
  service,
  serviceUrlVariable,
  type ServiceName,
} from '@onboarding/contracts';
import { DEFAULT_RETRY_DELAYS_MS, parkingQueueName, retryQueueName } from '@onboarding/messaging';
import { amqpUrlVariable, serviceAccess } from '@onboarding/broker-setup';
import { GRACEFUL_STOP_DEADLINE_MS, developmentDefaults } from '@onboarding/service-kit';
import { DriverEnv } from '@onboarding/driver';
import { DEV_JWT_SECRET, GatewayEnv, jwtSecretWeakness } from '@onboarding/gateway';
import { IdentityEnv } from '@onboarding/identity';
import { MailerEnv } from '@onboarding/mailer';
import { NotificationEnv } from '@onboarding/notification';
import { OperationsEnv } from '@onboarding/operations';

const ROOT = join(__dirname, '..', '..');

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/** The parts of a rendered pod spec these tests check; a deployment has at least one container. */
interface PodSpec {
  containers: [Container, ...Container[]];
  securityContext: { runAsNonRoot?: boolean };
  terminationGracePeriodSeconds?: number;
}

interface Probe {
  httpGet: { path: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  initialDelaySeconds?: number;
}

interface Container {
  image: string;
  startupProbe?: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}

function render(path: string): Manifest[] {
  const output = execFileSync('kubectl', ['kustomize', join(ROOT, path)], { encoding: 'utf8' });
  return parseAllDocuments(output).map((document) => document.toJSON() as Manifest);
}

// The one list of services (contracts/src/services.ts) is what every description below is checked against.
const NAMES = SERVICES.map((entry) => entry.name).sort();
const CONSUMERS = CONSUMING_SERVICES.map((entry) => entry.name).sort();

interface Container {
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/**
 * What each service refuses to start without in production (its development defaults; the images run with
 * NODE_ENV=production), so a deployment that forgot one would never come up.
 */
const PRODUCTION_SETTINGS: Record<ServiceName, string[]> = {
  gateway: Object.keys(developmentDefaults(GatewayEnv)),
  driver: Object.keys(developmentDefaults(DriverEnv)),
  identity: Object.keys(developmentDefaults(IdentityEnv)),
  mailer: Object.keys(developmentDefaults(MailerEnv)),
  notification: Object.keys(developmentDefaults(NotificationEnv)),
  operations: Object.keys(developmentDefaults(OperationsEnv)),
};

/** A setting whose value is a credential, or a URL that may carry one: never a literal in a manifest. */
const CREDENTIAL = /^(DATABASE_URL|AMQP_URL|SMTP_URL)$|SECRET|PASSWORD|TOKEN/;

/** A URL with a password in it (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@"']+:[^\s/@"']+@/i;

/** The Secret the gateway reads its token settings from (JWT_JWKS_URL or JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE). */
const GATEWAY_AUTH_SECRET = 'onboarding-gateway-auth';
const JWT_SETTINGS = ['JWT_JWKS_URL', 'JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE'];

const containerOf = (deployment: Manifest) => (deployment.spec as { template: { spec: PodSpec } }).template.spec.containers[0];

/**
 * The port a container is told to listen on: `PORT`, or the gateway's own `GATEWAY_PORT` from before every
 * service read `PORT` (whichever the manifest sets, it must be the list's port).
 */
function portSetting(container: Container): number {
  const setting = container.env.find((variable) => variable.name === 'PORT') ?? container.env.find((variable) => variable.name === 'GATEWAY_PORT');
  return Number(setting?.value);
}

/** Every queue a consumer declares: its own, its retry queues and its parking lot. */
function queuesOf(queue: string): string[] {
  return [queue, ...DEFAULT_RETRY_DELAYS_MS.map((delayMs) => retryQueueName(queue, delayMs)), parkingQueueName(queue)];
}

const matches = (pattern: string, name: string) => new RegExp(pattern).test(name);

/** The gateway's token settings for docker-compose: a file that is not committed, and its committed example. */
const GATEWAY_ENV_FILE = 'deploy/compose/gateway.env';
const GATEWAY_ENV_EXAMPLE = `${GATEWAY_ENV_FILE}.example`;

/** The passwords docker-compose.yml interpolates: an uncommitted file, and its committed example (all empty). */
const SECRETS_ENV_EXAMPLE = 'deploy/compose/secrets.env.example';

/** The variables the secrets example names, each given a value as an operator would fill them in. */
function filledSecrets(): Record<string, string> {
  const names = readFileSync(join(ROOT, SECRETS_ENV_EXAMPLE), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=')[0]!);
  return Object.fromEntries(names.map((name, index) => [name, `filled-in-${index}-0123456789abcdef`]));
}

/** `docker-compose config`, with the committed examples standing in for the uncommitted env files. */
function composeConfig(secrets: Record<string, string> = filledSecrets()): string {
  return execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], {
    encoding: 'utf8',
    env: { ...process.env, ...secrets, GATEWAY_ENV_FILE: join(ROOT, GATEWAY_ENV_EXAMPLE) },
  });
}

interface ComposeService {
  environment?: Record<string, string>;
  env_file?: string | string[];
}

/** Kubernetes' defaults for what a probe leaves out. */
const probeTiming = (probe: Probe) => ({
  period: probe.periodSeconds ?? 10,
  timeout: probe.timeoutSeconds ?? 1,
  failures: probe.failureThreshold ?? 3,
  initialDelay: probe.initialDelaySeconds ?? 0,
});

/**
 * What is wrong with a deployment's probes and termination, against the probes' meanings (service-kit's health
 * routes): started when /healthz first answers, with minutes for migrations; ready on /readyz; alive on /healthz,
 * held off by the startup probe rather than a guessed initial delay, and slower to give up than readiness. Then
 * a preStop delay that, with the service's own drain after SIGTERM, ends before the grace period's SIGKILL.
 */
function probeProblems(pod: PodSpec, container: Container): string[] {
  const problems: string[] = [];
  const { startupProbe, readinessProbe, livenessProbe } = container;
  if (startupProbe?.httpGet.path !== '/healthz') problems.push('startupProbe: not on /healthz');
  const started = probeTiming(startupProbe ?? { httpGet: { path: '' } });
  if (started.period * started.failures < 120) problems.push('startupProbe: allows less than 2 minutes for start-up (migrations)');
  if (readinessProbe.httpGet.path !== '/readyz') problems.push('readinessProbe: not on /readyz');
  if (livenessProbe.httpGet.path !== '/healthz') problems.push('livenessProbe: not on /healthz');
  const ready = probeTiming(readinessProbe);
  const alive = probeTiming(livenessProbe);
  if (alive.initialDelay !== 0) problems.push('livenessProbe: an initial delay; the startup probe holds it off');
  if (alive.period * alive.failures <= ready.period * ready.failures) problems.push('livenessProbe: gives up no later than readiness');
  // Each readiness check may take 2 s before it counts as down; the probe must wait for that answer.
  if (ready.timeout < 3) problems.push('readinessProbe: timeout under 3 s');
  const [command, seconds] = container.lifecycle?.preStop?.exec?.command ?? [];
  if (command !== 'sleep' || !(Number(seconds) >= 3)) problems.push('preStop: no sleep of at least 3 s before SIGTERM');
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (Number(seconds) + GRACEFUL_STOP_DEADLINE_MS / 1000 >= grace) problems.push(`preStop + drain: not within the ${grace} s grace period`);
  return problems;
}

describe('deployment descriptions', () => {
  it('the Kubernetes cluster overlay renders, with probes, limits and non-root pods for every service', () => {
    const manifests = render('deploy/overlays/cluster');
    const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(NAMES);
    for (const deployment of deployments) {
      expect(deployment.metadata.namespace).toBe('driver-onboarding');
      const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
      const [container] = pod.containers;
      expect(container.image).toMatch(/^registry\.example\.com\/onboarding\//);
      expect({ deployment: deployment.metadata.name, problems: probeProblems(pod, container) }).toEqual({
        deployment: deployment.metadata.name,
        problems: [],
      });
      expect(container.resources.requests).toBeDefined();
      expect(container.resources.limits).toBeDefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      const { port } = service(deployment.metadata.name as ServiceName);
      expect(container.ports).toEqual([{ name: 'http', containerPort: port }]);
      expect(portSetting(container)).toBe(port);
    }
    const hpas = manifests.filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler').map((hpa) => hpa.metadata.name);
    expect(hpas.sort()).toEqual(CONSUMERS);
    const ingresses = manifests.filter((manifest) => manifest.kind === 'Ingress');
    expect(ingresses).toHaveLength(1);
    expect(JSON.stringify(ingresses[0]!.spec)).toContain('"name":"gateway"');
    // Only the public paths reach the gateway from outside: never its /metrics, /readyz or /healthz.
    const ingressRules = (ingresses[0]!.spec as { rules: { http: { paths: { path: string; pathType: string; backend: unknown }[] } }[] }).rules;
    const routed = ingressRules.flatMap((rule) => rule.http.paths);
    expect(routed.map(({ path, pathType }) => `${pathType} ${path}`).sort()).toEqual(['Prefix /docs', 'Prefix /v1']);
    const services = manifests.filter((manifest) => manifest.kind === 'Service');
    expect(services).toHaveLength(SERVICES.length);
    for (const { name, port } of SERVICES) {
      const described = services.find((candidate) => candidate.metadata.name === name);
      expect((described?.spec as { ports: { port: number }[] } | undefined)?.ports.map((entry) => entry.port)).toEqual([port]);
    }
    const policies = manifests.filter((manifest) => manifest.kind === 'NetworkPolicy').map((policy) => policy.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(['default-deny-ingress', 'gateway-from-anywhere', 'services-from-gateway-only']));
    // The broker set-up job runs with each service's broker URL from the services' own Secret keys.
    const job = manifests.find((manifest) => manifest.kind === 'Job' && manifest.metadata.name === 'broker-setup');
    const jobEnv = (job?.spec as { template: { spec: PodSpec } } | undefined)?.template.spec.containers[0].env ?? [];
    for (const { name } of CONSUMING_SERVICES) {
      expect(jobEnv.find((variable) => variable.name === amqpUrlVariable(name))?.valueFrom?.secretKeyRef).toEqual({
        name: 'onboarding-secrets',
        key: `${name}-amqp-url`,
      });
    }
    const config = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('onboarding-config')) as
      (Manifest & { data: Record<string, string> }) | undefined;
    for (const { name, port } of BACKEND_SERVICES) expect(config?.data[serviceUrlVariable(name)]).toBe(`http://${name}:${port}`);
  });

  it('the production gateway reads its token settings from a Secret, and no manifest holds a literal credential', () => {
    const manifests = render('deploy/overlays/cluster');
    const rendered = JSON.stringify(manifests);
    expect(rendered).not.toContain(DEV_JWT_SECRET);
    // Secrets are created out of band (deploy/overlays/cluster/secrets.example.yaml), never rendered from here.
    expect(manifests.filter((manifest) => manifest.kind === 'Secret')).toEqual([]);
    const configMap = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('onboarding-config')) as
      (Manifest & { data: Record<string, string> }) | undefined;
    const configData = configMap?.data ?? {};
    for (const key of Object.keys(configData)) expect(key).not.toMatch(CREDENTIAL);
    for (const value of Object.values(configData)) expect(value).not.toMatch(URL_WITH_PASSWORD);

    const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');
    const gateway = containerOf(deployments.find((deployment) => deployment.metadata.name === 'gateway')!);
    expect(gateway.envFrom).toContainEqual({ secretRef: { name: GATEWAY_AUTH_SECRET } });
    for (const key of JWT_SETTINGS) {
      expect(configData[key]).toBeUndefined();
      expect(gateway.env.find((variable) => variable.name === key)).toBeUndefined();
    }

    for (const deployment of deployments) {
      const container = containerOf(deployment);
      for (const variable of container.env) {
        if (CREDENTIAL.test(variable.name))
          expect({ [variable.name]: variable.valueFrom?.secretKeyRef?.name }).toEqual({ [variable.name]: 'onboarding-secrets' });
        expect(variable.value ?? '').not.toMatch(URL_WITH_PASSWORD);
      }
      // Every setting the service refuses to default in production is given: by its own env, the ConfigMap or
      // (the gateway's token settings) the Secret it reads whole.
      const readsConfigMap = container.envFrom?.some((source) => source.configMapRef?.name === configMap?.metadata.name) ?? false;
      const readsGatewayAuth = container.envFrom?.some((source) => source.secretRef?.name === GATEWAY_AUTH_SECRET) ?? false;
      const given = (key: string) =>
        container.env.some((variable) => variable.name === key) ||
        (readsConfigMap && key in configData) ||
        (readsGatewayAuth && JWT_SETTINGS.includes(key));
      const name = deployment.metadata.name as ServiceName;
      expect({ [name]: PRODUCTION_SETTINGS[name].filter((key) => !given(key)) }).toEqual({ [name]: [] });
    }
  });

  it("the broker set-up gives each consumer a user of its own, allowed its queues and no other consumer's, and its own events only", () => {
    for (const { name, queue } of CONSUMING_SERVICES) {
      const access = serviceAccess(name);
      expect(access.user).toBe(name);
      for (const own of queuesOf(queue)) {
        for (const right of ['configure', 'write', 'read'] as const) expect(matches(access[right], own)).toBe(true);
      }
      for (const other of CONSUMING_SERVICES.filter((candidate) => candidate.name !== name)) {
        for (const foreign of queuesOf(other.queue)) {
          for (const right of ['configure', 'write', 'read'] as const) expect(matches(access[right], foreign)).toBe(false);
        }
      }
      // Shared objects are the set-up's: no configure on them; no write to the default exchange.
      for (const shared of [DOMAIN_EXCHANGE, UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE]) expect(matches(access.configure, shared)).toBe(false);
      expect(matches(access.write, 'amq.default')).toBe(false);
      expect(matches(access.write, DOMAIN_EXCHANGE)).toBe(true);
      for (const [routingKey, flow] of Object.entries(eventFlow)) {
        expect({ [routingKey]: matches(access.topic.write, routingKey) }).toEqual({ [routingKey]: flow.producer === name });
        // An auditor (operations) binds every event and produces none.
        const binds = flow.consumers.includes(name) || (flow.formerConsumers ?? []).includes(name) || EVENT_AUDITORS.includes(name);
        expect({ [routingKey]: matches(access.topic.read, routingKey) }).toEqual({ [routingKey]: binds });
      }
    }
  });

  it('the base renders on its own', () => {
    expect(render('deploy/base').length).toBeGreaterThan(10);
  });

  it('docker-compose.yml is valid, and publishes the gateway as the only service port', () => {
    const config = composeConfig();
    const [document] = parseAllDocuments(config);
    const services = (
      document!.toJSON() as {
        services: Record<
          string,
          { ports?: { target: number }[]; build?: { args?: Record<string, string> }; environment?: Record<string, string>; healthcheck?: unknown }
        >;
      }
    ).services;
    for (const { name, port } of SERVICES) {
      expect(services[name]?.build).toBeDefined();
      // The image listens on its build argument PORT (deploy/docker/Dockerfile).
      expect(services[name]?.build?.args).toEqual(expect.objectContaining({ SERVICE: name, PORT: String(port) }));
    }
    for (const name of CONSUMERS) expect(services[name]?.ports).toBeUndefined();
    for (const { name } of BACKEND_SERVICES) expect(services[name]?.ports).toBeUndefined();
    expect(services.gateway?.ports).toHaveLength(1);
    expect(services.gateway?.ports?.[0]?.target).toBe(service('gateway').port);
    for (const { name, port } of BACKEND_SERVICES) expect(services.gateway?.environment?.[serviceUrlVariable(name)]).toBe(`http://${name}:${port}`);
    // Each consumer connects as its own broker user (the one the set-up limits to its queues), with the
    // password broker-setup gives that user.
    const setup = services['broker-setup']?.environment ?? {};
    for (const { name } of CONSUMING_SERVICES) {
      const url = new URL(services[name]?.environment?.AMQP_URL ?? 'amqp://-');
      expect(url.username).toBe(name);
      expect(setup[amqpUrlVariable(name)]).toBe(services[name]?.environment?.AMQP_URL);
    }
    for (const infrastructure of ['postgres', 'rabbitmq', 'jaeger', 'mailpit', 'broker-setup']) expect(services[infrastructure]).toBeDefined();
  });

  it('docker-compose refuses to start while a password is left empty, naming it', () => {
    const secrets = filledSecrets();
    expect(Object.keys(secrets)).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'RABBITMQ_ADMIN_PASSWORD', 'DRIVER_AMQP_PASSWORD']));
    const ignored = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: ROOT }).status === 0;
    expect(ignored('deploy/compose/secrets.env')).toBe(true);
    expect(() => composeConfig({ ...secrets, MAILER_AMQP_PASSWORD: '' })).toThrow(/MAILER_AMQP_PASSWORD/);
  });

  it('docker-compose gives the gateway its token settings from an uncommitted env file, and every production setting', () => {
    const raw = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(raw).not.toContain(DEV_JWT_SECRET);
    const written = (parseAllDocuments(raw)[0]!.toJSON() as { services: Record<string, ComposeService> }).services;
    expect(written.gateway?.env_file).toBe(`\${GATEWAY_ENV_FILE:-./${GATEWAY_ENV_FILE}}`);
    const literal = Object.entries(written).flatMap(([name, described]) =>
      Object.keys(described.environment ?? {})
        .filter((key) => /SECRET|TOKEN|^JWT_/.test(key))
        .map((key) => `${name}.${key}`),
    );
    expect(literal).toEqual([]);
    // The env file stays out of the repository (and out of image build contexts); its example is committed.
    const ignored = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: ROOT }).status === 0;
    expect(ignored(GATEWAY_ENV_FILE)).toBe(true);
    expect(ignored(GATEWAY_ENV_EXAMPLE)).toBe(false);
    expect(existsSync(join(ROOT, GATEWAY_ENV_EXAMPLE))).toBe(true);
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')).toContain('deploy/compose/*.env');

    const services = (parseAllDocuments(composeConfig())[0]!.toJSON() as { services: Record<string, ComposeService> }).services;
    const gateway = services.gateway?.environment ?? {};
    for (const key of ['JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE']) expect(gateway[key]).toBeDefined();
    // A copy of the example left as it is must not give a usable secret: the gateway refuses its placeholder.
    expect(jwtSecretWeakness(gateway.JWT_SECRET!)).toBeDefined();
    for (const { name } of SERVICES) {
      const missing = PRODUCTION_SETTINGS[name].filter((key) => services[name]?.environment?.[key] === undefined);
      expect({ [name]: missing }).toEqual({ [name]: [] });
    }
  });
});
