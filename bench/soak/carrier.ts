/**
 * The carrier side of the soak: N concurrent calls into the bridge through the carrier's peer
 * simulator. Each call streams 20 ms frames at real time (speech from the bundled traces, comfort
 * noise between utterances), plays the bridge's audio on a clock and acknowledges each mark once
 * the audio before it has played, answers `clear` as the carrier does, speaks over a reply now and
 * then (barge-in), presses DTMF now and then, and after its random length hangs up at a quiet
 * moment with the carrier's stop message. A new call takes its place at once until the run ends.
 */
import { performance } from 'node:perf_hooks';
import { bytesPerMs, type AudioFormat, type OutboundCommand } from '@switchboard/core';
import type { PeerSimulator } from '@switchboard/core/protocol';
import { WebSocket } from 'ws';
import { emptyCarrierTotals, loadCarrier, prng, type CarrierTotals } from './common.js';
import { FRAME_MS, loadSpeech } from './speech.js';

export type CarrierConfig = {
  bridgeUrl: string;
  carrier: string;
  calls: number;
  runMs: number;
  minCallMs: number;
  maxCallMs: number;
  seed: number;
  /** Chance that the caller speaks over a reply (decided once per reply). */
  bargeInChance: number;
  /** Chance that the caller presses keys instead of speaking, at a quiet moment. */
  dtmfChance: number;
};

const config = JSON.parse(process.argv[2]!) as CarrierConfig;
const adapter = await loadCarrier(config.carrier);
const speech = await loadSpeech();
const random = prng(config.seed);
const between = (low: number, high: number) => low + random() * (high - low);
/** The traces' audio is μ-law 8 kHz; the peer converts it to the carrier's format. */
const TRACE_FORMAT: AudioFormat = { encoding: 'pcmu', sampleRate: 8000, channels: 1 };
const outboundFormat = adapter.carrierFormat ?? TRACE_FORMAT;
/** How long a caller waits for a quiet moment to hang up before hanging up anyway. */
const HANG_UP_PATIENCE_MS = 20_000;

const totals = emptyCarrierTotals();
const t0 = performance.now();
const runEnd = t0 + config.runMs;
let live = 0;
let nextId = 0;

class Call {
  readonly #id: number;
  readonly #peer: PeerSimulator;
  readonly #socket: WebSocket;
  readonly #startedAt = performance.now();
  readonly #endAt: number;
  readonly #stats: Partial<CarrierTotals> & Record<string, number> = {};
  #timer: NodeJS.Timeout | undefined;
  #nextFrameAt = 0;
  #noiseAt = Math.floor(random() * speech.noise.length);
  /** The utterance being spoken, and the next frame of it. */
  #utterance: Uint8Array[] | undefined;
  #utteranceAt = 0;
  /** The carrier's playout: when the audio queued so far will have played. */
  #queueEnd = 0;
  #lastAudioAt = -Infinity;
  /** Replies heard, counted by stretches of audio with quiet before them; barge-in is decided once per reply. */
  #reply = 0;
  #replyStartedAt = 0;
  #bargeDecidedFor = 0;
  #bargeAt: number | undefined;
  #pendingMarks: Array<{ name: string; at: number }> = [];
  #digits: Array<{ digit: string; at: number }> = [];
  #listeningSince = 0;
  #heardSinceSpoke = true;
  #nextActionAt: number | undefined;
  #speakNext = false;
  #endingSince: number | undefined;
  #hungUp = false;

