// ULIDs (time-ordered, 26 chars, Crockford base32), monotonic per generator: ids made in one
// millisecond, or after the clock they are made from went back, still sort in creation
// order. Each clock gets its own generator — event ids are made from the gateway clock,
// rejected-store ids from the wall clock — so one cannot drag the other's times along.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const pool = new Uint8Array(4096);
let poolPos = pool.length;

function refill(): void {
  randomFillSync(pool);
  poolPos = 0;
}

export type UlidGenerator = (now: number) => string;

export function ulidGenerator(): UlidGenerator {
  let lastTime = -1;
  const lastRandom = new Uint8Array(10);
  const time = new Array<string>(10);
  return (now) => {
    if (now <= lastTime) {
      // Same millisecond (or a clock step back): increment the 80-bit random part.
      for (let i = 9; i >= 0; i--) {
        if (lastRandom[i] === 255) lastRandom[i] = 0;
        else { lastRandom[i]++; break; }
      }
      now = lastTime;
    } else {
      if (poolPos + 10 > pool.length) refill();
      for (let i = 0; i < 10; i++) lastRandom[i] = pool[poolPos++];
      lastTime = now;
    }
    let t = now;
    for (let i = 9; i >= 0; i--) {
      time[i] = ALPHABET[t % 32];
      t = Math.floor(t / 32);
    }
    let out = time.join('');
    // 80 random bits → 16 base32 chars, 5 bits at a time.
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < 10; i++) {
      acc = (acc << 8) | lastRandom[i];
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out += ALPHABET[(acc >> bits) & 31];
      }
      acc &= (1 << bits) - 1;
    }
    return out;
  };
}
