/**
 * Module boundaries that can't rot: a module imports only its own files, `contracts/` and
 * `platform/`. The platform knows no module; contracts know nothing but themselves.
 * `npm test` runs this; a violation fails the build naming the import.
 */
const MODULES = ['order', 'warehouse', 'email', 'analytics'];

module.exports = {
  forbidden: [
    ...MODULES.map((m) => ({
      name: `${m}-module-boundary`,
      severity: 'error',
      comment: `The ${m} module may import only its own files, src/contracts and src/platform. Talk to other modules through events.`,
      from: { path: `^src/modules/${m}/` },
      to: { path: '^src/', pathNot: [`^src/modules/${m}/`, '^src/contracts/', '^src/platform/'] },
    })),
    {
      name: 'platform-knows-no-module',
      severity: 'error',
      comment: 'Shared plumbing must not depend on a feature module.',
      from: { path: '^src/platform/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'contracts-stand-alone',
      severity: 'error',
      comment: 'The published language depends on nothing else in the app.',
      from: { path: '^src/contracts/' },
      to: { path: '^src/', pathNot: '^src/contracts/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and module boundaries fragile.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.spec\\.ts$' },
  },
};
