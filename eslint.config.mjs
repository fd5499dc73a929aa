// @ts-check
// One ESLint configuration for every workspace. Each workspace's `lint` script runs ESLint from its own folder;
// ESLint finds this file by walking up. Type-aware rules read each file's nearest tsconfig.json (which covers
// src and test) through the TypeScript project service.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Compiled output, generated reports and installed code are not ours to lint.
    ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/.turbo/**', '**/.test-logs/**', '**/.logs/**'],
  },
  {
    linterOptions: {
      // A disable comment that no longer suppresses anything is dead weight: say so.
      reportUnusedDisableDirectives: 'error',
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Every service is a long-running process over a broker and a database: a promise nobody awaits or
      // catches is a lost error or an unhandled rejection that kills the process.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async callback where a void one is expected (an event emitter, a timer) drops its rejection.
      '@typescript-eslint/no-misused-promises': 'error',
      // An awaited non-promise is usually a missing call or a wrong type.
      '@typescript-eslint/await-thenable': 'error',
      // `import type` lets isolatedModules builds erase type-only imports safely and keeps load order honest.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // An exported type re-exported as a value breaks under isolatedModules.
      '@typescript-eslint/consistent-type-exports': ['error', { fixMixedExportsWithInlineTypeSpecifier: true }],
      // Unused code hides what a module really does; a leading underscore marks a deliberately unused binding
      // (a callback's required parameter, a destructured value left out on purpose).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `==` coerces; the one useful coercion, `x == null` for null-or-undefined, stays allowed.
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A switch over a union (event types, states) must say what happens to every member.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `return await` inside try/catch keeps the rejection inside the catch and the frame in the stack trace.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // Throwing a string loses the stack trace.
      '@typescript-eslint/only-throw-error': 'error',
      // Off, on purpose: `async` is how this code base meets an interface that wants a promise (fastify plugins
      // and hooks, MikroORM migrations' up/down, lifecycle hooks). Dropping `async` where nothing is awaited
      // would turn a rejected promise into a synchronous throw, a change of behaviour; the real bugs (a promise
      // nobody awaits) are caught by no-floating-promises and no-misused-promises above.
      '@typescript-eslint/require-await': 'off',
      // amqplib's and node's callbacks hand their error over typed `any`; it is passed to reject() as received.
      // Values of a known non-Error type are still reported.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // A service reads its own package.json (its version) at run time: an import would pull the file into the
      // compilation, outside the build's rootDir. Every other require() is reported.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['/package\\.json$'] }],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    // The admin console runs in the browser.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Test files run under jest, which provides its globals.
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
  },
  {
    // The jest configurations are plain CommonJS that no tsconfig covers, so they get the untyped rules only.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [eslint.configs.recommended],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
);
