// The call tools under a real RealtimeSession: the realtime simulator speaks and calls the tool,
// the in-memory carrier plays the audio back (acking each mark a while after it arrived).
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  TelephonyRealtimeTransport,
  endCallTool,
  playWhile,
  transferCallTool,
  type CallTool,
  type CallToolTransport,
  type TelephonyRealtimeTransportOptions,
  type TransferRequest,
} from '../src/index.js';
import { registerCallTools, type CallToolControls } from '../src/protocol.js';
import { RealtimeSimulator, type SimulatedSession, type SimulatorTurn } from '@switchboard/conformance';
import { TestProtocol, until, useTransportRig, wire, type FakeCarrier } from '@switchboard/conformance/testing';

const rig = useTransportRig<TelephonyRealtimeTransport, Partial<TelephonyRealtimeTransportOptions>>(
  { beforeEach, afterEach },
  (carrier, url, options) =>
    new TelephonyRealtimeTransport({
      connection: carrier,
      protocol: new TestProtocol(),
      url,
      inputAudioInactivityTimeoutMs: null,
      ...options,
    }),
);

let sim: RealtimeSimulator | undefined;
let session: RealtimeSession | undefined;
let player: ReturnType<typeof setInterval> | undefined;

afterEach(async () => {
  if (player) clearInterval(player);
  player = undefined;
  session?.close();
  session = undefined;
  await sim?.stop();
  sim = undefined;
});

/** A spoken turn: `ms` of a tone (PCM16 24 kHz), then the call of `name`. */
function turn(
  ms: number,
  transcript: string,
  call?: { name: string; arguments: Record<string, unknown> },
): SimulatorTurn {
  const audio = new Int16Array((24000 * ms) / 1000);
  for (let i = 0; i < audio.length; i++) audio[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 24000));
  return { kind: 'audio', transcript, audio, ...(call ? { call } : {}) };
}

/**
 * The carrier plays what it is sent: each mark is acked `delayMs` after it arrived (real time,
 * polled). Returns what it saw, in order: `mark`, `ack` and, once, `close` with the marks not yet
 * acked at that moment.
 */
function play(carrier: FakeCarrier, delayMs = 150) {
  const seen: Array<{ at: number; name: string }> = [];
  const acked = new Set<string>();
  let read = 0;
  const log: string[] = [];
  let unackedAtClose: number | undefined;
  const close = carrier.close.bind(carrier);
  carrier.close = () => {
    unackedAtClose ??= seen.filter((m) => !acked.has(m.name)).length;
    log.push('close');
    close();
  };
  player = setInterval(() => {
    if (carrier.closed) return;
    const commands = carrier.commands();
    for (; read < commands.length; read++) {
      const c = commands[read]!;
      if (c.type === 'mark') seen.push({ at: Date.now(), name: c.name });
    }
    for (const m of seen) {
      if (acked.has(m.name) || Date.now() - m.at < delayMs) continue;
      acked.add(m.name);
      log.push('ack');
      carrier.deliver(wire.ack(m.name));
    }
  }, 10);
  return {
    log,
    marks: () => seen.length,
    acked: () => acked.size,
    unackedAtClose: () => unackedAtClose,
  };
}

async function call(
  script: SimulatorTurn[],
  tools: CallTool[],
  options: Partial<TelephonyRealtimeTransportOptions> = {},
) {
  sim = new RealtimeSimulator({ script, speed: 2 });
  await sim.start();
  const transport = rig.make({ url: sim.url, ...options });
  const errors: unknown[] = [];
  transport.on('error', (e) => errors.push(e.error));
  const ends: string[] = [];
  transport.on('call_end', (e) => ends.push(e.reason));
  rig.carrier.deliver(wire.start());
  const agent = new RealtimeAgent({ name: 'phone', instructions: 'Help the caller.', tools });
  session = new RealtimeSession(agent, { transport, context: { transport } });
  const sessionErrors: unknown[] = [];
  session.on('error', (e) => sessionErrors.push(e.error));
  const toolEnds: string[] = [];
  session.on('agent_tool_end', (_context, _agent, tool) => toolEnds.push(tool.name));
  const simulated: Promise<SimulatedSession> = sim.nextSession();
  await session.connect({ apiKey: 'sk-test' });
  return { transport, errors, ends, sessionErrors, toolEnds, simulated: await simulated };
}

const DEADLINE = 30_000;

