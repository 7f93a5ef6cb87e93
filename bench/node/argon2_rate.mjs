// The argon2id rate of Node's @node-rs/argon2 (Rust) at gatehouse's parameters (m=19456 KiB,
// t=2, p=1): the competing stack of issue 7. N worker threads each verify one password against
// one precomputed hash for a fixed time, as bench/argon2_rate.cpp does for gatehouse.
//
//   node build/bench/node/argon2_rate.mjs --threads N --seconds S
//   node build/bench/node/argon2_rate.mjs --print-hash   prints this library's PHC string
//   node build/bench/node/argon2_rate.mjs --check PHC    exit 0 when it verifies a PHC string
//                                                        made elsewhere (gatehouse's)
//
// scripts/bench copies this file next to the package it installs (build/bench/node).
// Output, one line of JSON: {"impl":"node-rs","threads":N,"seconds":S,"hashes":H,"hashes_per_s":R}
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { hashSync, verifySync, Algorithm, Version } = require('@node-rs/argon2');
const password = 'bench-password-1';
const params = { algorithm: Algorithm.Argon2id, version: Version.V0x13, memoryCost: 19456,
                 timeCost: 2, parallelism: 1 };

if (isMainThread) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const threads = Number(option('--threads', 1));
  const seconds = Number(option('--seconds', 5));
  if (args.includes('--print-hash')) {
    console.log(hashSync(password, params));
    process.exit(0);
  }
  const check = option('--check', null);
  if (check !== null) {
    if (verifySync(check, password)) process.exit(0);
    console.error('@node-rs/argon2 does not verify the given PHC string');
    process.exit(1);
  }
  const hash = hashSync(password, params);
  const stopAt = Date.now() + seconds * 1000;
  const start = process.hrtime.bigint();
  let done = 0, total = 0;
  for (let t = 0; t < threads; ++t) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { hash, stopAt } });
    worker.on('message', (count) => {
      total += count;
      if (++done < threads) return;
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      console.log(JSON.stringify({ impl: 'node-rs', threads, seconds: elapsed, hashes: total,
                                   hashes_per_s: total / elapsed }));
    });
  }
} else {
  let count = 0;
  while (Date.now() < workerData.stopAt) {
    if (!verifySync(workerData.hash, password)) throw new Error('verify failed');
    ++count;
  }
  parentPort.postMessage(count);
}
