"use strict";
const { test } = require("node:test");
const assert = require("node:assert");
const { charge } = require("../src/server");

test("charges a positive amount and refuses a bad one", () => {
  assert.strictEqual(charge({ userId: "u1", amountCents: 500 }).currency, "EUR");
  assert.throws(() => charge({ userId: "u1", amountCents: -1 }));
});
