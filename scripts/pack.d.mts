// Types of scripts/pack.mjs, for the tests that import it.
import type { ChildProcess } from 'node:child_process';

export declare const PACKED_DIR_ENV: string;
export declare function tarballName(name: string, version: string): string;
export declare function pnpmCommand(): string[];
export declare function packArgs(names: string[], destination: string): string[];
export declare function packPackages(
  root: string,
  packages: Array<{ name: string; version: string }>,
  destination: string,
  options?: { onSpawn?: (child: ChildProcess) => void },
): Promise<Record<string, string>>;
export declare function writePackedIndex(
  dir: string,
  result: { tarballs: Record<string, string> } | { error: string },
): void;
export declare function packedTarballs(options?: { timeoutMs?: number }): Promise<Record<string, string> | undefined>;