describe('endCallTool under a RealtimeSession', () => {
  it('hangs up after the goodbye was played in full: every mark acked before the carrier socket closed', async () => {
    const c = await call([turn(800, 'Goodbye!', { name: 'end_call', arguments: {} })], [endCallTool()]);
    const carrier = play(rig.carrier);
    session!.sendMessage('That is all, thanks.');
    await until(() => rig.carrier.closed, DEADLINE);
    expect(carrier.marks()).toBeGreaterThan(0);
    expect(carrier.unackedAtClose()).toBe(0);
    expect(carrier.log.at(-1)).toBe('close');
    expect(c.ends).toEqual(['agent_hangup']);
    expect(c.transport.endReason).toBe('agent_hangup');
    // All of the goodbye reached the carrier (800 ms of μ-law, whole 20 ms frames).
    const audioMs = rig.carrier
      .commands()
      .filter((x) => x.type === 'audio')
      .reduce((ms, x) => ms + (x as { payload: Uint8Array }).payload.byteLength / 8, 0);
    expect(audioMs).toBeGreaterThanOrEqual(800);
    // The tool's output reached the model before the call ended, and asked for no new response.
    await until(() => c.simulated.functionCallOutputs.length === 1, DEADLINE);
    expect(c.simulated.responses).toHaveLength(1);
    expect(c.errors).toEqual([]);
    expect(c.sessionErrors).toEqual([]);
  });

  it('ends with its own reason, and through the hangUp option', async () => {
    const hangUps: unknown[] = [];
    const c = await call(
      [turn(300, 'Bye.', { name: 'bye', arguments: {} })],
      [endCallTool({ name: 'bye', reason: 'done' })],
      {
        hangUp: (request) => hangUps.push(request),
      },
    );
    play(rig.carrier, 20);
    session!.sendMessage('Bye.');
    await until(() => rig.carrier.closed, DEADLINE);
    expect(hangUps).toEqual([{ reason: 'done', callId: 'call-1', streamId: 'S1' }]);
    expect(c.ends).toEqual(['done']);
  });
});

describe('transferCallTool under a RealtimeSession', () => {
  const destinations = { sales: '+15550100', support: 'sip:support@example.com' };
  const args = { destination: 'sales', reason: 'wants a quote', summary: 'Caller wants a quote for 20 seats.' };

  it('lets the caller hear the agent first, hands the carrier the call’s context, and ends as transferred', async () => {
    const requests: TransferRequest[] = [];
    let unackedAtTransfer: number | undefined;
    let carrier: ReturnType<typeof play> | undefined;
    const c = await call(
      [turn(600, 'Transferring you to sales.', { name: 'transfer_call', arguments: args })],
      [
        transferCallTool({
          destinations,
          transfer: async (request) => {
            unackedAtTransfer = carrier!.marks() - carrier!.acked();
            requests.push(request);
            // The carrier moves the call and closes the media stream before its API call returns.
            rig.carrier.close();
          },
        }),
      ],
    );
    carrier = play(rig.carrier);
    session!.sendMessage('I would like to buy.');
    await until(() => requests.length === 1 && c.transport.endReason !== undefined, DEADLINE);
    expect(unackedAtTransfer).toBe(0);
    const [request] = requests;
    expect(request).toMatchObject({
      name: 'sales',
      destination: '+15550100',
      reason: 'wants a quote',
      summary: 'Caller wants a quote for 20 seats.',
      callId: 'call-1',
      streamId: 'S1',
      callStart: { customParameters: { who: 'test' } },
    });
    expect(request!.transport).toBe(c.transport);
    expect(c.ends).toEqual(['transferred']);
    expect(c.errors).toEqual([]);
    // The tool's output, after the call ended, is dropped: no error for the session either.
    await until(() => c.toolEnds.length === 1, DEADLINE);
    expect(c.sessionErrors).toEqual([]);
  });

  it('ends the call as transferred when the carrier leaves the stream open', async () => {
    const c = await call(
      [turn(200, 'One moment.', { name: 'transfer_call', arguments: { ...args, destination: 'support' } })],
      [transferCallTool({ destinations, transfer: async () => 'ok', afterPlayback: false })],
    );
    play(rig.carrier, 20);
    session!.sendMessage('Support please.');
    await until(() => rig.carrier.closed, DEADLINE);
    expect(c.ends).toEqual(['transferred']);
    await until(() => c.simulated.functionCallOutputs.length === 1, DEADLINE);
    expect(c.simulated.functionCallOutputs[0]!.output).toContain('support');
  });

  it('a handler that holds the caller first: a hang-up during the hold is the caller’s, not a transfer', async () => {
    let holding = false;
    const c = await call(
      [turn(200, 'Please hold.', { name: 'transfer_call', arguments: args })],
      [
        transferCallTool({
          destinations,
          transfer: async (request) => {
            request.handOverLater!();
            holding = true;
            // The caller hangs up while the person is being called.
            await until(() => rig.carrier.closed, DEADLINE);
            throw new Error('the caller hung up during the transfer');
          },
        }),
      ],
    );
    play(rig.carrier, 20);
    session!.sendMessage('Sales please.');
    await until(() => holding, DEADLINE);
    rig.carrier.close();
    await until(() => c.transport.endReason !== undefined, DEADLINE);
    expect(c.ends).toEqual(['carrier_closed']);
  });

  it('a handler that hands the call over after its hold ends the call as transferred', async () => {
    const c = await call(
      [turn(200, 'Please hold.', { name: 'transfer_call', arguments: args })],
      [
        transferCallTool({
          destinations,
          transfer: async (request) => {
            const handOver = request.handOverLater!();
            handOver();
            // The carrier bridges the call and closes the stream before its API call returns.
            rig.carrier.close();
          },
        }),
      ],
    );
    play(rig.carrier, 20);
    session!.sendMessage('Sales please.');
    await until(() => c.transport.endReason !== undefined, DEADLINE);
    expect(c.ends).toEqual(['transferred']);
  });

  it('a refused transfer tells the model in a sentence, emits an error, and the call goes on', async () => {
    const c = await call(
      [
        turn(200, 'Transferring you.', { name: 'transfer_call', arguments: args }),
        turn(200, 'Sorry, that did not work.'),
      ],
      [
        transferCallTool({
          destinations,
          transfer: async () => {
            throw new Error('busy here');
          },
        }),
      ],
    );
    play(rig.carrier, 20);
    session!.sendMessage('Sales please.');
    await until(() => c.simulated.functionCallOutputs.length === 1, DEADLINE);
    expect(c.simulated.functionCallOutputs[0]!.output).toMatch(/did not go through/);
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toMatchObject({ code: 'call_control_error' });
    expect(String((c.errors[0] as Error).message)).toMatch(/busy here/);
    // The model answers the failure in a new response, on a call that is still up.
    await until(() => c.simulated.responses.length === 2, DEADLINE);
    expect(rig.carrier.closed).toBe(false);
    expect(c.transport.endReason).toBeUndefined();
  });
});

