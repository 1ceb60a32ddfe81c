/**
 * `mediaStreamingOptions` for Call Automation's `createCall`, `answerCall` and `connect`
 * (REST, stable API 2025-05-15: `MediaStreamingOptions` / `WebSocketMediaStreamingOptions`), set up
 * for a voice agent: audio both ways, the caller's DTMF on the stream, mixed audio, streaming from
 * the moment the call connects.
 */
import { ConfigError } from '@switchboard/core';

/** The two formats ACS streams: 16-bit PCM mono at 16 kHz (ACS's default) or 24 kHz. */
export type AzureAudioFormat = 'pcm16KMono' | 'pcm24KMono';

export type AzureMediaStreamingInput = {
  /** Your media route: a `wss://` URL (its query string is yours: ACS connects to it as given). */
  transportUrl: string;
  /** 16000 (default, `pcm16KMono`) or 24000 (`pcm24KMono`, the model's own rate: no resampling). */
  sampleRate?: 16000 | 24000;
  /** `mixed` (default: everyone in one channel) or `unmixed` (up to four dominant speakers apart). */
  audioChannelType?: 'mixed' | 'unmixed';
  /** Stream from the moment the call connects (default true), or only after `startMediaStreaming`. */
  startMediaStreaming?: boolean;
  /** Send the caller's DTMF on the stream as `DtmfData` (default true). */
  enableDtmfTones?: boolean;
  /** Play the bridge's audio into the call (default true: a voice agent talks back). */
  enableBidirectional?: boolean;
};

/** The `mediaStreamingOptions` object as the REST API and the JS SDK take it. */
export type AzureMediaStreamingOptions = {
  transportUrl: string;
  transportType: 'websocket';
  contentType: 'audio';
  audioChannelType: 'mixed' | 'unmixed';
  startMediaStreaming: boolean;
  enableBidirectional: boolean;
  enableDtmfTones: boolean;
  audioFormat: AzureAudioFormat;
};

/**
 * Builds `mediaStreamingOptions` for a voice agent. Pass it in the `answerCall` / `createCall`
 * request body (REST) or options (`@azure/communication-call-automation`).
 */
export function azureMediaStreamingOptions(input: AzureMediaStreamingInput): AzureMediaStreamingOptions {
  if (!input || typeof input !== 'object') throw new ConfigError('azureMediaStreamingOptions: options are required');
  let url: URL;
  try {
    url = new URL(input.transportUrl);
  } catch {
    throw new ConfigError('azureMediaStreamingOptions: transportUrl must be an absolute wss:// URL');
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:')
    throw new ConfigError('azureMediaStreamingOptions: transportUrl must be a wss:// URL');
  const rate = input.sampleRate ?? 16000;
  if (rate !== 16000 && rate !== 24000)
    throw new ConfigError('azureMediaStreamingOptions: sampleRate must be 16000 or 24000');
  const channel = input.audioChannelType ?? 'mixed';
  if (channel !== 'mixed' && channel !== 'unmixed')
    throw new ConfigError('azureMediaStreamingOptions: audioChannelType must be "mixed" or "unmixed"');
  return {
    transportUrl: input.transportUrl,
    transportType: 'websocket',
    contentType: 'audio',
    audioChannelType: channel,
    startMediaStreaming: input.startMediaStreaming ?? true,
    enableBidirectional: input.enableBidirectional ?? true,
    enableDtmfTones: input.enableDtmfTones ?? true,
    audioFormat: rate === 24000 ? 'pcm24KMono' : 'pcm16KMono',
  };
}
