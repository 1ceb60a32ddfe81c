import { generateKeyPairSync } from 'node:crypto';
import { connectWebSocketNcco, type VonageConnectAction } from '../src/index.js';

/** A fresh RSA key pair as Vonage issues them: PKCS#8 PEM private key, SPKI PEM public key. */
export function rsaKeyPair(): { privateKey: string; publicKey: string; pkcs1PrivateKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pkcs1PrivateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/**
 * The `websocket:connected` frame of a socket an answer webhook connected with
 * `connectWebSocketNcco({ uri, answer: { uuid } })`: it names the PSTN leg.
 */
export function connectedFrame(callUuid: string): string {
  const ncco = connectWebSocketNcco({ uri: 'wss://bridge.example.com/socket', answer: { uuid: callUuid } });
  const endpoint = (ncco[0] as VonageConnectAction).endpoint[0]!;
  return JSON.stringify({
    event: 'websocket:connected',
    'content-type': endpoint['content-type'],
    ...endpoint.headers,
  });
}
