"use strict";
const { test } = require("node:test");
const assert = require("node:assert");
const { createServer } = require("../src/server");

test("creates and reads a user over HTTP", async () => {
  const server = createServer().listen(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const created = await fetch(base + "/users", { method: "POST", body: JSON.stringify({ email: "a@example.com" }) });
    assert.strictEqual(created.status, 201);
    const { id } = await created.json();
    const read = await fetch(base + "/users/" + id);
    assert.strictEqual((await read.json()).email, "a@example.com");
    assert.strictEqual((await fetch(base + "/healthz")).status, 200);
  } finally {
    server.close();
  }
});
