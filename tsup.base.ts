import type { Options } from 'tsup';

/** Shared build settings: every published package ships ESM + CJS + .d.ts from src/index.ts. */
export function packageBuild(extra: Partial<Options> = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: false,
    treeshake: true,
    ...extra,
  };
}
