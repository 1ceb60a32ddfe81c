import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSimulatorArgs, runSimulatorCommand } from '../src/simulator/cli.js';
import { RawClient } from './simulator-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('simulator command', () => {
  it('parses --port, --host and --speed, in both spellings, with defaults', () => {
    expect(parseSimulatorArgs([])).toEqual({ port: 8787, host: '127.0.0.1', speed: 1 });
    expect(parseSimulatorArgs(['--port', '0', '--host=0.0.0.0', '--speed', '2.5'])).toEqual({
      port: 0,
      host: '0.0.0.0',
      speed: 2.5,
    });
    expect(parseSimulatorArgs(['--help'])).toBe('help');
    expect(() => parseSimulatorArgs(['--port', '70000'])).toThrow(/not a TCP port/);
    expect(() => parseSimulatorArgs(['--speed', '0'])).toThrow(/positive/);
    expect(() => parseSimulatorArgs(['--speed'])).toThrow(/needs a value/);
    expect(() => parseSimulatorArgs(['--verbose'])).toThrow(/unknown argument/);
  });

  it('serves sessions, prints how to connect and stops on SIGINT', async () => {
    let output = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    });
    const listenersBefore = process.listenerCount('SIGINT');
    const running = runSimulatorCommand(['--port', '0', '--speed', '4']);
    await vi.waitFor(() => expect(output).toMatch(/listening on ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime/));
    const url = /listening on (ws:\/\/\S+)/.exec(output)![1]!;
    expect(output).toContain(`url: '${url}?model=gpt-realtime'`);
    const client = await RawClient.connect(url);
    await client.waitForType('session.created');
    process.emit('SIGINT', 'SIGINT');
    await running;
    await client.closed;
    expect(process.listenerCount('SIGINT')).toBe(listenersBefore);
    expect(output).toMatch(/closed: 0 responses, 0 protocol violations/);
  });
});
