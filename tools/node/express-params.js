'use strict';
// Prints what an Express 4 server (express.json, express.urlencoded({extended:
// true}), the default query parser) makes of request parameters:
// JSON.stringify({...req.query, ...req.body}). Reads JSON Lines on stdin, each
// {"query": "a=1" | null, "json": "{...}" | null, "form": "a=1" | null}, and writes one
// line per input: {"ok": "<the JSON text>"} or {"error": "<status> <message>"}.
// Runs the real middleware (no server): the same functions Express calls.
const express = require('express');
const readline = require('readline');

const app = express();
const jsonParser = express.json();
const formParser = express.urlencoded({ extended: true });
const queryParser = app.get('query parser fn');

function run(input) {
  return new Promise((resolve) => {
    const { Readable } = require('stream');
    let body = input.json !== null && input.json !== undefined ? input.json : input.form;
    const req = Readable.from(body === null || body === undefined ? [] : [Buffer.from(body, 'utf8')]);
    const headers = {};
    if (body !== null && body !== undefined) {
      headers['content-type'] = input.json != null ? 'application/json' : 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    req.headers = headers;
    req.method = 'POST';
    req.url = '/';
    req.query = input.query == null ? {} : queryParser(input.query);
    const parser = input.json != null ? jsonParser : formParser;
    parser(req, {}, (err) => {
      if (err) return resolve({ error: (err.status || 500) + ' ' + err.message });
      resolve({ ok: JSON.stringify({ ...req.query, ...req.body }) });
    });
  });
}

(async () => {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    process.stdout.write(JSON.stringify(await run(JSON.parse(line))) + '\n');
  }
})();
