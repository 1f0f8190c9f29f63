// Lint: typescript-eslint. src/ gets the strict type-checked set (where it pays:
// the rules below are relaxed with a reason); test/ and bench/ the recommended
// type-checked set, relaxed where tap's API and JSON replies make it noise.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.powerview/', 'grafana/', 'fixtures/', '*.config.js'] },
  js.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    // TypeScript checks names itself (typescript-eslint's advice)
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    rules: {
      // numbers and booleans in messages are what a template is for
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // typed-array indexing in the hot loops is bounds-checked by the loop itself
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => void promise` and `x ? a() : b()` arrow bodies read fine
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // class fields change while a method awaits (aborted, draining, failure): the rule narrows
      // them as if they could not, and flags the very checks that make the await safe
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    rules: {
      // tap: t.test() returns a promise that tap itself awaits
      '@typescript-eslint/no-floating-promises': 'off',
      // JSON bodies from the stores and the CLI are read as any on purpose
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // mock handlers are async to match the interface they stand in for
      '@typescript-eslint/require-await': 'off',
    },
  },
);
