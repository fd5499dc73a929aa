import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

function render(path: string): Manifest[] {
  const output = execFileSync('kubectl', ['kustomize', join(ROOT, path)], { encoding: 'utf8' });
  return parseAllDocuments(output).map((document) => document.toJSON() as Manifest);
}

const CONSUMERS = ['driver', 'identity', 'mailer', 'notification'];

describe('deployment descriptions', () => {
  it('the Kubernetes cluster overlay renders, with probes, limits and non-root pods for every service', () => {
    const manifests = render('deploy/overlays/cluster');
    const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(['driver', 'gateway', 'identity', 'mailer', 'notification']);
    for (const deployment of deployments) {
      expect(deployment.metadata.namespace).toBe('driver-onboarding');
      const pod = (deployment.spec as { template: { spec: Record<string, any> } }).template.spec;
      const [container] = pod.containers;
      expect(container.image).toMatch(/^registry\.example\.com\/onboarding\//);
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.resources.requests).toBeDefined();
      expect(container.resources.limits).toBeDefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
    }
    const hpas = manifests.filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler').map((hpa) => hpa.metadata.name);
    expect(hpas.sort()).toEqual(CONSUMERS);
    const ingresses = manifests.filter((manifest) => manifest.kind === 'Ingress');
    expect(ingresses).toHaveLength(1);
    expect(JSON.stringify(ingresses[0]!.spec)).toContain('"name":"gateway"');
    expect(manifests.filter((manifest) => manifest.kind === 'Service')).toHaveLength(5);
    const policies = manifests.filter((manifest) => manifest.kind === 'NetworkPolicy').map((policy) => policy.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(['default-deny-ingress', 'gateway-from-anywhere', 'services-from-gateway-only']));
    const definitions = manifests.find((manifest) => manifest.kind === 'ConfigMap' && manifest.metadata.name.startsWith('rabbitmq-definitions'));
    expect(definitions).toBeDefined();
  });

  it('the base renders on its own', () => {
    expect(render('deploy/base').length).toBeGreaterThan(10);
  });

  it('docker-compose.yml is valid, and publishes the gateway as the only service port', () => {
    const config = execFileSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], { encoding: 'utf8' });
    const [document] = parseAllDocuments(config);
    const services = (document!.toJSON() as { services: Record<string, { ports?: unknown[]; build?: unknown; healthcheck?: unknown }> }).services;
    for (const name of ['gateway', 'driver', 'identity', 'mailer', 'notification']) expect(services[name]?.build).toBeDefined();
    for (const name of CONSUMERS) expect(services[name]?.ports).toBeUndefined();
    expect(services.gateway?.ports).toHaveLength(1);
    for (const infrastructure of ['postgres', 'rabbitmq', 'jaeger', 'mailpit']) expect(services[infrastructure]).toBeDefined();
  });
});
