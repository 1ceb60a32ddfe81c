/**
 * The endpoint side of the baresip tests: a realtime simulator standing in for the model and a
 * SipEndpoint on 127.0.0.1 whose every call gets a RealtimeSession. Each call's model session is
 * found by the SIP Call-ID, which the session puts in the query of its model URL.
 */
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import {
  RealtimeSimulator,
  loadAgentReplies,
  MODEL_SAMPLE_RATE,
  type SimulatedSession,
  type SimulatorTurn,
} from '@switchboard/conformance';
import { SipEndpoint, type SipCall, type SipEndpointOptions } from '@switchboard/sip';
import { waitFor } from './baresip.js';

/** The recorded agent replies, each cut to `ms` of real speech: short turns keep the tests quick. */
export function shortReplies(ms = 1500): SimulatorTurn[] {
  return loadAgentReplies()
    .filter((turn): turn is Extract<SimulatorTurn, { kind: 'audio' }> => turn.kind === 'audio')
    .map((turn) => ({ ...turn, audio: turn.audio.slice(0, Math.round((ms * MODEL_SAMPLE_RATE) / 1000)) }));
}

export type CallRecord = {
  call: SipCall;
  session: RealtimeSession;
  digits: string[];
  /** `call_end` reasons the transport emitted. */
  callEnds: Array<string | undefined>;
};

export class EndpointRig {
  readonly simulator: RealtimeSimulator;
  readonly endpoints: SipEndpoint[] = [];
  readonly calls: CallRecord[] = [];

  private constructor(simulator: RealtimeSimulator) {
    this.simulator = simulator;
  }

  static async start(script: SimulatorTurn[] = shortReplies()): Promise<EndpointRig> {
    const simulator = new RealtimeSimulator({ script });
    await simulator.start();
    return new EndpointRig(simulator);
  }

  /**
   * A listening endpoint on 127.0.0.1 (port 0) whose calls all talk to the simulator, each as a
   * session of `agent` (default: one without tools) with the call's transport in its context.
   */
  async endpoint(options: SipEndpointOptions = {}, agent?: RealtimeAgent): Promise<SipEndpoint> {
    const endpoint = new SipEndpoint({
      host: '127.0.0.1',
      port: 0,
      transports: ['udp'],
      rtp: { ports: { min: 20000, max: 30000 } },
      ...options,
    });
    endpoint.on('call', (call) => {
      const session = new RealtimeSession(
        agent ?? new RealtimeAgent({ name: 'Test agent', instructions: 'Answer briefly.' }),
        { transport: call.transport, model: 'gpt-realtime', context: { transport: call.transport } },
      );
      const record: CallRecord = { call, session, digits: [], callEnds: [] };
      call.transport.on('dtmf', (event: { digit: string }) => record.digits.push(event.digit));
      call.transport.on('call_end', (event: { reason?: string }) => record.callEnds.push(event.reason));
      session.on('error', () => undefined);
      this.calls.push(record);
      const url = `${this.simulator.url}?model=gpt-realtime&sip_call=${encodeURIComponent(call.callId)}`;
      void session.connect({ apiKey: 'sk-test', url }).catch(() => undefined);
    });
    endpoint.on('error', () => undefined);
    await endpoint.listen();
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** The endpoint's call with this SIP Call-ID, once it came. */
  call(callId: string, timeoutMs = 30_000): Promise<CallRecord> {
    return waitFor(`the endpoint's call ${callId}`, () => this.calls.find((c) => c.call.callId === callId), timeoutMs);
  }

  /** The model session of the call with this SIP Call-ID, once it connected. */
  modelOf(callId: string, timeoutMs = 30_000): Promise<SimulatedSession> {
    const query = `sip_call=${encodeURIComponent(callId)}`;
    return waitFor(
      `the model session of call ${callId}`,
      () => this.simulator.sessions.find((s) => s.connection.url.includes(query)),
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    for (const record of this.calls) record.session.close();
    for (const endpoint of this.endpoints) await endpoint.close().catch(() => undefined);
    await this.simulator.stop();
  }
}