  constructor(id: number) {
    this.#id = id;
    this.#peer = adapter.createPeerSimulator();
    this.#endAt = Math.min(runEnd, this.#startedAt + between(config.minCallMs, config.maxCallMs));
    totals.callsStarted++;
    live++;
    this.#socket = new WebSocket(`${config.bridgeUrl}/media?call=${id}`, { perMessageDeflate: false });
    this.#socket.on('message', (data, isBinary) =>
      this.#onFrame(isBinary ? new Uint8Array(data as Buffer) : String(data)),
    );
    this.#socket.on('error', () => undefined);
    this.#socket.once('open', () => this.#onOpen());
    this.#socket.once('close', () => this.#onClose());
  }

  #add(key: keyof CarrierTotals, n = 1): void {
    this.#stats[key] = (this.#stats[key] ?? 0) + n;
  }

  #send(frames: Array<string | Uint8Array>): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) this.#socket.send(frame);
  }

  #onOpen(): void {
    const now = performance.now();
    this.#send(
      this.#peer.encodeInbound({
        type: 'call_start',
        streamId: '',
        format: TRACE_FORMAT,
        customParameters: { soak: String(this.#id) },
        raw: null,
      }),
    );
    this.#nextFrameAt = now;
    // The caller says something soon after the call connects.
    this.#listeningSince = now;
    this.#nextActionAt = now + between(200, 1000);
    this.#speakNext = true;
    this.#tick();
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#hungUp || this.#socket.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    // Real time: a frame every 20 ms; frames a stalled loop owes go out together, as a carrier's would.
    while (this.#nextFrameAt <= now) {
      this.#sendMedia();
      this.#nextFrameAt += FRAME_MS;
    }
    while (this.#pendingMarks.length > 0 && this.#pendingMarks[0]!.at <= now)
      this.#ack(this.#pendingMarks.shift()!.name);
    while (this.#digits.length > 0 && this.#digits[0]!.at <= now) {
      this.#send(this.#peer.encodeInbound({ type: 'dtmf', digit: this.#digits.shift()!.digit }));
      this.#add('dtmfDigitsSent');
    }
    this.#decide(now);
    if (!this.#hungUp) this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#nextFrameAt - performance.now()));
  }

  #sendMedia(): void {
    let payload: Uint8Array;
    if (this.#utterance && this.#utteranceAt < this.#utterance.length) payload = this.#utterance[this.#utteranceAt++]!;
    else payload = speech.noise[this.#noiseAt++ % speech.noise.length]!;
    this.#send(this.#peer.encodeInbound({ type: 'audio', payload }));
    this.#add('mediaFramesSent');
    this.#add('mediaBytesSent', payload.byteLength);
  }

  /** What the caller does next: keep speaking, barge in, wait for the reply, press keys, speak, hang up. */
  #decide(now: number): void {
    if (this.#utterance) {
      if (this.#utteranceAt < this.#utterance.length) return;
      this.#utterance = undefined;
      this.#listeningSince = now;
      this.#heardSinceSpoke = false;
      this.#nextActionAt = undefined;
    }
    const playing = this.#queueEnd > now;
    if (now >= this.#endAt) {
      this.#endingSince ??= now;
      // Hang up once the line is quiet: the reply to the last utterance played out (or never came)
      // and nothing new for a moment.
      const waited = now - this.#listeningSince;
      const quiet =
        !playing &&
        now - this.#lastAudioAt >= 1500 &&
        waited >= (this.#heardSinceSpoke ? 1500 : 8000) &&
        this.#digits.length === 0;
      if (quiet) this.#hangUp(false);
      else if (now - this.#endingSince > HANG_UP_PATIENCE_MS) this.#hangUp(playing);
      return;
    }
    if (this.#digits.length > 0) return;
    if (playing) {
      this.#nextActionAt = undefined;
      if (this.#bargeDecidedFor !== this.#reply) {
        this.#bargeDecidedFor = this.#reply;
        this.#bargeAt = random() < config.bargeInChance ? this.#replyStartedAt + between(600, 3000) : undefined;
      }
      if (this.#bargeAt !== undefined && now >= this.#bargeAt) {
        this.#bargeAt = undefined;
        this.#add('bargeIns');
        this.#speak();
      }
      return;
    }
    // Quiet: a pause after the reply, or a longer wait when no reply came (a tool call, a lost turn).
    this.#nextActionAt ??= this.#heardSinceSpoke
      ? now + between(800, 3000)
      : this.#listeningSince + between(6000, 9000);
    if (now < this.#nextActionAt) return;
    this.#nextActionAt = undefined;
    if (!this.#speakNext && adapter.capabilities.dtmfIn && random() < config.dtmfChance) {
      const count = 1 + Math.floor(random() * 3);
      for (let i = 0; i < count; i++)
        this.#digits.push({ digit: '0123456789*#'[Math.floor(random() * 12)]!, at: now + i * 250 });
      // Keys get no spoken answer: the caller speaks after them.
      this.#speakNext = true;
      this.#heardSinceSpoke = true;
      return;
    }
    this.#speak();
  }

  #speak(): void {
    this.#utterance = speech.utterances[Math.floor(random() * speech.utterances.length)]!;
    this.#utteranceAt = 0;
    this.#speakNext = false;
    this.#add('utterances');
  }

  #onFrame(frame: string | Uint8Array): void {
    if (this.#hungUp) {
      // Sent by the bridge before it read the caller's stop: nobody hears it.
      this.#add('framesAfterHangUp');
      return;
    }
    let commands: OutboundCommand[];
    try {
      commands = this.#peer.decodeOutbound(frame);
    } catch {
      this.#add('framesRejected');
      return;
    }
    const now = performance.now();
    for (const command of commands) {
      if (command.type === 'audio') {
        const ms = command.payload.byteLength / bytesPerMs(outboundFormat);
        if (this.#queueEnd <= now) {
          this.#reply++;
          this.#replyStartedAt = now;
        }
        this.#queueEnd = Math.max(now, this.#queueEnd) + ms;
        this.#lastAudioAt = now;
        this.#heardSinceSpoke = true;
        this.#add('audioBytesReceived', command.payload.byteLength);
        this.#add('audioMsReceived', ms);
      } else if (command.type === 'mark') {
        this.#add('marksReceived');
        this.#pendingMarks.push({ name: command.name, at: Math.max(now, this.#queueEnd) });
      } else if (command.type === 'clear') {
        this.#add('clearsReceived');
        this.#queueEnd = now;
        const pending = this.#pendingMarks;
        this.#pendingMarks = [];
        if (adapter.capabilities.ackOnClear === 'echo-pending') for (const mark of pending) this.#ack(mark.name);
        else if (adapter.capabilities.ackOnClear === 'confirm')
          this.#send(this.#peer.encodeInbound({ type: 'playback_cleared' }));
      }
    }
  }

  #ack(name: string): void {
    this.#send(this.#peer.encodeInbound({ type: 'playback_ack', name }));
    this.#add('acksSent');
  }

  #hangUp(midReply: boolean): void {
    if (this.#hungUp) return;
    this.#hungUp = true;
    if (midReply) this.#add('hungUpMidReply');
    this.#send(this.#peer.encodeInbound({ type: 'call_end' }));
    this.#socket.close(1000, 'caller hung up');
  }

  #onClose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const opened = this.#nextFrameAt > 0;
    if (!opened) totals.connectFailures++;
    else if (!this.#hungUp) totals.closedByBridge++;
    else totals.callsCompleted++;
    this.#hungUp = true;
    this.#add('marksUnacknowledged', this.#pendingMarks.length);
    for (const [key, n] of Object.entries(this.#stats)) totals[key as keyof CarrierTotals] += n;
    totals.callSeconds += (performance.now() - this.#startedAt) / 1000;
    live--;
    // The next call takes this one's place, until the run ends.
    if (performance.now() < runEnd - config.minCallMs / 4) setTimeout(() => new Call(nextId++), between(0, 500));
    else if (live === 0) finish();
  }
}

function finish(): void {
  const cpu = process.cpuUsage();
  process.send!({ type: 'report', totals, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
}

// The first calls arrive over a few seconds, as calls do.
const staggerMs = Math.min(10_000, config.calls * 100);
for (let i = 0; i < config.calls; i++) setTimeout(() => new Call(nextId++), (i * staggerMs) / config.calls);
process.send!({ type: 'started' });
