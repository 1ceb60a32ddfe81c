/**
 * What the caller of an OpenAI SIP call has heard, as far as OpenAI tells. The audio never passes
 * through this process: OpenAI plays it to the SIP trunk and reports its output buffer with
 * `output_audio_buffer.started` / `.stopped` / `.cleared` (events of SIP and WebRTC sessions only),
 * each naming its response. A call has heard everything once no response is being generated and
 * no response's audio is waiting in, or playing from, that buffer.
 */
import { AGENT_HANGUP_REASON, ConfigError, type EndAfterPlaybackOptions } from '@switchboard/core';

/** Longest wait for playback by default, ms (as the core transports). */
const DEFAULT_TIMEOUT_MS = 15_000;
/** A response done with audio whose buffer never reported starting counts as played after this, ms. */
const UNREPORTED_GRACE_MS = 2_000;

type ServerEvent = { type?: unknown; response_id?: unknown; response?: { id?: unknown; output?: unknown } };

function hasAudio(output: unknown): boolean {
  if (!Array.isArray(output)) return false;
  return output.some(
    (item: { type?: unknown; content?: unknown }) =>
      item?.type === 'message' &&
      Array.isArray(item.content) &&
      item.content.some((part: { type?: unknown }) => part?.type === 'output_audio' || part?.type === 'audio'),
  );
}

/** Follows the model's events; `idle()` is true when nothing remains to be generated or played. */
export class OpenAISipPlayback {
  readonly #generating = new Set<string>();
  /** Responses with audio not yet reported played: id → when it was generated in full (ms). */
  readonly #unplayed = new Map<string, number>();
  readonly #playing = new Set<string>();
  readonly #waiters = new Set<() => void>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** A server event of the call's Realtime session. */
  observe(event: unknown): void {
    const e = event as ServerEvent;
    if (!e || typeof e !== 'object' || typeof e.type !== 'string') return;
    const responseId = typeof e.response_id === 'string' ? e.response_id : undefined;
    switch (e.type) {
      case 'response.created':
        if (typeof e.response?.id === 'string') this.#generating.add(e.response.id);
        break;
      case 'response.done':
        if (typeof e.response?.id === 'string') {
          this.#generating.delete(e.response.id);
          if (hasAudio(e.response.output) && !this.#playing.has(e.response.id))
            this.#unplayed.set(e.response.id, this.#now());
        }
        break;
      case 'output_audio_buffer.started':
        if (responseId) {
          this.#playing.add(responseId);
          this.#unplayed.delete(responseId);
        }
        break;
      case 'output_audio_buffer.stopped':
        if (responseId) {
          this.#playing.delete(responseId);
          this.#unplayed.delete(responseId);
          break;
        }
        this.#playing.clear();
        this.#unplayed.clear();
        break;
      case 'output_audio_buffer.cleared':
        // A clear empties the whole buffer: whatever was waiting in it is gone too.
        this.#playing.clear();
        this.#unplayed.clear();
        break;
      default:
        return;
    }
    for (const wake of [...this.#waiters]) wake();
  }

  idle(): boolean {
    if (this.#generating.size > 0 || this.#playing.size > 0) return false;
    const now = this.#now();
    for (const [id, doneAt] of this.#unplayed) {
      if (now - doneAt < UNREPORTED_GRACE_MS) return false;
      this.#unplayed.delete(id);
    }
    return true;
  }

  /** Resolves once idle (true) or after `timeoutMs` (false), or when `ended()` becomes true. */
  waitUntilIdle(timeoutMs: number, ended: () => boolean): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const started = this.#now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = () => {
        if (ended() || this.idle()) return settle(true);
        const left = timeoutMs - (this.#now() - started);
        if (left <= 0) return settle(false);
        if (timer !== undefined) clearTimeout(timer);
        // Polled too: the grace of a response whose buffer never reported passes without an event.
        timer = setTimeout(check, Math.min(left, 200));
      };
      const settle = (heard: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(heard);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** Checks the options of `endAfterPlayback`; returns reason and timeout with their defaults. */
export function endOptions(options: EndAfterPlaybackOptions = {}): { reason: string; timeoutMs: number } {
  const reason = options.reason ?? AGENT_HANGUP_REASON;
  if (typeof reason !== 'string' || reason.length === 0) throw new ConfigError('`reason` must be a non-empty string.');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 2_147_483_647))
    throw new ConfigError(`\`timeoutMs\` must be a non-negative number of ms, got ${String(timeoutMs)}.`);
  return { reason, timeoutMs };
}
