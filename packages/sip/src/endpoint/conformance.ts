import type { ConformanceAdapter } from '@switchboard/core/protocol';
import { RtpPeerSimulator } from './peer.js';
import { RtpMediaProtocol } from './protocol.js';
import { SipRealtimeTransport } from './transport.js';

/**
 * The self-hosted SIP/RTP endpoint as the conformance harness loads it: the same RTP protocol,
 * jitter buffer and packetizer as a UDP call, over the harness's WebSocket (RTP packets as binary
 * frames, the dialog's INVITE and BYE as text frames, as SIP over WebSocket carries them). The
 * peer simulator plays the phone: it offers PCMU, telephone-event and CN and sends RTP.
 */
export const conformance: ConformanceAdapter = {
  name: 'sip/rtp',
  capabilities: new RtpMediaProtocol().capabilities,
  // SIP has no stream id of its own: the transport's is the Call-ID and the SDP label together
  // (a label alone repeats from call to call).
  carriesStreamId: false,
  // A recording of a call over this WebSocket (the INVITE and BYE as text lines, RTP as binary
  // lines, carrier "sip") replays frame for frame.
  traceCarrier: 'sip',
  createProtocol: () => new RtpMediaProtocol(),
  createTransport: ({ connection, url, now, clock }) => new SipRealtimeTransport({ connection, url, now, clock }),
  createPeerSimulator: () => new RtpPeerSimulator(),
};