describe('tool options', () => {
  it('refuses a transfer tool with no destinations or no handler, and a bad transport', () => {
    expect(() => transferCallTool({ destinations: {}, transfer: async () => undefined })).toThrow(ConfigError);
    expect(() => transferCallTool({ destinations: { a: '+1' }, transfer: undefined as never })).toThrow(ConfigError);
    expect(() => endCallTool({ transport: {} as never })).toThrow(ConfigError);
    expect(() => endCallTool({ timeoutMs: -5 })).toThrow(ConfigError);
  });

  it('describe a strict JSON schema: the destinations as an enum', () => {
    const t = transferCallTool({ destinations: { sales: '+1', billing: '+2' }, transfer: async () => undefined }) as {
      name: string;
      strict: boolean;
      parameters: { properties: { destination: { enum: string[] } }; required: string[] };
    };
    expect(t.name).toBe('transfer_call');
    expect(t.strict).toBe(true);
    expect(t.parameters.properties.destination.enum).toEqual(['sales', 'billing']);
    expect(t.parameters.required).toEqual(['destination', 'reason', 'summary']);
    expect((endCallTool() as { name: string }).name).toBe('end_call');
  });
});

describe('playWhile', () => {
  it('plays nothing for work done within the delay, and fills a slow one until it is done', async () => {
    const transport = rig.make({ url: 'ws://127.0.0.1:9/unused', carrierIdleTimeoutMs: null });
    rig.carrier.deliver(wire.start());
    play(rig.carrier, 20);
    const events: Array<{ phase: string; reason?: string }> = [];
    transport.on('injected_audio', (e) => events.push(e));
    const hold = new Uint8Array(1600).fill(0x33);
    await expect(playWhile(transport, hold, async () => 'fast', { delayMs: 10_000 })).resolves.toBe('fast');
    expect(events).toEqual([]);
    let finish!: (value: string) => void;
    const slow = new Promise<string>((resolve) => (finish = resolve));
    const result = playWhile(transport, hold, slow, { delayMs: 0, name: 'hold' });
    await until(() => events.length === 1);
    expect(events[0]).toMatchObject({ phase: 'start', name: 'hold' });
    finish('slow');
    await expect(result).resolves.toBe('slow');
    await until(() => events.length === 2);
    expect(events[1]).toMatchObject({ phase: 'end', reason: 'stopped' });
  });

  it('passes on the work’s failure, and stops the audio', async () => {
    const transport = rig.make({ url: 'ws://127.0.0.1:9/unused', carrierIdleTimeoutMs: null });
    rig.carrier.deliver(wire.start());
    play(rig.carrier, 20);
    const ends: string[] = [];
    transport.on('injected_audio', (e) => e.phase === 'end' && ends.push(e.reason));
    await expect(
      playWhile(
        transport,
        new Uint8Array(800),
        async () => {
          await until(() => transport.metrics.injectedAudioMs > 0);
          throw new Error('lookup failed');
        },
        { delayMs: 0 },
      ),
    ).rejects.toThrow('lookup failed');
    await until(() => ends.length === 1);
    expect(ends).toEqual(['stopped']);
  });
});

