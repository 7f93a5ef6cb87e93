// The argon2id rate of Node's @node-rs/argon2 (Rust) at gatehouse's parameters (m=19456 KiB,
// t=2, p=1): the competing stack of issue 7. N worker threads each verify one password against
// one precomputed hash for a fixed time, as bench/argon2_rate.cpp does for gatehouse.
//
//   NODE_PATH=build/bench/node/node_modules node bench/node/argon2_rate.mjs --threads N --seconds S
//   ... --print-hash   prints this library's PHC string of the password
//   ... --check PHC    exit 0 when it verifies a PHC string of the password made elsewhere
//
// scripts/bench installs the package into build/bench/node; NODE_PATH points require() there.
// Output, one line of JSON: {"impl":"node-rs","threads":N,"seconds":S,"hashes":H,"hashes_per_s":R}
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { hashSync, verifySync, Algorithm, Version } = require('@node-rs/argon2');
const password = 'bench-password-1';
const params = { algorithm: Algorithm.Argon2id, version: Version.V0x13, memoryCost: 19456,
                 timeCost: 2, parallelism: 1 };

function fail(message) {
  console.error(message);
  process.exit(2);
}

function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    if (i + 1 === args.length) fail(`${name}: without its value`);
    return args[i + 1];
  };
  if (args.includes('--print-hash')) {
    console.log(hashSync(password, params));
    return;
  }
  const check = option('--check', null);
  if (check !== null) {
    let verified = false;
    try {
      verified = verifySync(check, password);
    } catch {
      // a malformed string is not verified either
    }
    if (!verified) console.error('@node-rs/argon2 does not verify the given PHC string');
    process.exit(verified ? 0 : 1);
  }
  const threads = Number(option('--threads', 1));
  const seconds = Number(option('--seconds', 5));
  if (!Number.isInteger(threads) || threads < 1 || !(seconds > 0)) {
    fail('--threads and --seconds: positive numbers');
  }

  // The clock starts once every worker has started (a V8 isolate and the native module each):
  // they wait on `go`, then all run until the same deadline, written next to it.
  const shared = new SharedArrayBuffer(16);
  const go = new Int32Array(shared, 0, 1);
  const deadline = new Float64Array(shared, 8, 1);
  const hash = hashSync(password, params);
  let ready = 0, done = 0, total = 0, start = 0n;
  for (let t = 0; t < threads; ++t) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { hash, shared } });
    worker.on('error', (error) => fail(`worker: ${error.message}`));
    worker.on('message', (message) => {
      if (message === 'ready') {
        if (++ready < threads) return;
        start = process.hrtime.bigint();
        deadline[0] = Date.now() + seconds * 1000;
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
        return;
      }
      total += message;
      if (++done < threads) return;
      // Hashes still running at the deadline finish after it: divide by the real time.
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      console.log(JSON.stringify({ impl: 'node-rs', threads, seconds: elapsed, hashes: total,
                                   hashes_per_s: total / elapsed }));
    });
  }
}

function worker() {
  const go = new Int32Array(workerData.shared, 0, 1);
  const deadline = new Float64Array(workerData.shared, 8, 1);
  parentPort.postMessage('ready');
  while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0);
  let count = 0;
  while (Date.now() < deadline[0]) {
    if (!verifySync(workerData.hash, password)) throw new Error('verify failed');
    ++count;
  }
  parentPort.postMessage(count);
}

if (isMainThread) main(); else worker();
