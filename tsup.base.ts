import type { Options } from 'tsup';

/** Shared build settings: every published package ships ESM + CJS + .d.ts from src/index.ts. */
export function packageBuild(extra: Partial<Options> = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    // No source maps in the tarballs: the bundles are not minified (a stack trace into dist reads
    // as the source does), and maps with their sources doubled every package's size (RELEASING.md).
    sourcemap: false,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: false,
    treeshake: true,
    ...extra,
  };
}
