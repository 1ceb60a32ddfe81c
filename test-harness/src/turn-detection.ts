/**
 * The turn detection a replay's session runs. Users run the service's defaults, in which the
 * server cancels its own reply when the caller starts speaking (`interrupt_response: true`), or
 * semantic VAD; a bridge must get barge-in right in each. Replaying every trace in every mode
 * would triple the matrix, so by default each adapter × trace replay runs one mode, rotated across
 * the traces (see {@link rotatedTurnDetection}); `all` runs every mode for every trace.
 */

/** A turn-detection mode of a replay. */
export type TurnDetectionMode = 'server_vad' | 'server_vad_interrupt' | 'semantic_vad';

/** Every mode, in rotation order. */
export const TURN_DETECTION_MODES: readonly TurnDetectionMode[] = [
  'server_vad',
  'server_vad_interrupt',
  'semantic_vad',
];

/**
 * Which modes a suite runs: one mode for every replay, `rotate` (one mode per adapter × trace,
 * rotated; the default) or `all` (every trace in every mode).
 */
export type TurnDetectionSelection = TurnDetectionMode | 'rotate' | 'all';

/** The environment variable that selects the modes of `describeConformance` and the CLI. */
export const TURN_DETECTION_ENV = 'SWITCHBOARD_CONFORMANCE_TURN_DETECTION';

const SELECTIONS: readonly TurnDetectionSelection[] = [...TURN_DETECTION_MODES, 'rotate', 'all'];

export function isTurnDetectionSelection(value: unknown): value is TurnDetectionSelection {
  return typeof value === 'string' && (SELECTIONS as readonly string[]).includes(value);
}

/** Parses a selection (the CLI option, the environment variable); throws a RangeError naming the choices. */
export function parseTurnDetectionSelection(value: string): TurnDetectionSelection {
  const trimmed = value.trim();
  if (isTurnDetectionSelection(trimmed)) return trimmed;
  throw new RangeError(`turn detection must be one of ${SELECTIONS.join(', ')}; got ${JSON.stringify(value)}`);
}

/** The selection of the environment ({@link TURN_DETECTION_ENV}), or undefined when it is unset or empty. */
export function turnDetectionFromEnv(): TurnDetectionSelection | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[TURN_DETECTION_ENV];
  if (value === undefined || value.trim() === '') return undefined;
  return parseTurnDetectionSelection(value);
}

/**
 * The session's turn detection for a mode, as a `RealtimeSession` config takes it. `server_vad`
 * leaves the reply to the bridge (`interruptResponse: false`); the other two are what the service
 * does by default: the server cancels the reply itself at `speech_started`.
 */
export function turnDetectionConfig(mode: TurnDetectionMode): {
  type: 'server_vad' | 'semantic_vad';
  interruptResponse: boolean;
} {
  switch (mode) {
    case 'server_vad':
      return { type: 'server_vad', interruptResponse: false };
    case 'server_vad_interrupt':
      return { type: 'server_vad', interruptResponse: true };
    case 'semantic_vad':
      return { type: 'semantic_vad', interruptResponse: true };
  }
}

/**
 * The mode a session really ran, read from the turn detection it last asked for in a
 * `session.update` (wire names); undefined when it never set one.
 */
export function modeOfSessionUpdates(updates: readonly Record<string, unknown>[]): TurnDetectionMode | undefined {
  let found: TurnDetectionMode | undefined;
  for (const update of updates) {
    const audio = update.audio as { input?: { turn_detection?: unknown } } | undefined;
    const td = audio?.input?.turn_detection;
    if (td === undefined) continue;
    if (td === null || typeof td !== 'object') {
      found = undefined;
      continue;
    }
    const { type, interrupt_response: interrupt } = td as { type?: unknown; interrupt_response?: unknown };
    // The service's default for both types is to interrupt.
    if (type === 'semantic_vad') found = 'semantic_vad';
    else if (type === 'server_vad') found = interrupt === false ? 'server_vad' : 'server_vad_interrupt';
  }
  return found;
}

/** A small stable hash of a name (FNV-1a, 32 bits). */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The one mode of an adapter × trace replay under `rotate`: the traces, in name order, take the
 * modes in turn, each adapter starting at its own place in the rotation (from its name). Every
 * adapter with three traces or more runs every mode, and across adapters every trace does.
 */
export function rotatedTurnDetection(adapter: string, trace: string, traces: readonly string[]): TurnDetectionMode {
  const sorted = [...new Set(traces)].sort();
  const index = Math.max(0, sorted.indexOf(trace));
  return TURN_DETECTION_MODES[(index + hashName(adapter)) % TURN_DETECTION_MODES.length]!;
}

/** The modes an adapter × trace replay runs under a selection (`all`: every mode, in order). */
export function turnDetectionModes(
  selection: TurnDetectionSelection,
  adapter: string,
  trace: string,
  traces: readonly string[],
): TurnDetectionMode[] {
  if (selection === 'all') return [...TURN_DETECTION_MODES];
  if (selection === 'rotate') return [rotatedTurnDetection(adapter, trace, traces)];
  return [selection];
}
