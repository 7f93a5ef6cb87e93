// A webhook receiver for tests/e2e/test_webhooks.py: verifies every delivery with the Standard
// Webhooks library (`standardwebhooks`, pinned in package-lock.json) and appends one JSON line
// per attempt to a log file when it answers: {"id", "verified", "type", "data", "status",
// "received_ms" (when the request had arrived), "at_ms" (when it was answered)}. Each arrival
// is also appended at once to "<log file>.arrivals" (one line: the webhook-id).
//
//   node receiver.js <port> <whsec secret> <log file> [fail_first] [delay_ms]
//
// fail_first: answer 500 to the first N attempts of each webhook-id; delay_ms: wait this long
// before answering each attempt.
"use strict";
const fs = require("fs");
const http = require("http");
const { Webhook } = require("standardwebhooks");

const [port, secret, logPath, failFirst = "0", delayMs = "0"] = process.argv.slice(2);
const webhook = new Webhook(secret);
const attempts = new Map();

function record(entry, receivedMs) {
  const line = { ...entry, received_ms: receivedMs, at_ms: Date.now() };
  fs.appendFileSync(logPath, JSON.stringify(line) + "\n");
}

http
  .createServer((req, res) => {
    const receivedMs = Date.now();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = req.headers["webhook-id"] || "";
      fs.appendFileSync(logPath + ".arrivals", id + "\n");
      let payload = null;
      try {
        payload = webhook.verify(body, req.headers);
      } catch (error) {
        record({ id, verified: false, error: String(error), status: 400 }, receivedMs);
        res.writeHead(400).end();
        return;
      }
      const seen = (attempts.get(id) || 0) + 1;
      attempts.set(id, seen);
      const status = seen <= Number(failFirst) ? 500 : 204;
      setTimeout(() => {
        record({ id, verified: true, type: payload.type, data: payload.data,
                 timestamp: payload.timestamp, status }, receivedMs);
        res.writeHead(status).end();
      }, Number(delayMs));
    });
  })
  .listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
