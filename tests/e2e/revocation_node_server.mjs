// A Node resource server for tests/e2e/test_revocation_node_client.py: verifies gatehouse's
// HS256 access tokens offline with jose and the gatehouse-revocations helper (issue 19).
// Environment: GATEHOUSE_URL, REVOCATIONS_SECRET, JWT_SECRET, PORT. GET /ready answers 200
// once the follower's stream is open; GET /protected answers 200 {"sub"} or 401 {"msg"}.
import http from 'node:http';
import { RevocationFollower, jwtVerifyUnrevoked } from './gatehouse-revocations/index.mjs';

const follower = new RevocationFollower(process.env.GATEHOUSE_URL, process.env.REVOCATIONS_SECRET,
  { reconnectDelayMs: 200 }).start();
const key = new TextEncoder().encode(process.env.JWT_SECRET);

async function protectedAnswer(request) {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
  if (!match) return [401, { msg: 'Missing Authorization Header' }];
  try {
    const { payload } = await jwtVerifyUnrevoked(match[1], key, follower, { algorithms: ['HS256'] });
    return [200, { sub: payload.sub }];
  } catch (error) {
    return [401, { msg: error.message }];
  }
}

http.createServer(async (request, response) => {
  let [status, body] = [404, { msg: 'Not found' }];
  if (request.url === '/ready') [status, body] = follower.connected ? [200, {}] : [503, {}];
  else if (request.url === '/protected') [status, body] = await protectedAnswer(request);
  // Server: the e2e suite's OpenAPI check skips answers that are not gatehouse's by this header.
  response.writeHead(status, { 'Content-Type': 'application/json', Server: 'node-resource-server' });
  response.end(JSON.stringify(body));
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
