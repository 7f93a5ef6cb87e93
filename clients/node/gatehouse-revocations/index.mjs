// Follow gatehouse's revocation feed (GET /revocations as Server-Sent Events) and keep the
// revoked tokens in memory, so that a Node resource server verifying gatehouse tokens offline
// with `jose` refuses a logged-out token within a second.
//
//   import { RevocationFollower, jwtVerifyUnrevoked } from 'gatehouse-revocations';
//   const follower = new RevocationFollower('http://gatehouse:8080', process.env.REVOCATIONS_SECRET);
//   follower.start();
//   const { payload } = await jwtVerifyUnrevoked(token, key, follower, { algorithms: ['HS256'] });
//
// The same rules as the Python helper (clients/python/gatehouse_revocations): an entry is kept
// until its `exp`, so the set is bounded by one token lifetime of revocations; the follower
// reconnects after any failure and resumes with Last-Event-ID, so nothing is missed across a
// gatehouse restart or a network drop.
import { jwtVerify, errors } from 'jose';

// gatehouse sends a comment every 15 s: a stream silent for longer is dead, reconnect.
const READ_TIMEOUT_MS = 45_000;
// An event is a few hundred bytes; a longer line is not gatehouse's.
const MAX_LINE = 64 * 1024;

export class RevocationFollower {
  // options.reconnectDelayMs (default 1000); options.staleAfterMs: when the stream has been
  // down longer, isRevoked answers true for every token (fail closed); options.onError.
  constructor(baseUrl, secret, options = {}) {
    this.url = baseUrl.replace(/\/+$/, '') + '/revocations';
    this.secret = secret;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1000;
    this.staleAfterMs = options.staleAfterMs ?? null;
    this.onError = options.onError ?? null;
    this.jtis = new Map();
    this.sids = new Map();
    this.users = new Map(); // lower-case sub -> { revokedBefore, exp }
    this.lastId = null;
    this.connected = false;
    this.downSince = Date.now();
    this.stopped = false;
    this.abort = null;
    this.lastPrune = 0;
  }

  // Whether gatehouse revoked the token with these (verified) claims.
  isRevoked(claims) {
    const now = Date.now() / 1000;
    if (this.staleAfterMs !== null && this.downSince !== null &&
        Date.now() - this.downSince > this.staleAfterMs) {
      return true;
    }
    if ((this.jtis.get(claims.jti) ?? 0) > now) return true;
    const sid = claims.sid;
    if (sid && (this.sids.get(sid) ?? 0) > now) return true;
    const user = typeof claims.sub === 'string' ? this.users.get(lowerAscii(claims.sub)) : undefined;
    if (!user || user.exp <= now) return false;
    const iat = claims.iat ?? 0;
    return iat < user.revokedBefore || (!sid && iat === user.revokedBefore);
  }

  // Adds one feed entry (as GET /revocations answers it) to the set.
  apply(entry) {
    const exp = Number(entry.exp ?? 0);
    if ('jti' in entry) {
      this.jtis.set(entry.jti, Math.max(exp, this.jtis.get(entry.jti) ?? 0));
    } else if ('sid' in entry) {
      this.sids.set(entry.sid, Math.max(exp, this.sids.get(entry.sid) ?? 0));
    } else if ('sub' in entry) {
      const old = this.users.get(entry.sub) ?? { revokedBefore: 0, exp: 0 };
      this.users.set(entry.sub, {
        revokedBefore: Math.max(old.revokedBefore, Number(entry.revoked_before)),
        exp: Math.max(old.exp, exp),
      });
    }
  }

  // Forgets entries that refuse nothing any more (done every minute while following).
  prune() {
    const now = Date.now() / 1000;
    for (const table of [this.jtis, this.sids]) {
      for (const [key, exp] of table) if (exp <= now) table.delete(key);
    }
    for (const [key, user] of this.users) if (user.exp <= now) this.users.delete(key);
  }

  get size() {
    return this.jtis.size + this.sids.size + this.users.size;
  }

  start() {
    this.run();
    return this;
  }

  // Resolves true once the stream is open (the backlog may still be arriving).
  async waitConnected(timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected && Date.now() < deadline) await sleep(10);
    return this.connected;
  }

  stop() {
    this.stopped = true;
    this.abort?.abort();
  }

  async run() {
    while (!this.stopped) {
      try {
        await this.follow();
      } catch (error) { // any failure: reconnect, resuming after the last id
        if (this.onError && !this.stopped) this.onError(error);
      }
      this.connected = false;
      this.downSince ??= Date.now();
      if (!this.stopped) await sleep(this.reconnectDelayMs);
    }
  }

  async follow() {
    const headers = { Authorization: `Bearer ${this.secret}`, Accept: 'text/event-stream' };
    if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
    this.abort = new AbortController();
    let silence = setTimeout(() => this.abort.abort(), 10_000); // the connect timeout
    try {
      const response = await fetch(this.url, { headers, signal: this.abort.signal });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`GET /revocations answered ${response.status}`);
      }
      this.connected = true;
      this.downSince = null;
      const lines = new LineReader();
      let event = { id: null, data: [] };
      for await (const chunk of response.body) {
        clearTimeout(silence);
        silence = setTimeout(() => this.abort.abort(), READ_TIMEOUT_MS);
        for (const line of lines.push(chunk)) event = this.takeLine(line, event);
      }
    } finally {
      clearTimeout(silence);
    }
  }

  // One SSE line: a blank line ends an event (applied, and its id remembered for resuming).
  takeLine(line, event) {
    if (line === '') {
      if (event.data.length > 0) {
        this.apply(JSON.parse(event.data.join('\n')));
        if (event.id !== null) this.lastId = event.id;
      }
      this.maybePrune();
      return { id: null, data: [] };
    }
    if (line.startsWith('id:')) event.id = line.slice(3).trimStart();
    else if (line.startsWith('data:')) event.data.push(line.slice(5).trimStart());
    return event;
  }

  maybePrune() {
    if (Date.now() - this.lastPrune >= 60_000) {
      this.lastPrune = Date.now();
      this.prune();
    }
  }
}

// Splits a byte stream into lines (LF or CRLF), refusing a line longer than MAX_LINE.
class LineReader {
  constructor() {
    this.decoder = new TextDecoder();
    this.pending = '';
  }

  push(chunk) {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop();
    if (this.pending.length > MAX_LINE) throw new Error('an event line longer than gatehouse sends');
    return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  }
}

// jose's jwtVerify that also refuses a revoked token (jose's JWTClaimValidationFailed with the
// message gatehouse itself answers, `Token has been revoked`).
export async function jwtVerifyUnrevoked(token, key, follower, options) {
  const result = await jwtVerify(token, key, options);
  if (follower.isRevoked(result.payload)) {
    throw new errors.JWTClaimValidationFailed('Token has been revoked', result.payload, 'jti', 'revoked');
  }
  return result;
}

function lowerAscii(text) {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
