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
    for (const { path, method, item, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      expect({ path, method, statuses }).toEqual({
        path,
        method,
        statuses: expect.arrayContaining(['401', '403', '429', '500', '502', '503', '504']),
      });
      const takesInput = Boolean(item.parameters?.length || operation.parameters?.length || operation.requestBody);
      if (takesInput) expect({ path, method, statuses }).toEqual({ path, method, statuses: expect.arrayContaining(['400']) });
      if (method !== 'get') expect({ path, method, statuses }).toEqual({ path, method, statuses: expect.arrayContaining(['413', '415']) });
      for (const status of statuses.filter((code) => Number(code) >= 400)) {
        expect(Object.keys(operation.responses[status]!.content ?? {})).toEqual(['application/problem+json']);
      }
    }
  });
});
