import { describe, expect, it, vi } from 'vitest';

// The first TCP listen fails as if another program held the port number UDP just got.
vi.mock('node:net', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:net')>();
  let taken = 1;
  return {
    ...real,
    createServer: ((...args: Parameters<typeof real.createServer>) => {
      const server = real.createServer(...args);
      if (taken-- > 0) {
        (server as unknown as { listen: (port: number) => unknown }).listen = (port: number) => {
          process.nextTick(() =>
            server.emit('error', Object.assign(new Error(`listen EADDRINUSE: ${port}`), { code: 'EADDRINUSE', port })),
          );
          return server;
        };
      }
      return server;
    }) as typeof real.createServer,
  };
});

const { SipEndpoint } = await import('../src/index.js');

describe('SipEndpoint on an ephemeral port', () => {
  it('finds a port number free for both UDP and TCP when the first one is taken for TCP', async () => {
    const endpoint = new SipEndpoint({ host: '127.0.0.1', port: 0, transports: ['udp', 'tcp'] });
    const ports = await endpoint.listen();
    try {
      expect(ports.udpPort).toBeGreaterThan(0);
      expect(ports.tcpPort).toBe(ports.udpPort);
    } finally {
      await endpoint.close();
    }
  });
});
