import { describe, expect, it } from 'vitest';
import { ConfigError } from '@switchboard/core';
import { azureMediaStreamingOptions } from '../src/index.js';

describe('azureMediaStreamingOptions', () => {
  it('asks for audio both ways, DTMF on the stream, mixed audio from the moment the call connects, at 16 kHz by default', () => {
    expect(azureMediaStreamingOptions({ transportUrl: 'wss://agent.example.com/media?tenant=t1' })).toEqual({
      transportUrl: 'wss://agent.example.com/media?tenant=t1',
      transportType: 'websocket',
      contentType: 'audio',
      audioChannelType: 'mixed',
      startMediaStreaming: true,
      enableBidirectional: true,
      enableDtmfTones: true,
      audioFormat: 'pcm16KMono',
    });
  });

  it('asks for 24 kHz (the model’s own rate) and the other settings when told to', () => {
    expect(
      azureMediaStreamingOptions({
        transportUrl: 'wss://agent.example.com/media',
        sampleRate: 24000,
        audioChannelType: 'unmixed',
        startMediaStreaming: false,
        enableDtmfTones: false,
      }),
    ).toMatchObject({
      audioFormat: 'pcm24KMono',
      audioChannelType: 'unmixed',
      startMediaStreaming: false,
      enableDtmfTones: false,
    });
  });

  it('refuses what ACS cannot stream to with a ConfigError', () => {
    for (const input of [
      { transportUrl: 'https://agent.example.com/media' },
      { transportUrl: 'not a url' },
      { transportUrl: 'wss://a/m', sampleRate: 8000 },
      { transportUrl: 'wss://a/m', audioChannelType: 'stereo' },
      undefined,
    ])
      expect(() => azureMediaStreamingOptions(input as never)).toThrow(ConfigError);
  });
});
