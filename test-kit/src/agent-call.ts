/**
 * An agent's call end to end in a carrier's tests: a scripted model (the realtime simulator) for a
 * `RealtimeSession` over the carrier's transport, and the carrier's playback markers (Plivo's
 * checkpoints, Vonage's notifies) acknowledged one by one as the audio before each "plays".
 */
import { RealtimeSimulator, type SimulatedSession, type SimulatorTurn } from '@switchboard/conformance';
import type { MediaFrame, TelephonyRealtimeTransport } from '@switchboard/core';

/** What the rig needs of a `RealtimeSession`. */
export type AgentSessionLike = {
  connect(options: { apiKey: string }): Promise<void>;
  sendMessage(message: string): void;
  close(): void;
};

export type AgentCallRig = {
  /** Starts a simulated model that plays `script` (at 20× speed); the transport connects to its `url`. */
  model(script: SimulatorTurn[]): Promise<RealtimeSimulator>;
  /**
   * Connects `session` to the model started last and sends the caller's `line`; resolves with the
   * model's side of the session. The session is closed after the test.
   */
  talk(session: AgentSessionLike, line: string): Promise<SimulatedSession>;
};

/** Registers the clean-up (session closed, model stopped) with the test file's `afterEach`. */
export function useAgentCall(hooks: { afterEach(fn: () => Promise<void>): void }): AgentCallRig {
  let simulator: RealtimeSimulator | undefined;
  let session: AgentSessionLike | undefined;
  hooks.afterEach(async () => {
    session?.close();
    session = undefined;
    await simulator?.stop();
    simulator = undefined;
  });
  return {
    async model(script) {
      simulator = new RealtimeSimulator({ script, speed: 20 });
      await simulator.start();
      return simulator;
    },
    async talk(agentSession, line) {
      if (!simulator) throw new Error('talk: start the model first');
      session = agentSession;
      const connected = simulator.nextSession();
      await agentSession.connect({ apiKey: 'sk-test' });
      const simulated = await connected;
      agentSession.sendMessage(line);
      return simulated;
    },
  };
}

/** The playback markers a transport sent its carrier, and how many the carrier acknowledged. */
export type PlaybackMarkers<Marker> = {
  readonly sent: Marker[];
  readonly acked: number;
  /**
   * Acknowledges the markers one by one, in order, each as soon as it was sent, until `done` (or
   * `timeoutMs` of real time passed).
   */
  acknowledgeUntil(done: () => boolean, acknowledge: (marker: Marker) => void, timeoutMs?: number): Promise<void>;
};

/** Records the markers in what the transport sends `carrier` (`pick` reads a frame's marker, if any). */
export function watchPlaybackMarkers<Marker>(
  carrier: { send(frame: MediaFrame): void },
  pick: (frame: MediaFrame) => Marker | undefined,
): PlaybackMarkers<Marker> {
  const sent: Marker[] = [];
  let acked = 0;
  const send = carrier.send.bind(carrier);
  carrier.send = (frame) => {
    send(frame);
    const marker = pick(frame);
    if (marker !== undefined) sent.push(marker);
  };
  return {
    sent,
    get acked() {
      return acked;
    },
    async acknowledgeUntil(done, acknowledge, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done() && Date.now() < deadline) {
        if (acked < sent.length) acknowledge(sent[acked++]!);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

/** What the model's `transfer_call` asks for in `transferToBillingScript()`. */
export const BILLING_TRANSFER = {
  destination: 'billing',
  reason: 'invoice dispute',
  summary: 'Invoice 42 was charged twice.',
} as const;

/** A model whose one turn calls `transfer_call` with {@link BILLING_TRANSFER}. */
export function transferToBillingScript(): SimulatorTurn[] {
  return [{ kind: 'function_call', name: 'transfer_call', arguments: { ...BILLING_TRANSFER } }];
}

/** The transport's `call_end` events, as they come. */
export function callEnds(transport: TelephonyRealtimeTransport): Array<{ reason?: string }> {
  const ends: Array<{ reason?: string }> = [];
  transport.on('call_end', (event) => ends.push(event as { reason?: string }));
  return ends;
}
