"use strict";
// Tests the built package (dist/), as its users get it: run `npm run build` first.
const { test } = require("node:test");
const assert = require("node:assert");
const { formatAmount, retry } = require("../dist/index.js");

test("formatAmount prints units and currency", () => {
  assert.strictEqual(formatAmount({ id: "p", userId: "u", amountCents: 1234, currency: "EUR" }), "12.34 EUR");
});

test("retry returns the first success", async () => {
  let calls = 0;
  const value = await retry(3, async () => {
    calls++;
    if (calls < 2) throw new Error("flaky");
    return "ok";
  });
  assert.strictEqual(value, "ok");
});
