import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiDocument } from '../src/routing/openapi';

interface Operation {
  operationId: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, unknown> }>;
}
type PathItem = { parameters?: unknown[] } & Partial<Record<'get' | 'post' | 'patch' | 'delete', Operation>>;

const document = openApiDocument('1.2.3') as { openapi: string; paths: Record<string, PathItem> };
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  (['get', 'post', 'patch', 'delete'] as const).flatMap((method) => (item[method] ? [{ path, method, item, operation: item[method] }] : [])),
);

describe('the OpenAPI document', () => {
  it('is valid against the official schema of the OpenAPI version it declares, its references included', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('names every operation once, for client generators', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists for every operation the statuses the gateway answers anywhere, and 400 wherever there is input to refuse', () => {
    const missing: string[] = [];
    for (const { path, method, item, operation } of operations) {
      const takesInput = Boolean(item.parameters?.length || operation.parameters?.length || operation.requestBody);
      const required = ['401', '403', '429', '500', '502', '503', '504', ...(takesInput ? ['400'] : []), ...(method === 'get' ? [] : ['413', '415'])];
      missing.push(...required.filter((status) => !operation.responses[status]).map((status) => `${method} ${path} ${status}`));
      for (const [status, response] of Object.entries(operation.responses)) {
        const mediaTypes = Object.keys(response.content ?? {});
        if (Number(status) >= 400 && mediaTypes.join() !== 'application/problem+json') missing.push(`${method} ${path} ${status} as a problem`);
      }
    }
    expect(missing).toEqual([]);
  });
});
