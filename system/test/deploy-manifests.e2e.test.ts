import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BACKEND_SERVICES, CONSUMING_SERVICES, SERVICES, service, serviceUrlVariable, type ServiceName } from '@onboarding/contracts';
import { DEFAULT_RETRY_DELAYS_MS, parkingQueueName, retryQueueName } from '@onboarding/messaging';

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
}

interface Container {
  image: string;
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
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
  env: { name: string; value?: string }[];
}

interface BrokerDefinitions {
  users: { name: string }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
}

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
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
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
    const services = manifests.filter((manifest) => manifest.kind === 'Service');
    expect(services).toHaveLength(SERVICES.length);
    for (const { name, port } of SERVICES) {
      const described = services.find((candidate) => candidate.metadata.name === name);
      expect((described?.spec as { ports: { port: number }[] } | undefined)?.ports.map((entry) => entry.port)).toEqual([port]);
    }
    const policies = manifests.filter((manifest) => manifest.kind === 'NetworkPolicy').map((policy) => policy.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(['default-deny-ingress', 'gateway-from-anywhere', 'services-from-gateway-only']));
    const definitions = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('rabbitmq-definitions'));
    expect(definitions).toBeDefined();
    const config = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('onboarding-config')) as
      (Manifest & { data: Record<string, string> }) | undefined;
    for (const { name, port } of BACKEND_SERVICES) expect(config?.data[serviceUrlVariable(name)]).toBe(`http://${name}:${port}`);
  });

  it("the broker definitions give each consumer a user of its own, allowed its queues and no other consumer's", () => {
    const [rendered] = render('deploy/base').filter(
      (manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('rabbitmq-definitions'),
    );
    const definitions = JSON.parse((rendered as Manifest & { data: Record<string, string> }).data['definitions.json']!) as BrokerDefinitions;
    for (const { name, queue } of CONSUMING_SERVICES) {
      expect(definitions.users.map((user) => user.name)).toContain(name);
      const permission = definitions.permissions.find((candidate) => candidate.user === name);
      expect(permission).toBeDefined();
      for (const own of queuesOf(queue)) {
        for (const right of ['configure', 'write', 'read'] as const) expect(matches(permission![right], own)).toBe(true);
      }
      for (const other of CONSUMING_SERVICES.filter((candidate) => candidate.name !== name)) {
        for (const foreign of queuesOf(other.queue)) expect(matches(permission!.read, foreign)).toBe(false);
      }
    }
  });

  it('the base renders on its own', () => {
    expect(render('deploy/base').length).toBeGreaterThan(10);
  });

  it('docker-compose.yml is valid, and publishes the gateway as the only service port', () => {
    const config = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], { encoding: 'utf8' });
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
    // Each consumer connects as its own broker user (the one the definitions limit to its queues).
    for (const { name } of CONSUMING_SERVICES) expect(new URL(services[name]?.environment?.AMQP_URL ?? 'amqp://-').username).toBe(name);
    for (const infrastructure of ['postgres', 'rabbitmq', 'jaeger', 'mailpit']) expect(services[infrastructure]).toBeDefined();
  });
});
