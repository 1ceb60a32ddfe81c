import { generateKeyPairSync } from 'node:crypto';

/** A fresh RSA key pair as Vonage issues them: PKCS#8 PEM private key, SPKI PEM public key. */
export function rsaKeyPair(): { privateKey: string; publicKey: string; pkcs1PrivateKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pkcs1PrivateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}
