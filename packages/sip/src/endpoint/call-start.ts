/**
 * What a SIP call announces: `call_start` from its INVITE, with the Call-ID, From and To, the
 * `X-` headers as custom parameters, and a stream id of its own.
 */
import type { CallEvent } from '@switchboard/core';
import { sipCustomParameters } from '../openai/sip-headers.js';
import type { NegotiatedMedia } from './sdp.js';
import { bodyText, canonicalName, parseNameAddr, type SipRequest } from './sip/message.js';

type CallStartEvent = Extract<CallEvent, { type: 'call_start' }>;

/** Header fields whose values never leave in `call_start.raw`. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization']);

/** The `X-` header fields of a request, without the prefix (repeated ones joined with `, `). */
export function customParametersOf(request: SipRequest): Record<string, string> {
  return sipCustomParameters(request.headers.entries());
}

/**
 * The stream id of a call's `stream`-th stream (from 1): the Call-ID, then `/` and the SDP
 * `a=label` when the offer names the stream, then `#2`, `#3`, ... for the streams a re-INVITE
 * started. A label alone is no id: RFC 4574 labels are unique within one session, and many user
 * agents send the same one on every call.
 */
export function streamIdOf(callId: string, media: Pick<NegotiatedMedia, 'label'>, stream = 1): string {
  const base = callId || 'sip';
  const labelled = media.label !== undefined ? `${base}/${media.label}` : base;
  return stream > 1 ? `${labelled}#${stream}` : labelled;
}

/**
 * `call_start` for an INVITE: the Call-ID, From and To URIs, every `X-` header as a custom
 * parameter (without its `X-` prefix), the stream id ({@link streamIdOf}).
 */
export function callStartFromInvite(invite: SipRequest, media: NegotiatedMedia, stream = 1): CallStartEvent {
  const callId = invite.headers.get('call-id') ?? '';
  const customParameters = customParametersOf(invite);
  const event: CallStartEvent = {
    type: 'call_start',
    callId,
    streamId: streamIdOf(callId, media, stream),
    format: { ...media.format },
    customParameters,
    raw: {
      method: invite.method,
      requestUri: invite.uri,
      headers: invite.headers
        .entries()
        .map(([name, value]) => [name, SECRET_HEADERS.has(canonicalName(name)) ? '<redacted>' : value]),
      sdp: bodyText(invite),
    },
  };
  const from = parseNameAddr(invite.headers.get('from') ?? '')?.uri;
  if (from) event.from = from;
  const to = parseNameAddr(invite.headers.get('to') ?? '')?.uri;
  if (to) event.to = to;
  return event;
}
