// Config backups hold the secret store, so they are encrypted: AES-256-GCM with a key derived
// (scrypt, a random salt per file) from the environment's backup encryption secret.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { StackctlError } from '../../errors.js';

const MAGIC = 'STACKCTL-AES-256-GCM-1\n';
const TAG_BYTES = 16;

function keyFrom(secret: string, salt: Buffer): Buffer {
  return scryptSync(secret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

/** The plaintext sealed: magic line, a JSON line with salt and IV, the ciphertext, the GCM tag. */
export function encrypt(plaintext: Buffer, secret: string): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(secret, salt), iv);
  const header = Buffer.from(
    `${MAGIC}${JSON.stringify({ kdf: 'scrypt', salt: salt.toString('hex'), iv: iv.toString('hex') })}\n`,
  );
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Opens what encrypt sealed; a wrong key or a changed byte is an error, never garbage. */
export function decrypt(sealed: Buffer, secret: string): Buffer {
  const magicEnd = MAGIC.length;
  const headerEnd = sealed.indexOf('\n', magicEnd);
  if (sealed.subarray(0, magicEnd).toString() !== MAGIC || headerEnd < 0)
    throw new StackctlError('E_RUNTIME', 'not a stackctl encrypted config backup');
  const { salt, iv } = JSON.parse(sealed.subarray(magicEnd, headerEnd).toString()) as {
    salt: string;
    iv: string;
  };
  const header = sealed.subarray(0, headerEnd + 1);
  const decipher = createDecipheriv(
    'aes-256-gcm',
    keyFrom(secret, Buffer.from(salt, 'hex')),
    Buffer.from(iv, 'hex'),
  );
  decipher.setAAD(header);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(headerEnd + 1, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new StackctlError('E_RUNTIME', 'the config backup does not open with this encryption key', {
      hint: 'it was made with another BACKUP_ENCRYPTION_KEY; set STACKCTL_BACKUP_KEY to that value (e.g. from your own copy of it)',
    });
  }
}
