import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'web/dist', 'bridge/dist', 'dist', 'coverage', 'data'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Prettier does not break long strings, template literals or comments; imports are Prettier's to format.
      'max-len': ['error', { code: 140, tabWidth: 2, ignoreUrls: true, ignorePattern: '^import |^export .* from ' }],
    },
  },
  { files: ['bin/**', '*.config.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
