/**
 * The SIP endpoint against baresip 1.0 (Debian's package), a real SIP user agent: calls on
 * 127.0.0.1 in PCMU and PCMA, audio checked both ways.
 *
 * Caller → model: baresip's microphone is a WAV file (a chirp, aufile); the model must receive
 * that chirp. Model → caller: baresip decodes the model's reply and hands it, through an
 * in-process audio bridge (aubridge), to a second call into the endpoint as that call's
 * microphone; that second model must receive the first model's speech, frame by frame.
 *
 * The endpoint runs in the test's process and paces its RTP on its event loop, and baresip's jitter
 * buffer drops what comes in a burst: the audio is compared only once it has all arrived, never
 * while it streams.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAudio } from '../../test-harness/src/similarity.js';
import { linearOf, matchFrames } from './support/baresip-audio.js';
import { EndpointRig } from './support/baresip-rig.js';
import { Baresip, baresipSkipReason, chirp, titled, waitFor, writeWav } from './support/baresip.js';

const SKIP = baresipSkipReason();

describe.skipIf(SKIP !== undefined)(titled('SipEndpoint with baresip: audio both ways', SKIP), () => {
  let rig: EndpointRig;
  let port: number;
  let dir: string;
  const chirpSamples = chirp({ leadMs: 200, toneMs: 800, totalMs: 60_000 });
  const running: Baresip[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baresip-audio-'));
    writeWav(join(dir, 'chirp.wav'), chirpSamples);
    rig = await EndpointRig.start();
    port = (await rig.endpoint()).port;
  });

  afterAll(async () => {
    for (const baresip of running) await baresip.stop();
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * One call of each kind through one baresip: the chirp to the model, the model's reply through
   * baresip's decoder to the tap. Returns the measures, and the longest stall of this process's
   * event loop meanwhile (the endpoint's RTP pacing runs on it), to explain a failure.
   */
  async function callThroughBaresip(codec: 'PCMU' | 'PCMA') {
    const lower = codec.toLowerCase();
    const domain = `127.0.0.1:${port}`;
    const stalls = monitorEventLoopDelay({ resolution: 10 });
    stalls.enable();
    const tapUser = `${lower}-tap`;
    const callerUser = `${lower}-caller`;
    const baresip = await Baresip.start({
      accounts: [
        // The listening side: its microphone is whatever the caller's loudspeaker plays.
        { user: tapUser, domain, codecs: [codec], source: { bridge: `tap-${lower}` } },
        {
          user: callerUser,
          domain,
          codecs: [codec],
          source: { wav: join(dir, 'chirp.wav') },
          playerBridge: `tap-${lower}`,
        },
      ],
    });
    running.push(baresip);

    await baresip.dial(tapUser, `sip:tap@${domain}`);
    const tapId = (await baresip.waitForEvent(tapUser, 'CALL_ESTABLISHED')).id!;
    await baresip.dial(callerUser, `sip:agent@${domain}`);
    const callerId = (await baresip.waitForEvent(callerUser, 'CALL_ESTABLISHED')).id!;
    const caller = await rig.call(callerId);
    const tap = await rig.call(tapId);
    expect(caller.call.media?.codec).toBe(lower);
    expect(tap.call.media?.codec).toBe(lower);
    const callerModel = await rig.modelOf(callerId);
    const tapModel = await rig.modelOf(tapId);

    // Caller → model: the chirp, through baresip's encoder and the endpoint's RTP path.
    await waitFor("the caller's chirp to reach the model", () => callerModel.inputAudioMs >= 1500, 30_000);
    expect(callerModel.inputFormat.type).toBe(`audio/${lower}`);

    // Model → caller: the model's reply to the chirp, as baresip decoded it (heard by the tap).
    // The waits read only counters: the endpoint runs in this process, and comparing audio while
    // its RTP is being paced out would stall the very path under test.
    const reply = await waitFor(
      "the model's reply to end",
      () => callerModel.responses.find((r) => r.status === 'completed' && r.audioMsSent > 0),
      30_000,
    );
    // The reply plays out in real time from about now; the tap's input grows with baresip's RTP
    // (a steady stream, silence or not): once it has grown by the reply and a margin for baresip's
    // jitter buffer and bridge, everything that will arrive has.
    const tapAtReply = tapModel.inputAudioMs;
    await waitFor(
      "the model's speech to reach the tap",
      () => tapModel.inputAudioMs >= tapAtReply + reply.audioMsSent + 1500,
      30_000,
    );

    const heard = linearOf(callerModel.inputAudio, callerModel.inputFormat);
    const inbound = compareAudio(
      { samples: chirpSamples.subarray(0, 8 * 1400), sampleRate: 8000 },
      { samples: heard.samples.subarray(0, Math.round(heard.sampleRate * 1.6)), sampleRate: heard.sampleRate },
      { maxLagMs: 200, alignMs: 1400 },
    );
    const spoken = linearOf(
      callerModel.outputAudio.filter((c) => c.responseId === reply.id).map((c) => c.bytes),
      reply.format,
    );
    expect(spoken.sampleRate).toBe(8000);
    const outbound = matchFrames(spoken.samples, linearOf(tapModel.inputAudio, tapModel.inputFormat).samples, 8000);
    stalls.disable();
    const explain = baresip.output.slice(-4000);

    await baresip.as(callerUser, 'hangup');
    await baresip.as(tapUser, 'hangup');
    await waitFor('both calls to end', () => caller.call.state === 'ended' && tap.call.state === 'ended');
    expect(caller.call.endReason).toBe('bye');
    await baresip.stop();
    return { inbound, outbound, explain, stallMs: stalls.max / 1e6 };
  }

  for (const codec of ['PCMU', 'PCMA'] as const) {
    it.concurrent(
      `${codec}: the model hears baresip's chirp, and baresip decodes the model's speech`,
      async () => {
        const { inbound, outbound, explain, stallMs } = await callThroughBaresip(codec);
        const context = `stalls up to ${stallMs.toFixed(0)} ms\n${explain}`;
        expect(inbound.snrDb, `${JSON.stringify(inbound)}; ${context}`).toBeGreaterThanOrEqual(25);
        expect(outbound.speechFrames).toBeGreaterThan(30);
        expect(outbound.found, `${JSON.stringify(outbound)}; ${context}`).toBeGreaterThanOrEqual(
          outbound.speechFrames * 0.8,
        );
      },
      90_000,
    );
  }
});
