#!/usr/bin/env node
'use strict';
// A Node.js merchant's IPN endpoint, written the way the platform's docs
// suggest: plain `http`, body parsed with qs, documented sha256 checksum
// compared with crypto.timingSafeEqual. For compatibility and load tests.
//
//   POST, checksum valid        -> 200 "OK"
//   POST, checksum wrong        -> 401
//   POST, a field missing/bad   -> 400   (any of the 7 signed fields or hash
//                                         absent, repeated or nested)
//   POST, body > --max-body     -> 413
//   any other method            -> 405
//
// Listens on 127.0.0.1 only. Prints {"listening":"http://127.0.0.1:PORT"} on
// stdout once ready; on SIGTERM/SIGINT (or stdin EOF with --exit-on-stdin-eof)
// it stops and prints a summary line on stderr.

const http = require('http');
const qs = require('qs');
const { DEFAULT_SECRET, verifyParsed, parseArgs } = require('./lib');

const USAGE = `usage: receiver.js [--port N] [--secret S] [--max-body BYTES] [--exit-on-stdin-eof]
  --port N              TCP port on 127.0.0.1 (default 0: an ephemeral port)
  --secret S            IPN secret (default: SECRET123)
  --max-body BYTES      larger bodies get 413 (default 1048576)
  --exit-on-stdin-eof   also stop when stdin closes (so a parent that dies takes it along)`;

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    port: { type: 'int', default: 0 },
    secret: { type: 'string', default: DEFAULT_SECRET },
    'max-body': { type: 'int', default: 1 << 20 },
    'exit-on-stdin-eof': { type: 'flag', default: false },
  });
} catch (e) {
  process.stderr.write(`receiver: ${e.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
if (args.port > 65535) {
  process.stderr.write('receiver: --port must be <= 65535\n');
  process.exit(2);
}

const secret = args.secret;
const maxBody = args['max-body'];
const counts = { 200: 0, 400: 0, 401: 0, 405: 0, 413: 0 };

function reply(res, status, text, headers = {}) {
  counts[status] = (counts[status] || 0) + 1;
  const body = text + '\n';
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    reply(res, 405, 'Method Not Allowed', { Allow: 'POST' });
    req.resume();
    return;
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxBody) {
      tooLarge = true;
      chunks.length = 0;
      reply(res, 413, 'Payload Too Large', { Connection: 'close' });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) return;
    const body = Buffer.concat(chunks).toString('utf8');
    let result;
    try {
      result = verifyParsed(qs.parse(body), secret);
    } catch {
      result = 'malformed';
    }
    if (result === 'ok') reply(res, 200, 'OK');
    else if (result === 'bad_hash') reply(res, 401, 'Unauthorized: checksum mismatch');
    else reply(res, 400, 'Bad Request: missing or malformed fields');
  });
  req.on('error', () => {
    if (!res.headersSent) res.destroy();
  });
});

server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
});

let stopping = false;
function stop(why) {
  if (stopping) return;
  stopping = true;
  const done = () => {
    process.stderr.write(JSON.stringify({ stopped: why, counts }) + '\n');
    process.exit(0);
  };
  server.close(done);
  server.closeAllConnections(); // keep-alive clients must not hold us up
  setTimeout(done, 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (args['exit-on-stdin-eof']) {
  process.stdin.on('end', () => stop('stdin EOF'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}

server.listen(args.port, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({ listening: `http://127.0.0.1:${port}` }) + '\n');
});
server.on('error', (e) => {
  process.stderr.write(`receiver: ${e.message}\n`);
  process.exit(1);
});
