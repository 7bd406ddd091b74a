"use strict";
// Tests the built package (dist/), as its users get it: run `npm run build` first.
const { test } = require("node:test");
const assert = require("node:assert");
const { isUser } = require("../dist/index.js");

test("isUser accepts a user and rejects other values", () => {
  assert.ok(isUser({ id: "u1", email: "a@example.com", name: "A" }));
  assert.ok(!isUser({ id: 1 }));
  assert.ok(!isUser(null));
});
