/**
 * Client event validation the way the Realtime API answers it: the first problem becomes an
 * `error` event with `invalid_request_error`, a stable `code` and the dotted `param` of the
 * offending field (`session.audio.input.turn_detection.eagerness`), and the state rules of the
 * session (voice locked once the model spoke, speed fixed while a response runs) are enforced.
 */
import type { z } from 'zod';
import { clientEventSchemas, isClientEventType, type ClientEvent } from './schemas.js';
import { LEGACY_SESSION_KEYS, type SessionConfigInput } from './session-schema.js';

/** What the simulator answers a rejected client event with (the `error` object of the event). */
export interface ServiceError {
  code: string;
  message: string;
  param: string | null;
}

export type ValidationResult =
  | { ok: true; event: ClientEvent }
  | { ok: false; error: ServiceError; /** Every problem found, for the violation record. */ issues: string };

type Path = ReadonlyArray<PropertyKey>;

/** `session.tools[0].name`: the service's way of naming a field. */
export function formatParam(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out.length === 0 ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(root: unknown, path: Path): { found: boolean; value: unknown } {
  let value: unknown = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) {
      return { found: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'decimal';
  return typeof value;
}

/** For a union that matched no branch: the branch that got furthest, or null. */
function closestBranch(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue | null {
  let best: z.core.$ZodIssue | null = null;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    // An issue at the union's own level (wrong type) says nothing about which branch was meant.
    if (first.path.length === 0 && first.code !== 'unrecognized_keys') continue;
    if (!best || first.path.length > best.path.length) best = first;
  }
  return best;
}

/** One zod issue as the service's error. `root` is the event that was checked. */
function toServiceError(issue: z.core.$ZodIssue, root: unknown, prefix: Path = []): ServiceError {
  const path = [...prefix, ...issue.path];
  const param = formatParam(path);
  const { found, value } = valueAt(root, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const unknown = formatParam([...path, issue.keys[0] ?? '?']);
      return { code: 'unknown_parameter', message: `Unknown parameter: '${unknown}'.`, param: unknown };
    }
    case 'invalid_type':
      if (!found || value === undefined) {
        return { code: 'missing_required_parameter', message: `Missing required parameter: '${param}'.`, param };
      }
      if (issue.expected === 'int') {
        return {
          code: 'invalid_type',
          message: `Invalid type for '${param}': expected an integer, but got a decimal (${show(value)}) instead.`,
          param,
        };
      }
      return {
        code: 'invalid_type',
        message: `Invalid type for '${param}': expected ${issue.expected}, but got ${kind(value)} instead.`,
        param,
      };
    case 'too_small':
    case 'too_big': {
      const below = issue.code === 'too_small';
      const bound = below ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
      if (issue.origin === 'number' || issue.origin === 'int') {
        const numberKind = Number.isInteger(value) ? 'integer' : 'decimal';
        return {
          code: `${numberKind}_${below ? 'below_min' : 'above_max'}_value`,
          message: `Invalid '${param}': ${numberKind} ${below ? 'below minimum' : 'above maximum'} value. Expected a value ${below ? '>=' : '<='} ${String(bound)}, but got ${show(value)} instead.`,
          param,
        };
      }
      return {
        code: 'invalid_value',
        message: `Invalid '${param}': expected ${below ? 'at least' : 'at most'} ${String(bound)} (${issue.message}), but got ${show(value)}.`,
        param,
      };
    }
    case 'invalid_value':
      return {
        code: 'invalid_value',
        message: `Invalid value: ${show(value)}. Supported values are: ${issue.values.map((v) => show(v)).join(', ')}.`,
        param,
      };
    case 'invalid_union': {
      if ('discriminator' in issue && typeof issue.discriminator === 'string') {
        const options = (issue as { options?: unknown[] }).options ?? [];
        return {
          code: 'invalid_value',
          message: `Invalid value: ${show(value)}. Supported values are: ${options.map((v) => show(v)).join(', ')}.`,
          param,
        };
      }
      const branch = closestBranch(issue);
      if (branch) return toServiceError(branch, root, path);
      return {
        code: 'invalid_value',
        message: `Invalid value for '${param}': ${show(value)} is none of the accepted forms.`,
        param,
      };
    }
    default:
      return { code: 'invalid_value', message: `Invalid '${param}': ${issue.message}.`, param };
  }
}

function describe(issue: z.core.$ZodIssue): string {
  return `${issue.path.length > 0 ? formatParam(issue.path) : '(root)'}: ${issue.message}`;
}

/** Checks one parsed client event against the GA protocol. */
export function validateClientEvent(parsed: Record<string, unknown>): ValidationResult {
  const type = parsed.type;
  if (typeof type !== 'string') {
    return {
      ok: false,
      error: { code: 'missing_required_parameter', message: "Missing required parameter: 'type'.", param: 'type' },
      issues: 'the event has no string "type"',
    };
  }
  if (!isClientEventType(type)) {
    return {
      ok: false,
      error: {
        code: 'invalid_value',
        message: `Invalid value: '${type.slice(0, 80)}'. It is not a client event type of this API.`,
        param: 'type',
      },
      issues: `unknown client event type "${type.slice(0, 80)}"`,
    };
  }
  if (type === 'session.update') {
    const session = parsed.session;
    const legacy =
      typeof session === 'object' && session !== null ? LEGACY_SESSION_KEYS.filter((key) => key in session) : [];
    if (legacy.length > 0) {
      const param = `session.${legacy[0]!}`;
      return {
        ok: false,
        error: { code: 'unknown_parameter', message: `Unknown parameter: '${param}'.`, param },
        issues: `session.update: beta-protocol field(s) ${legacy.map((k) => `session.${k}`).join(', ')} are not part of the GA API`,
      };
    }
  }
  const result = clientEventSchemas[type].safeParse(parsed);
  if (result.success) return { ok: true, event: result.data as ClientEvent };
  const issues = result.error.issues;
  return {
    ok: false,
    error: toServiceError(issues[0]!, parsed),
    issues: `${type}: ${issues.map(describe).join('; ')}`,
  };
}

/** What the session rules need to know about the conversation so far. */
export interface SessionRuleState {
  /** The voice in force. */
  voice: unknown;
  /** The speed in force. */
  speed: unknown;
  /** Whether the model has sent audio in this session. */
  assistantAudio: boolean;
  /** Whether a response is being generated. */
  responseActive: boolean;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The rules the schema cannot express. Only a change is refused: sending the value in force again
 * (as the Agents SDK does with every full update) is accepted.
 */
export function checkSessionRules(session: SessionConfigInput, state: SessionRuleState): ServiceError | null {
  const output = session.audio?.output;
  if (output?.voice !== undefined && state.assistantAudio && !sameValue(output.voice, state.voice)) {
    // The service's code for this; it names no param.
    return {
      code: 'cannot_update_voice',
      message: `The voice cannot change once the model has answered with audio in this session (it is ${show(state.voice)}, the update asks for ${show(output.voice)}).`,
      param: null,
    };
  }
  if (output?.speed !== undefined && state.responseActive && !sameValue(output.speed, state.speed)) {
    return {
      code: 'cannot_update_speed',
      message: `The speed can only change between responses, not while one is in progress (it is ${show(state.speed)}, the update asks for ${show(output.speed)}).`,
      param: 'session.audio.output.speed',
    };
  }
  return null;
}
