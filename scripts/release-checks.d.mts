// Types of scripts/release-checks.mjs, for the tests that import it.

export declare const REPOSITORY_URL: string;
export declare const REPOSITORY_WEB: string;
export declare const LICENSE: string;
export declare const COPYRIGHT_LINE: string;
export declare const NODE_ENGINES: string;
export declare const SHARED_CHANGESET_MAX_CHARS: number;

export interface WorkspacePackage {
  /** Relative to the workspace root, with `/`. */
  dir: string;
  name: string;
  version: string;
  private: boolean;
  manifest: Record<string, unknown>;
}

export declare function workspacePackages(root: string): WorkspacePackage[];
export declare function publishedPackages(root: string): WorkspacePackage[];
export declare function manifestTargets(manifest: Record<string, unknown>): string[];
export declare function expectedMetadata(dir: string): Record<string, unknown>;
/** Problems with one published package's manifest and files; empty when there are none. */
export declare function checkManifest(root: string, dir: string): string[];
/** Problems with every published package's manifest, and with their versions before a first release. */
export declare function checkPackages(root: string): string[];
/** Problems that stop `pnpm publish` halfway: a `workspace:` dependency not linked (no `pnpm install`). */
export declare function checkInstalled(root: string): string[];
export declare function parseChangeset(text: string): {
  releases: Array<{ name: string; type: string }>;
  summary: string;
};
/** Problems with `.changeset/` under `root`; empty when there are none. */
export declare function checkChangesets(root: string): string[];
/** The files of a gzipped tarball, by path (`package/...`). */
export declare function readTarball(path: string): Map<string, Buffer>;
/** Problems with one package tarball; empty when there are none. */
export declare function checkTarball(path: string): string[];
export declare function fileSize(path: string): number;
