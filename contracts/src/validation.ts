import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import './formats';

export interface ValidationIssue {
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor<T extends TSchema>(schema: T): TypeCheck<T> {
  let checker = compiled.get(schema);
  if (!checker) {
    checker = TypeCompiler.Compile(schema);
    compiled.set(schema, checker);
  }
  return checker as TypeCheck<T>;
}

/** Validates a value against a contract schema; the same compiled check serves HTTP bodies and messages. */
export function validate<T extends TSchema>(schema: T, value: unknown, maxIssues = 20): ValidationResult<Static<T>> {
  const checker = checkerFor(schema);
  if (checker.Check(value)) return { ok: true, value };
  const issues: ValidationIssue[] = [];
  for (const error of checker.Errors(value)) {
    issues.push({ path: error.path || '/', message: error.message });
    if (issues.length >= maxIssues) break;
  }
  return { ok: false, issues };
}
