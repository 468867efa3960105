/**
 * ed25519 key pairs for kt's ssh (the run's client key, test guests' host keys).
 */
import ssh2 from 'ssh2';
import { parseHostKeyLine } from './hostKey.js';

const MAX_DRAWS = 64;

/**
 * An ed25519 key pair in OpenSSH formats ("ssh-ed25519 AAAA... comment" and the private key
 * file). ssh2's generateKeyPairSync (1.17, lib/keygen.js: "Remove leading zero bytes") strips
 * every leading zero byte of the 32-byte public key, so one pair in 256 carries a 31-byte key
 * that OpenSSH rejects (`ssh-keygen -l`: "is not a public key file"; sshd would refuse the run's
 * key and every boot of that run would fail). Such pairs are drawn again.
 */
export function generateSshKeyPair(comment?: string): { private: string; public: string } {
  for (let i = 0; i < MAX_DRAWS; i++) {
    const keys = ssh2.utils.generateKeyPairSync('ed25519', comment === undefined ? undefined : { comment });
    if (parseHostKeyLine(keys.public)) return { private: keys.private, public: keys.public };
  }
  throw new Error(`ssh2 made ${MAX_DRAWS} malformed ed25519 key pairs in a row`);
}
