/**
 * Compatibility rules inside one major version: a consumer written against the released schema must still
 * accept every message the current schema allows, and a producer written against it must still produce
 * valid messages. So nothing may be removed, retyped, narrowed or newly required; new optional fields
 * and loosened constraints are fine.
 */
export interface BreakingChange {
  /** JSON pointer-ish path of the field, e.g. `/data/email` or `/preferredLanguage`. */
  path: string;
  reason: string;
}

type Schema = Record<string, unknown>;

const asSchema = (value: unknown): Schema => (value && typeof value === 'object' ? (value as Schema) : {});

function literals(schema: Schema): unknown[] | undefined {
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(union) && union.every((member) => 'const' in asSchema(member))) return union.map((member) => member.const);
  return undefined;
}

/** `pattern` and `format` are strings in a valid schema; anything else is shown as JSON rather than `[object Object]`. */
const keywordText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function typeOf(schema: Schema): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  const values = literals(schema);
  if (values && values.length > 0) return typeof values[0] === 'string' ? 'string' : typeof values[0];
  return undefined;
}

export function compareSchemas(released: unknown, current: unknown, path = ''): BreakingChange[] {
  const before = asSchema(released);
  const after = asSchema(current);
  const changes: BreakingChange[] = [];
  const at = path || '/';
  const breaking = (reason: string, where = at) => changes.push({ path: where, reason });

  const typeBefore = typeOf(before);
  const typeAfter = typeOf(after);
  if (typeBefore && typeAfter && typeBefore !== typeAfter) {
    breaking(`type changed from ${typeBefore} to ${typeAfter}`);
    return changes;
  }

  const valuesBefore = literals(before);
  const valuesAfter = literals(after);
  if (valuesBefore && valuesAfter) {
    const removed = valuesBefore.filter((value) => !valuesAfter.includes(value));
    const added = valuesAfter.filter((value) => !valuesBefore.includes(value));
    if (removed.length) breaking(`allowed values removed: ${removed.map(String).join(', ')}`);
    // A consumer switching over the released values would not know what to do with a new one.
    if (added.length) breaking(`allowed values added: ${added.map(String).join(', ')} (consumers may not handle them)`);
  } else if (valuesBefore && !valuesAfter && typeAfter === undefined) {
    breaking('no longer restricted to fixed values');
  }

  const tightened = (keyword: string, isTighter: (was: number, now: number) => boolean) => {
    const was = before[keyword];
    const now = after[keyword];
    if (typeof now === 'number' && (typeof was !== 'number' || isTighter(was, now))) breaking(`${keyword} tightened to ${now}`);
  };
  tightened('minLength', (was, now) => now > was);
  tightened('maxLength', (was, now) => now < was);
  tightened('minimum', (was, now) => now > was);
  tightened('maximum', (was, now) => now < was);
  tightened('minItems', (was, now) => now > was);
  tightened('maxItems', (was, now) => now < was);
  for (const keyword of ['pattern', 'format'] as const) {
    if (after[keyword] !== undefined && after[keyword] !== before[keyword]) {
      breaking(`${keyword} changed from ${keywordText(before[keyword] ?? 'none')} to ${keywordText(after[keyword])}`);
    }
  }

  if (typeBefore === 'object' || before.properties) {
    const propsBefore = asSchema(before.properties);
    const propsAfter = asSchema(after.properties);
    const requiredBefore = new Set((before.required as string[] | undefined) ?? []);
    const requiredAfter = new Set((after.required as string[] | undefined) ?? []);
    for (const name of Object.keys(propsBefore)) {
      const fieldPath = `${path}/${name}`;
      if (!(name in propsAfter)) {
        breaking(`field removed${requiredBefore.has(name) ? ' (it was required)' : ''}`, fieldPath);
        continue;
      }
      if (requiredBefore.has(name) && !requiredAfter.has(name)) {
        breaking('field became optional (consumers rely on it being present)', fieldPath);
      }
      changes.push(...compareSchemas(propsBefore[name], propsAfter[name], fieldPath));
    }
    for (const name of requiredAfter) {
      if (!requiredBefore.has(name)) {
        breaking(name in propsBefore ? 'field became required' : 'new required field', `${path}/${name}`);
      }
    }
    if (before.additionalProperties !== false && after.additionalProperties === false) {
      breaking('additional properties no longer allowed');
    }
  }

  if (before.items || after.items) changes.push(...compareSchemas(before.items, after.items, `${path}/items`));
  return changes;
}
