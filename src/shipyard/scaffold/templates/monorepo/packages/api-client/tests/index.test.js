"use strict";
// Tests the built package (dist/), as its users get it: run `npm run build` first.
const { test } = require("node:test");
const assert = require("node:assert");
const { ApiClient } = require("../dist/index.js");

test("url joins the base and the path", () => {
  assert.strictEqual(new ApiClient("http://user-service:8080").url("/users/1"), "http://user-service:8080/users/1");
});