describe('registerCallTools: the tools on a transport that is not the core’s', () => {
  /** A transport of another kind: it hangs up after playback and records what the tools did. */
  function fakeCall(playback: Promise<{ heardAll: boolean; waitedMs: number }> = Promise.resolve(heard)) {
    const log: string[] = [];
    let endReason: string | undefined;
    const errors: unknown[] = [];
    const transport = {
      endAfterPlayback: async (options?: { reason?: string }) => {
        log.push(`endAfterPlayback ${options?.reason}`);
        const wait = await playback;
        endReason = options?.reason;
        return { reason: options?.reason ?? '', ...wait };
      },
    };
    const controls: CallToolControls = {
      waitForPlayback: async () => {
        log.push('waitForPlayback');
        return playback;
      },
      endingAs: (reason) => log.push(`endingAs ${reason}`),
      emitError: (error) => errors.push(error),
      callId: () => 'sip-call-7',
      streamId: () => undefined,
      callStart: () => undefined,
      endReason: () => endReason,
      end: (reason) => {
        log.push(`end ${reason}`);
        endReason ??= reason;
      },
    };
    registerCallTools(transport, controls);
    return { transport, log, errors, endReason: () => endReason };
  }
  const heard = { heardAll: true, waitedMs: 5 };
  const invoke = (t: CallTool, transport: object, input: object) =>
    (t as { invoke(context: unknown, input: string): Promise<unknown> }).invoke(
      { context: { transport } },
      JSON.stringify(input),
    );
  const args = { destination: 'desk', reason: 'billing', summary: 'Refund for order 42.' };

  it('refuses a transport without endAfterPlayback and controls that miss a function', () => {
    const controls = fakeCall();
    expect(() => registerCallTools({} as never, {} as never)).toThrow(ConfigError);
    expect(() => registerCallTools(controls.transport, { waitForPlayback: async () => heard } as never)).toThrow(
      /endingAs, emitError/,
    );
  });

  it('end_call runs the transport’s endAfterPlayback and reports what was heard', async () => {
    const call = fakeCall();
    const output = await invoke(endCallTool({ reason: 'bye' }), call.transport, {});
    expect(JSON.stringify(output)).toMatch(/heard the goodbye/);
    expect(call.log).toEqual(['endAfterPlayback bye']);
    expect(call.endReason()).toBe('bye');
  });

  it('transfer_call waits, hands the handler this transport and its call id, and ends as transferred', async () => {
    const call = fakeCall();
    const requests: TransferRequest<CallToolTransport>[] = [];
    const tool = transferCallTool({
      destinations: { desk: 'sip:desk@pbx.example.com' },
      transfer: async (request: TransferRequest<CallToolTransport>) => {
        call.log.push('transfer');
        requests.push(request);
      },
    });
    const output = await invoke(tool, call.transport, args);
    expect(JSON.stringify(output)).toMatch(/transferred to desk/);
    expect(requests[0]).toMatchObject({ name: 'desk', destination: 'sip:desk@pbx.example.com', callId: 'sip-call-7' });
    expect(requests[0]!.transport).toBe(call.transport);
    await until(() => call.endReason() !== undefined);
    expect(call.log).toEqual(['waitForPlayback', 'endingAs transferred', 'transfer', 'end transferred']);
    expect(call.endReason()).toBe('transferred');
  });

  it('a refused transfer undoes the reason, emits an error and tells the model', async () => {
    const call = fakeCall();
    const tool = transferCallTool({
      destinations: { desk: '+15550100' },
      transfer: async () => {
        throw new Error('refused');
      },
    });
    expect(await invoke(tool, call.transport, args)).toMatch(/did not go through/);
    expect(call.log).toEqual(['waitForPlayback', 'endingAs transferred', 'endingAs undefined']);
    expect(call.errors).toHaveLength(1);
    expect(call.errors[0]).toMatchObject({ code: 'call_control_error' });
    expect(call.endReason()).toBeUndefined();
  });
});
