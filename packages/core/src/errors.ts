/** Base class of every error Switchboard raises or emits. `code` is stable and machine-readable. */
export class SwitchboardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A carrier frame that cannot be decoded. The call goes on; the frame is skipped. */
export class ProtocolError extends SwitchboardError {
  /** The provider whose frame failed (`twilio`, ...). */
  readonly provider: string;
  /** A short, redacted excerpt of the frame (no audio payload). */
  readonly frameExcerpt?: string;
  constructor(provider: string, message: string, options?: { cause?: unknown; frame?: unknown; code?: string }) {
    super(options?.code ?? 'protocol_error', `[${provider}] ${message}`, options);
    this.provider = provider;
    if (options?.frame !== undefined) this.frameExcerpt = excerpt(options.frame);
  }
}

/** Invalid options passed by the developer. Thrown synchronously from constructors. */
export class ConfigError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_error', message, options);
  }
}

/** A carrier REST call (hang-up, transfer) that failed. */
export class CallControlError extends SwitchboardError {
  readonly status?: number;
  readonly providerCode?: number | string;
  constructor(message: string, options?: { cause?: unknown; status?: number; providerCode?: number | string }) {
    super('call_control_error', message, options);
    if (options?.status !== undefined) this.status = options.status;
    if (options?.providerCode !== undefined) this.providerCode = options.providerCode;
  }
}

/** A webhook or WebSocket upgrade whose signature does not verify. */
export class WebhookSignatureError extends SwitchboardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('webhook_signature_invalid', message, options);
  }
}

const MAX_EXCERPT = 160;

/** A short excerpt of a frame with long base64 runs (audio) elided, safe for logs and errors. */
export function excerpt(frame: unknown): string {
  let text: string;
  if (typeof frame === 'string') text = frame;
  else if (frame instanceof Uint8Array) return `<binary ${frame.byteLength} bytes>`;
  else {
    try {
      text = JSON.stringify(frame) ?? String(frame);
    } catch {
      text = String(frame);
    }
  }
  text = text.replace(/[A-Za-z0-9+/=]{40,}/g, (m) => `<${m.length} chars>`);
  return text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT)}…` : text;
}
